"""Reads for the administration pages: filtered lists and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.accounts.models import Cluster, Membership, Organisation, Region, User
from sharehub.core.models import AuditEntry
from sharehub.extensions import db

PER_PAGE = 50


def organisations_query(
    kind: str = "", status: str = "", q: str = "", cluster_id=None, region_id=None
):
    query = sa.select(Organisation).options(
        so.joinedload(Organisation.region), so.joinedload(Organisation.cluster)
    )
    if kind:
        query = query.where(Organisation.kind == kind)
    if status:
        query = query.where(Organisation.status == status)
    if cluster_id:
        query = query.where(Organisation.cluster_id == cluster_id)
    if region_id:
        city_ids = sa.select(Region.id).where(
            sa.or_(Region.id == region_id, Region.parent_id == region_id)
        )
        query = query.where(Organisation.region_id.in_(city_ids))
    if q:
        like = f"%{q.strip()}%"
        query = query.where(
            sa.or_(
                Organisation.name.ilike(like),
                Organisation.name_en.ilike(like),
                Organisation.credit_code.ilike(like),
            )
        )
    return query.order_by(Organisation.created_dt.desc(), Organisation.id.desc())


def users_query(q: str = "", state: str = ""):
    query = sa.select(User).options(
        so.selectinload(User.memberships).joinedload(Membership.organisation)
    )
    if q:
        like = f"%{q.strip()}%"
        query = query.where(sa.or_(User.email.ilike(like), User.name.ilike(like)))
    if state == "disabled":
        query = query.where(User.disabled.is_(True))
    elif state == "unverified":
        query = query.where(User.email_verified_dt.is_(None))
    return query.order_by(User.id.desc())


def audit_query(
    action: str = "",
    actor: str = "",
    object_type: str = "",
    object_id=None,
    organisation_id=None,
    date_from=None,
    date_to=None,
    tz=UTC,
):
    query = sa.select(AuditEntry).options(
        so.joinedload(AuditEntry.actor), so.joinedload(AuditEntry.organisation)
    )
    if action:
        query = query.where(AuditEntry.action.startswith(action))
    if actor:
        query = query.join(User, AuditEntry.actor_id == User.id).where(
            User.email.ilike(f"%{actor.strip()}%")
        )
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    if organisation_id:
        query = query.where(AuditEntry.organisation_id == organisation_id)
    # Days are the viewer's days: midnight in their time zone, compared in UTC.
    if date_from:
        start = datetime.combine(date_from, time(), tz).astimezone(UTC)
        query = query.where(AuditEntry.created_dt >= start)
    if date_to:
        end = datetime.combine(date_to + timedelta(days=1), time(), tz).astimezone(UTC)
        query = query.where(AuditEntry.created_dt < end)
    return query.order_by(AuditEntry.id.desc())


def audit_actions() -> list[str]:
    return list(
        db.session.scalars(sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action))
    )


def audit_object_types() -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry.object_type).distinct().order_by(AuditEntry.object_type)
        )
    )


def clusters_with_counts():
    count = (
        sa.select(sa.func.count(Organisation.id))
        .where(Organisation.cluster_id == Cluster.id)
        .scalar_subquery()
    )
    return db.session.execute(
        sa.select(Cluster, count).options(so.joinedload(Cluster.region)).order_by(Cluster.name)
    ).all()


def regions_tree():
    return db.session.scalars(
        sa.select(Region)
        .where(Region.parent_id.is_(None))
        .options(so.selectinload(Region.children))
        .order_by(Region.code)
    ).all()
