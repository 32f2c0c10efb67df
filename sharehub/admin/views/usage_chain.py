"""The administrators' check of every lab's chain of usage records (booking/chain.py):
the same walk as `flask sharehub verify-usage-chain`, naming each lab's first broken link."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template

from sharehub.accounts.models import Organisation
from sharehub.accounts.session import admin_required
from sharehub.admin.blueprint import bp
from sharehub.booking import chain
from sharehub.extensions import db


@bp.route("/usage-chain")
@admin_required
def usage_chain():
    labs = chain.summary()
    names = {
        org.id: org
        for org in db.session.scalars(
            sa.select(Organisation).where(Organisation.id.in_([lab.lab_id for lab in labs]))
        )
    }
    return render_template(
        "admin/usage_chain.html",
        labs=labs,
        names=names,
        broken=sum(1 for lab in labs if lab.broken or lab.outside),
    )
