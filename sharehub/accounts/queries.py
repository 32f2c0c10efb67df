"""Reads for the accounts pages: choice lists and listings."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice

from sharehub.accounts.models import Cluster, Invitation, Region
from sharehub.core.i18n import localized
from sharehub.extensions import db


def city_choices() -> list[SelectChoice]:
    """Cities grouped by province, for a select with optgroups."""
    provinces = db.session.scalars(
        sa.select(Region)
        .where(Region.parent_id.is_(None))
        .options(so.selectinload(Region.children))
        .order_by(Region.code)
    )
    choices = []
    for province in provinces:
        group = localized(province)
        for city in sorted(province.children, key=lambda r: r.code):
            choices.append(SelectChoice(city.id, localized(city), optgroup=group))
    return choices


def province_choices() -> list[SelectChoice]:
    provinces = db.session.scalars(
        sa.select(Region).where(Region.parent_id.is_(None)).order_by(Region.code)
    )
    return [SelectChoice("", _l("— none (this is a province) —"))] + [
        SelectChoice(p.id, f"{localized(p)} ({p.code})") for p in provinces
    ]


def cluster_choices(include_none: bool = True) -> list[SelectChoice]:
    clusters = db.session.scalars(
        sa.select(Cluster).where(Cluster.is_active.is_(True)).order_by(Cluster.name)
    )
    choices = [SelectChoice(c.id, localized(c)) for c in clusters]
    if include_none:
        choices.insert(0, SelectChoice("", _l("— not in a cluster —")))
    return choices


def open_invitations(org_id: int) -> list[Invitation]:
    from sharehub.core.db import utcnow

    return list(
        db.session.scalars(
            sa.select(Invitation)
            .where(
                Invitation.organisation_id == org_id,
                Invitation.accepted_dt.is_(None),
                Invitation.revoked_dt.is_(None),
                Invitation.expires_dt > utcnow(),
            )
            .order_by(Invitation.created_dt.desc())
        )
    )
