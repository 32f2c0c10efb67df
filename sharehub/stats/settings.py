"""Rated hours a year per class of instrument (定额机时): data administrators keep."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import User
from sharehub.core import audit
from sharehub.core.errors import NotFound, PermissionDenied, ValidationError
from sharehub.extensions import db
from sharehub.stats.models import RatedHours

CLASS_LABELS = {
    "general": _l("General-purpose instrument"),
    "special": _l("Special-purpose instrument"),
    "extended": _l("Extended opening (longer weeks)"),
}


def rated_hours() -> list[RatedHours]:
    return list(db.session.scalars(sa.select(RatedHours).order_by(RatedHours.hours.desc())))


def set_rated_hours(actor: User, usage_class: str, hours) -> None:
    if not actor.is_platform_admin:
        raise PermissionDenied(_l("Only platform administrators may do this."))
    row = db.session.get(RatedHours, usage_class)
    if row is None:
        raise NotFound(_l("Unknown class of instrument."))
    try:
        hours = int(hours)
    except (TypeError, ValueError):
        hours = 0
    if not 1 <= hours <= 8760:
        raise ValidationError(_l("Rated hours are 1 to 8,760 a year."), field="hours")
    if row.hours != hours:
        audit.record(
            actor,
            "stats.rated_hours",
            None,
            object_type="rated_hours",
            usage_class=usage_class,
            old=row.hours,
            new=hours,
        )
        row.hours = hours
    db.session.flush()
