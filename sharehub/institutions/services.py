"""Use cases of groups and funding accounts. The organisation's owners and managers create
groups and name their heads; the head keeps the members, the rules and the accounts.
Services take the acting user, check, write, audit and flush; they never commit."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, OrgKind, User
from sharehub.core import audit
from sharehub.core.errors import NotFound, PermissionDenied, ValidationError
from sharehub.core.inputs import check_length
from sharehub.core.money import format_fen
from sharehub.extensions import db
from sharehub.institutions.models import (
    FundingAccount,
    FundingAccountCharger,
    Group,
    GroupApprovalLab,
    GroupKind,
    GroupMember,
)

BUYER_KINDS = (OrgKind.ENTERPRISE, OrgKind.LAB)
MAX_BUDGET = 10**13  # fen: 100 billion yuan


def _org_member(org: Organisation, user: User | None, field: str) -> User:
    if user is None or user.membership_in(org) is None:
        raise ValidationError(
            _l("Name a member of %(org)s; invite them to the organisation first.", org=org.name),
            field=field,
        )
    return user


def _clean_name(name: str, field: str = "name") -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError(_l("Give the name."), field=field)
    return check_length(name, 200, _l("The name"), field)


def create_group(
    actor: User, org: Organisation, *, name: str, kind: GroupKind, head: User | None
) -> Group:
    if not actor.can_manage(org):
        raise PermissionDenied(_l("Only the organisation's owners and managers create groups."))
    if org.kind not in BUYER_KINDS:
        raise PermissionDenied(_l("Only enterprises, universities and labs keep groups."))
    name = _clean_name(name)
    head = _org_member(org, head, "head_email")
    taken = db.session.scalar(
        sa.select(Group.id).where(Group.organisation_id == org.id, Group.name == name)
    )
    if taken is not None:
        raise ValidationError(_l("The organisation already has a group of this name."), "name")
    group = Group(organisation=org, name=name, kind=kind, head=head)
    db.session.add(group)
    db.session.flush()
    audit.record(actor, "group.created", group, organisation=org.id, head=head.id, name=name)
    return group


def set_head(actor: User, group: Group, head: User | None) -> None:
    if not group.is_org_admin(actor):
        raise PermissionDenied(_l("Only the organisation's owners and managers name the head."))
    head = _org_member(group.organisation, head, "head_email")
    old = group.head_id
    group.head = head
    db.session.flush()
    audit.record(
        actor, "group.head_named", group, organisation=group.organisation_id, old=old, new=head.id
    )


def _require_head(actor: User, group: Group) -> None:
    if not group.can_manage(actor):
        raise PermissionDenied(_l("Only the head of the group may do this."))


def add_member(actor: User, group: Group, user: User | None) -> GroupMember:
    _require_head(actor, group)
    user = _org_member(group.organisation, user, "email")
    if any(m.user_id == user.id for m in group.members):
        raise ValidationError(_l("%(name)s is already a member.", name=user.name), "email")
    member = GroupMember(group=group, user=user)
    db.session.add(member)
    db.session.flush()
    audit.record(
        actor, "group.member_added", group, organisation=group.organisation_id, user=user.id
    )
    return member


def remove_member(actor: User, group: Group, member: GroupMember) -> None:
    _require_head(actor, group)
    if member.group_id != group.id:
        raise NotFound(_l("No such member."))
    for account in group.accounts:  # who leaves the group charges its accounts no more
        for charger in list(account.chargers):
            if charger.user_id == member.user_id:
                account.chargers.remove(charger)
    group.members.remove(member)
    db.session.flush()
    audit.record(
        actor,
        "group.member_removed",
        group,
        organisation=group.organisation_id,
        user=member.user_id,
    )


def set_rules(actor: User, group: Group, *, approval_above: int | None, lab_ids: list[int]) -> None:
    """Bookings above `approval_above` fen (VAT included; None: no amount rule), or on the
    labs `lab_ids`, need the head's approval first."""
    _require_head(actor, group)
    if approval_above is not None and not 0 <= approval_above <= MAX_BUDGET:
        raise ValidationError(_l("Give an amount of zero or more."), "approval_above")
    labs = (
        db.session.scalars(
            sa.select(Organisation).where(
                Organisation.id.in_(lab_ids), Organisation.kind == OrgKind.LAB
            )
        ).all()
        if lab_ids
        else []
    )
    if len(labs) != len(set(lab_ids)):
        raise ValidationError(_l("Choose laboratories of the platform."), "lab_ids")
    group.approval_above = approval_above
    group.approval_labs[:] = [GroupApprovalLab(lab_id=lab.id) for lab in labs]
    db.session.flush()
    audit.record(
        actor,
        "group.rules_set",
        group,
        organisation=group.organisation_id,
        approval_above=approval_above,
        labs=sorted(lab.id for lab in labs),
    )


def _check_account_fields(
    code: str, name: str, valid_from: date | None, valid_to: date | None, budget: int | None
) -> tuple[str, str]:
    code = (code or "").strip()
    if not code:
        raise ValidationError(_l("Give the account's number (经费卡号, 项目号)."), "code")
    check_length(code, 64, _l("The account number"), "code")
    name = _clean_name(name)
    if valid_from is None or valid_to is None:
        raise ValidationError(_l("Give the dates the account is valid."), "valid_to")
    if valid_to < valid_from:
        raise ValidationError(_l("The account ends after it starts."), "valid_to")
    if budget is not None and not 0 <= budget <= MAX_BUDGET:
        raise ValidationError(_l("Give a budget of zero or more."), "budget")
    return code, name


def _chargers(group: Group, user_ids: list[int]) -> list[FundingAccountCharger]:
    members = {m.user_id for m in group.members} | {group.head_id}
    if not set(user_ids) <= members:
        raise ValidationError(_l("Only the group's members may charge its accounts."), "chargers")
    return [FundingAccountCharger(user_id=user_id) for user_id in sorted(set(user_ids))]


def save_account(
    actor: User,
    group: Group,
    account: FundingAccount | None,
    *,
    code: str,
    name: str,
    valid_from: date | None,
    valid_to: date | None,
    budget: int | None,
    charger_ids: list[int],
    committed: int = 0,
) -> FundingAccount:
    """Create (account None) or change a funding account. `committed` is what bookings
    already commit on it (fen): the budget is never set below it."""
    _require_head(actor, group)
    if account is not None and account.group_id != group.id:
        raise NotFound(_l("No such funding account."))
    code, name = _check_account_fields(code, name, valid_from, valid_to, budget)
    if budget is not None and budget < committed:
        raise ValidationError(
            _l(
                "Bookings already commit %(amount)s on this account; the budget cannot be lower.",
                amount=format_fen(committed),
            ),
            "budget",
        )
    taken = db.session.scalar(
        sa.select(FundingAccount.id).where(
            FundingAccount.group_id == group.id,
            FundingAccount.code == code,
            FundingAccount.id != (account.id if account is not None else -1),
        )
    )
    if taken is not None:
        raise ValidationError(_l("The group already has an account of this number."), "code")
    chargers = _chargers(group, charger_ids)
    if account is None:
        account = FundingAccount(group=group)
        db.session.add(account)
    account.code, account.name, account.budget = code, name, budget
    assert valid_from is not None and valid_to is not None
    account.valid_from, account.valid_to = valid_from, valid_to
    account.chargers[:] = chargers
    db.session.flush()
    audit.record(
        actor,
        "funding_account.saved",
        account,
        organisation=group.organisation_id,
        code=code,
        budget=budget,
        valid=(valid_from.isoformat(), valid_to.isoformat()),
        chargers=[c.user_id for c in chargers],
    )
    return account


def check_charge(actor: User, customer: Organisation, account: FundingAccount, day: date) -> None:
    """`actor`, booking for `customer`, may charge `account` for use on `day`: the account
    is the customer's, the actor may charge it, and it is valid that day. (The budget is
    checked by the booking, which knows what is committed.)"""
    if account.group.organisation_id != customer.id:
        raise PermissionDenied(
            _l("This funding account belongs to another organisation."), "funding_account_id"
        )
    if not account.may_charge(actor):
        raise PermissionDenied(
            _l(
                "You may not charge the funding account %(code)s; ask the head of the group.",
                code=account.code,
            ),
            "funding_account_id",
        )
    if not account.is_valid_on(day):
        raise ValidationError(
            _l(
                "The funding account %(code)s is valid from %(start)s to %(end)s; it cannot "
                "pay for use on %(day)s.",
                code=account.code,
                start=account.valid_from.isoformat(),
                end=account.valid_to.isoformat(),
                day=day.isoformat(),
            ),
            "funding_account_id",
        )


def lock_account(account_id: int | None) -> FundingAccount:
    """The account, its row locked for the rest of the transaction (PostgreSQL; SQLite
    serializes writers): charges of one account queue up behind each other."""
    account = (
        db.session.execute(
            sa.select(FundingAccount)
            .where(FundingAccount.id == account_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        .scalars()
        .one_or_none()
        if account_id is not None
        else None
    )
    if account is None:
        raise NotFound(_l("No such funding account."), "funding_account_id")
    return account
