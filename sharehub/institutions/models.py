"""Groups inside a buyer's organisation (research groups, departments, project teams) with
their head, members and approval rules, and the funding accounts their bookings are charged to.

A booking names the funding account it is charged to; the account's group gives the rules
(the head's approval). Purchase orders and percentage splits are meant to come as rows
beside these (a purchase order of an account; a charge split over several accounts), so a
booking keeps one account id and an allocation table can be added later.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, User
from sharehub.core.db import UTCDateTime, str_enum, utcnow
from sharehub.extensions import Model


class GroupKind(enum.StrEnum):
    RESEARCH_GROUP = "research_group"
    DEPARTMENT = "department"
    PROJECT_TEAM = "project_team"


GROUP_KIND_LABELS = {
    GroupKind.RESEARCH_GROUP: _l("Research group"),
    GroupKind.DEPARTMENT: _l("Department"),
    GroupKind.PROJECT_TEAM: _l("Project team"),
}


class Group(Model):
    """A group of an organisation with its head (PI), who approves its members' bookings
    under the group's rules and keeps its funding accounts."""

    __tablename__ = "buyer_group"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "name", name="uq_buyer_group_name"),
        sa.CheckConstraint(
            "approval_above IS NULL OR approval_above >= 0", name="approval_above_non_negative"
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    organisation_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    kind: so.Mapped[GroupKind] = so.mapped_column(str_enum(GroupKind, 16))
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    head_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="RESTRICT"), index=True
    )
    # The head's rules: a booking whose price (VAT included, fen) is above this amount
    # needs the head's approval first (None: no amount rule) ...
    approval_above: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    organisation: so.Mapped[Organisation] = so.relationship()
    head: so.Mapped[User] = so.relationship()
    members: so.Mapped[list[GroupMember]] = so.relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="GroupMember.id"
    )
    # ... and so does a booking on one of these labs.
    approval_labs: so.Mapped[list[GroupApprovalLab]] = so.relationship(
        cascade="all, delete-orphan", order_by="GroupApprovalLab.id"
    )
    accounts: so.Mapped[list[FundingAccount]] = so.relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="FundingAccount.id"
    )

    @property
    def kind_label(self):
        return GROUP_KIND_LABELS[self.kind]

    @property
    def approval_lab_ids(self) -> set[int]:
        return {rule.lab_id for rule in self.approval_labs}

    def is_head(self, user) -> bool:
        return bool(user.is_authenticated) and user.id == self.head_id

    def is_member(self, user) -> bool:
        return bool(user.is_authenticated) and (
            self.is_head(user) or any(m.user_id == user.id for m in self.members)
        )

    def is_org_admin(self, user) -> bool:
        """The organisation's owners and managers create groups and name their heads."""
        return bool(user.is_authenticated) and user.can_manage(self.organisation)

    def can_view(self, user) -> bool:
        return self.is_member(user) or self.is_org_admin(user)

    def can_manage(self, user) -> bool:
        """Members, rules and funding accounts: the head."""
        return self.is_head(user)

    def can_see_spending(self, user) -> bool:
        return self.is_head(user) or self.is_org_admin(user)

    def needs_approval(self, booker: User, lab_id: int, gross: int) -> bool:
        """A booking of `booker` on `lab_id` at `gross` fen needs the head's approval
        (never the head's own bookings)."""
        if booker.id == self.head_id:
            return False
        return (self.approval_above is not None and gross > self.approval_above) or (
            lab_id in self.approval_lab_ids
        )


class GroupMember(Model):
    __tablename__ = "buyer_group_member"
    __table_args__ = (sa.UniqueConstraint("group_id", "user_id", name="uq_buyer_group_member"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    group_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("buyer_group.id", ondelete="CASCADE"), index=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    group: so.Mapped[Group] = so.relationship(back_populates="members")
    user: so.Mapped[User] = so.relationship()


class GroupApprovalLab(Model):
    """A lab whose bookings need the head's approval, whatever their amount."""

    __tablename__ = "buyer_group_approval_lab"
    __table_args__ = (sa.UniqueConstraint("group_id", "lab_id", name="uq_buyer_group_lab"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    group_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("buyer_group.id", ondelete="CASCADE"), index=True
    )
    lab_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("organisation.id", ondelete="CASCADE"))

    lab: so.Mapped[Organisation] = so.relationship()


class FundingAccount(Model):
    """A grant or cost centre (经费卡, 项目号) of a group: valid between two dates, with an
    optional budget (fen, VAT included) and the members allowed to charge it.

    Its row is locked while a booking is charged to it, so two charges at once cannot
    together spend beyond the budget."""

    __tablename__ = "funding_account"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "code", name="uq_funding_account_code"),
        sa.CheckConstraint("budget IS NULL OR budget >= 0", name="budget_non_negative"),
        sa.CheckConstraint("valid_from <= valid_to", name="valid_range"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    group_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("buyer_group.id", ondelete="CASCADE"), index=True
    )
    code: so.Mapped[str] = so.mapped_column(sa.String(64))
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    valid_from: so.Mapped[date] = so.mapped_column(sa.Date)
    valid_to: so.Mapped[date] = so.mapped_column(sa.Date)
    budget: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    group: so.Mapped[Group] = so.relationship(back_populates="accounts")
    chargers: so.Mapped[list[FundingAccountCharger]] = so.relationship(
        cascade="all, delete-orphan", order_by="FundingAccountCharger.id"
    )

    @property
    def label(self) -> str:
        return f"{self.code} · {self.name}"

    @property
    def charger_ids(self) -> set[int]:
        return {c.user_id for c in self.chargers}

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to

    def may_charge(self, user) -> bool:
        """The head, and the members the head allowed."""
        return bool(user.is_authenticated) and (
            self.group.is_head(user) or (user.id in self.charger_ids and self.group.is_member(user))
        )


class FundingAccountCharger(Model):
    __tablename__ = "funding_account_charger"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "user_id", name="uq_funding_account_charger"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("funding_account.id", ondelete="CASCADE"), index=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )

    user: so.Mapped[User] = so.relationship()
