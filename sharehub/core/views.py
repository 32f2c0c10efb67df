"""Home page, language choice and health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, session
from flask_login import current_user

from sharehub.accounts.models import Cluster, Organisation, OrgKind
from sharehub.core.forms import safe_next
from sharehub.core.i18n import LOCALE_COOKIE, SESSION_LANG, supported_locales
from sharehub.core.tx import commit
from sharehub.extensions import csrf, db

bp = Blueprint("core", __name__)


@bp.route("/")
def home():
    counts = dict(
        labs=db.session.scalar(
            sa.select(sa.func.count()).where(
                Organisation.kind == OrgKind.LAB, Organisation.is_serving
            )
        ),
        enterprises=db.session.scalar(
            sa.select(sa.func.count()).where(Organisation.kind == OrgKind.ENTERPRISE)
        ),
        clusters=db.session.scalar(sa.select(sa.func.count()).where(Cluster.is_active.is_(True))),
    )
    clusters = db.session.scalars(
        sa.select(Cluster).where(Cluster.is_active.is_(True)).order_by(Cluster.id).limit(6)
    ).all()
    return render_template("core/home.html", counts=counts, clusters=clusters)


@bp.route("/lang", methods=["POST"])
def set_language():
    """Remember the chosen language: in the profile when signed in, else in a cookie."""
    lang = request.form.get("lang", "")
    if lang not in supported_locales():
        abort(400)
    session["lang"] = lang
    session.pop(SESSION_LANG, None)
    if current_user.is_authenticated and current_user.locale != lang:
        current_user.locale = lang
        commit()
    response = redirect(safe_next())
    response.set_cookie(LOCALE_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


@bp.route("/healthz")
@csrf.exempt
def health():
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}
