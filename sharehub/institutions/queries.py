"""Reads of groups and funding accounts."""

from __future__ import annotations

import sqlalchemy as sa

from sharehub.accounts.models import Organisation, OrgKind, User
from sharehub.extensions import db
from sharehub.institutions.models import FundingAccount, Group, GroupMember


def groups_of(user: User, org: Organisation) -> list[Group]:
    """The organisation's groups `user` sees: all for its owners and managers, else those
    they head or belong to."""
    query = sa.select(Group).where(Group.organisation_id == org.id).order_by(Group.name)
    if not user.can_manage(org):
        member_of = sa.select(GroupMember.group_id).where(GroupMember.user_id == user.id)
        query = query.where(sa.or_(Group.head_id == user.id, Group.id.in_(member_of)))
    return list(db.session.scalars(query))


def chargeable_accounts(user: User, org: Organisation | None) -> list[FundingAccount]:
    """The funding accounts of `org`'s groups that `user` may charge."""
    if org is None or not user.is_authenticated:
        return []
    accounts = db.session.scalars(
        sa.select(FundingAccount)
        .join(FundingAccount.group)
        .where(Group.organisation_id == org.id)
        .order_by(FundingAccount.code)
    )
    return [a for a in accounts if a.may_charge(user)]


def get_group(group_id: int, user: User) -> Group | None:
    """The group, if `user` may see it (else None: the page answers 404)."""
    group = db.session.get(Group, group_id)
    if group is None or not group.can_view(user):
        return None
    return group


def lab_choices() -> list[tuple[int, str]]:
    return [
        (lab.id, lab.name)
        for lab in db.session.scalars(
            sa.select(Organisation)
            .where(Organisation.kind == OrgKind.LAB, Organisation.is_serving)
            .order_by(Organisation.name)
        )
    ]
