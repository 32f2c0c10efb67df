"""Open in fact: the share of the declared opening time outsiders could book, the share of
external requests declined and the median wait, per lab (administrators, regulators) and
per unit of one lab (its members too)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_login import login_required

from sharehub.accounts.models import Organisation
from sharehub.accounts.session import staff_required
from sharehub.catalog.models import Unit
from sharehub.extensions import db
from sharehub.stats.blueprint import bp
from sharehub.stats.openness import open_in_fact
from sharehub.stats.sql import Filters
from sharehub.stats.views.reports import _choice, _lab


@bp.route("/stats/open-in-fact")
@staff_required
def open_in_fact_page():
    choice = _choice()
    figures = open_in_fact(choice.start, choice.end, "lab")
    names = {
        org.id: org
        for org in db.session.scalars(sa.select(Organisation).where(Organisation.id.in_(figures)))
    }
    rows = sorted(
        ((names.get(k), k, v.shown()) for k, v in figures.items() if k in names),
        key=lambda row: row[1],
    )
    return render_template("stats/open_in_fact.html", choice=choice, rows=rows, lab=None)


@bp.route("/stats/labs/<int:lab_id>/open-in-fact")
@login_required
def lab_open_in_fact(lab_id: int):
    lab = _lab(lab_id)
    choice = _choice()
    figures = open_in_fact(choice.start, choice.end, "unit", Filters(lab_ids=[lab.id]))
    units = {
        unit.id: unit for unit in db.session.scalars(sa.select(Unit).where(Unit.id.in_(figures)))
    }
    rows = sorted(
        ((units.get(k), k, v.shown()) for k, v in figures.items() if k in units),
        key=lambda row: row[1],
    )
    total = open_in_fact(choice.start, choice.end, "lab", Filters(lab_ids=[lab.id])).get(lab.id)
    return render_template(
        "stats/open_in_fact.html",
        choice=choice,
        rows=rows,
        lab=lab,
        total=total.shown() if total else None,
    )
