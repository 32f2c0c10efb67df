"""Bookings (the plan) and usage records (what really happened), with notifications."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from sharehub.core.db import UTCDateTime, str_enum, utcnow
from sharehub.core.errors import Conflict, DomainError, PermissionDenied
from sharehub.extensions import Model
from sharehub.institutions.models import FundingAccount

if TYPE_CHECKING:
    from sharehub.accounts.models import Organisation, User
    from sharehub.catalog.models import Listing, Unit


class BookingStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    NO_SHOW = "no_show"


HOLDING = (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.IN_PROGRESS)
HOLDING_SQL = "status IN ('pending', 'confirmed', 'in_progress')"
# A booking that has not started yet can still be moved or cancelled.
MOVABLE = frozenset({BookingStatus.PENDING, BookingStatus.CONFIRMED})
# The lab drafts an invoice once the booking is decided (and not for a refusal or lapse).
INVOICEABLE = (
    BookingStatus.CONFIRMED,
    BookingStatus.IN_PROGRESS,
    BookingStatus.COMPLETED,
    BookingStatus.CANCELLED,
    BookingStatus.NO_SHOW,
)


class HeadApproval(enum.StrEnum):
    """The approval of the head of the group whose funding account a booking is charged
    to. While it is AWAITING the booking is PENDING (so it holds its slot, like every
    pending booking) and the lab cannot decide it; once APPROVED the booking goes on as
    any other (confirmed, or waiting for the lab's approval); DECLINED ends it."""

    AWAITING = "awaiting"
    APPROVED = "approved"
    DECLINED = "declined"


AWAITING_HEAD_LABEL = _l("Waiting for the customer's approval")
HEAD_APPROVAL_LABELS = {
    HeadApproval.AWAITING: _l("the head's approval is awaited"),
    HeadApproval.APPROVED: _l("approved by the head"),
    HeadApproval.DECLINED: _l("declined by the head"),
}

STATUS_LABELS = {
    BookingStatus.PENDING: _l("Waiting for the laboratory"),
    BookingStatus.CONFIRMED: _l("Confirmed"),
    BookingStatus.IN_PROGRESS: _l("In progress"),
    BookingStatus.COMPLETED: _l("Completed"),
    BookingStatus.DECLINED: _l("Declined"),
    BookingStatus.CANCELLED: _l("Cancelled"),
    BookingStatus.EXPIRED: _l("Expired"),
    BookingStatus.NO_SHOW: _l("No-show"),
}


class Side(enum.StrEnum):
    """Who acts on a booking: the managers of its lab, the members of its customer
    organisation, or the platform itself (cron jobs and the waiting list, no user)."""

    LAB = "lab"
    CUSTOMER = "customer"
    SYSTEM = "system"
    # The head of the group whose funding account the booking is charged to.
    HEAD = "head"


@dataclass(frozen=True)
class Transition:
    """One action of the booking state machine: the states it starts from, the state it
    leads to (None: the booking keeps its state, e.g. a move), who may take it, and the
    messages of a refusal where they are more precise than the general ones."""

    sources: frozenset[BookingStatus]
    target: BookingStatus | None
    by: frozenset[Side]
    denied: object = None  # the message of a 403; default "You may not change this booking."
    too_late: object = None  # the message of a 409 from another state
    audit: str = ""  # the audit action, "booking.<action>" by default


_P, _C, _IP = BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.IN_PROGRESS
_LAB, _CUSTOMER = frozenset({Side.LAB}), frozenset({Side.CUSTOMER})
_SYSTEM = frozenset({Side.SYSTEM})
_HEAD = frozenset({Side.HEAD})
_HEAD_DENIED = _l("Only the head of the group that pays for this booking may decide on it.")
_MOVED_TOO_LATE = _l("This booking can no longer be moved.")

# The one table of the booking state machine. Every change of a booking's state goes
# through booking.services.transition(), which checks it here.
TRANSITIONS: dict[str, Transition] = {
    "approve": Transition(frozenset({_P}), BookingStatus.CONFIRMED, _LAB),
    "decline": Transition(frozenset({_P}), BookingStatus.DECLINED, _LAB),
    # The head's approval, before the lab's: confirmed, or left pending for the lab when
    # the listing needs the lab's approval too (booking.services.head_approve).
    "head_approve": Transition(
        frozenset({_P}), BookingStatus.CONFIRMED, _HEAD, denied=_HEAD_DENIED
    ),
    "head_decline": Transition(frozenset({_P}), BookingStatus.DECLINED, _HEAD, denied=_HEAD_DENIED),
    "cancel": Transition(MOVABLE, BookingStatus.CANCELLED, _LAB | _CUSTOMER),
    # The platform checks in and out on a kiosk's word, after checking the user's code.
    "check_in": Transition(frozenset({_C}), BookingStatus.IN_PROGRESS, _LAB | _SYSTEM),
    "check_out": Transition(frozenset({_IP}), BookingStatus.COMPLETED, _LAB | _SYSTEM),
    "no_show": Transition(frozenset({_C}), BookingStatus.NO_SHOW, _LAB),
    "expire": Transition(frozenset({_P}), BookingStatus.EXPIRED, _SYSTEM),
    # The waiting list holds a freed time for the first in line: an instant booking made
    # for them waits (pending) until they take it.
    "offer": Transition(frozenset({_C}), BookingStatus.PENDING, _SYSTEM),
    "accept_offer": Transition(
        frozenset({_P}),
        BookingStatus.CONFIRMED,
        _CUSTOMER,
        too_late=_l("This offer is no longer open."),
        audit="booking.offer_accepted",
    ),
    # Moves: the state stays, but only a booking that has not started moves.
    "reschedule": Transition(
        MOVABLE,
        None,
        _CUSTOMER,
        denied=_l("Only the customer reschedules; the laboratory proposes."),
        too_late=_MOVED_TOO_LATE,
    ),
    "propose_move": Transition(
        MOVABLE,
        None,
        _LAB,
        denied=_l("Only the laboratory proposes a new time."),
        too_late=_MOVED_TOO_LATE,
    ),
    "answer_proposal": Transition(
        MOVABLE,
        None,
        _CUSTOMER,
        denied=_l("Only the customer answers a proposed move."),
        too_late=_MOVED_TOO_LATE,
    ),
}


class ServiceWay(enum.StrEnum):
    ON_SITE = "on_site"
    REMOTE = "remote"
    SAMPLES_SENT = "samples_sent"


SERVICE_WAY_LABELS = {
    ServiceWay.ON_SITE: _l("On site"),
    ServiceWay.REMOTE: _l("Remote"),
    ServiceWay.SAMPLES_SENT: _l("Samples sent"),
}


class UsageSource(enum.StrEnum):
    """Where a usage record comes from: captured at the instrument (kiosk, device) or
    entered by people (lab staff on the usage page, a CSV import, the API)."""

    KIOSK = "kiosk"
    DEVICE = "device"
    LAB_STAFF = "lab_staff"
    CSV_IMPORT = "csv_import"
    API = "api"


CAPTURED = frozenset({UsageSource.KIOSK, UsageSource.DEVICE})

USAGE_SOURCE_LABELS = {
    UsageSource.KIOSK: _l("Kiosk"),
    UsageSource.DEVICE: _l("Device"),
    UsageSource.LAB_STAFF: _l("Lab staff"),
    UsageSource.CSV_IMPORT: _l("CSV import"),
    UsageSource.API: _l("API"),
}


class Booking(Model):
    """A reservation of one unit for [starts_dt, ends_dt).

    `blocked_until_dt` is the end plus the listing's buffer: the range that no other
    holding booking of the unit may overlap. On PostgreSQL an exclusion constraint
    enforces it; on SQLite a trigger does, inside serialized (IMMEDIATE) transactions.
    """

    __tablename__ = "booking"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    uid: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)  # iCalendar UID
    listing_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("listing.id", ondelete="RESTRICT"), index=True
    )
    unit_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("unit.id", ondelete="RESTRICT"), index=True
    )
    customer_org_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    customer_user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    starts_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    ends_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    blocked_until_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    status: so.Mapped[BookingStatus] = so.mapped_column(str_enum(BookingStatus, 16), index=True)
    hold_expires_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime, index=True)

    purpose: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    sample_description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    sample_count: so.Mapped[int] = so.mapped_column(default=0)
    contact_name: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    contact_phone: so.Mapped[str] = so.mapped_column(sa.String(32), default="")

    price_tier: so.Mapped[str] = so.mapped_column(sa.String(16))
    net_amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)  # fen
    vat_rate_bp: so.Mapped[int]
    vat_amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    gross_amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    cancel_fee: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    # Booked with a staff operator (a user without an authorisation to operate alone, or a
    # listing operated by staff only): the operator's time is a booking of a unit of the
    # lab's staff calendar that `assists` this one; its charge is part of net_amount.
    assisted: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    assisted_amount: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0, server_default="0")
    # (No foreign key: SQLite adds none to an existing table without copying it, which
    # would drop the overlap triggers; an operator's time is never deleted apart.)
    assists_booking_id: so.Mapped[int | None] = so.mapped_column(index=True)
    # The funding account (grant, cost centre) the booking is charged to, and the head's
    # approval its group's rules asked for (HeadApproval; None: none was needed). No
    # foreign keys, for the reason given at assists_booking_id.
    funding_account_id: so.Mapped[int | None] = so.mapped_column(index=True)
    head_approval: so.Mapped[HeadApproval | None] = so.mapped_column(str_enum(HeadApproval, 16))
    head_decided_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    head_decided_by_id: so.Mapped[int | None] = so.mapped_column()
    # Time the lab booked on a customer's behalf for work billed another way (a testing
    # order's tests): it blocks the unit and its use counts for the customer, but the
    # booking itself is never invoiced.
    billed_elsewhere: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())

    series_uid: so.Mapped[str | None] = so.mapped_column(sa.String(64), index=True)
    # A move the lab proposes; it happens only when the customer accepts it.
    proposed_starts_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    proposed_ends_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    sequence: so.Mapped[int] = so.mapped_column(default=0)
    reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # Declined because the lab had no capacity: unmet demand in the statistics.
    declined_for_capacity: so.Mapped[bool] = so.mapped_column(
        default=False, server_default=sa.false()
    )
    decided_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    reminder_sent_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    listing: so.Mapped[Listing] = so.relationship()
    unit: so.Mapped[Unit] = so.relationship()
    customer_org: so.Mapped[Organisation] = so.relationship()
    customer_user: so.Mapped[User | None] = so.relationship()
    usage: so.Mapped[list[UsageRecord]] = so.relationship(back_populates="booking")
    assists: so.Mapped[Booking | None] = so.relationship(
        primaryjoin="foreign(Booking.assists_booking_id) == Booking.id",
        remote_side=[id],
        back_populates="operators",
    )
    operators: so.Mapped[list[Booking]] = so.relationship(
        primaryjoin="foreign(Booking.assists_booking_id) == Booking.id",
        back_populates="assists",
    )
    funding_account: so.Mapped[FundingAccount | None] = so.relationship(
        primaryjoin="foreign(Booking.funding_account_id) == FundingAccount.id"
    )

    __table_args__ = (
        sa.CheckConstraint(
            "starts_dt < ends_dt AND ends_dt <= blocked_until_dt", name="valid_range"
        ),
        sa.Index("ix_booking_unit_time", "unit_id", "starts_dt"),
    )

    @property
    def is_holding(self) -> bool:
        return self.status in HOLDING

    @property
    def awaits_head(self) -> bool:
        """Pending on the head's approval (the lab sees it waiting for the customer)."""
        return self.status == BookingStatus.PENDING and self.head_approval == HeadApproval.AWAITING

    @property
    def head_approval_label(self):
        return HEAD_APPROVAL_LABELS[self.head_approval] if self.head_approval else ""

    @property
    def status_label(self):
        if self.awaits_head:
            return AWAITING_HEAD_LABEL
        return STATUS_LABELS[self.status]

    @property
    def minutes(self) -> int:
        return int((self.ends_dt - self.starts_dt).total_seconds() // 60)

    @property
    def current_usage(self) -> list[UsageRecord]:
        """The booking's usage records that count: those no later record corrects."""
        corrected = {record.corrects_id for record in self.usage}
        return [record for record in self.usage if record.id not in corrected]

    def is_customer(self, user) -> bool:
        return user.is_authenticated and user.membership_in(self.customer_org_id) is not None

    def is_lab_manager(self, user) -> bool:
        return user.is_authenticated and user.can_manage(self.listing.lab)

    def is_head(self, user) -> bool:
        """`user` heads the group whose funding account this booking is charged to."""
        account = self.funding_account
        return account is not None and account.group.is_head(user)

    def can_view(self, user) -> bool:
        return (
            self.is_customer(user)
            or self.is_lab_manager(user)
            or (user.is_authenticated and (user.is_platform_admin or user.is_regulator))
        )

    @property
    def is_invoiceable(self) -> bool:
        return self.status in INVOICEABLE and not self.billed_elsewhere

    @property
    def has_open_proposal(self) -> bool:
        """The lab proposed a new time and the booking can still move."""
        return self.proposed_starts_dt is not None and self.status in MOVABLE

    # --- the state machine (TRANSITIONS) ----------------------------------------------

    def sides(self, user) -> frozenset[Side]:
        """The sides `user` acts for on this booking; None is the platform itself."""
        if user is None:
            return _SYSTEM
        return frozenset(
            side
            for side, holds in (
                (Side.LAB, self.is_lab_manager),
                (Side.CUSTOMER, self.is_customer),
                (Side.HEAD, self.is_head),
            )
            if holds(user)
        )

    def refusal(self, action: str, user) -> DomainError | None:
        """Why `user` (None: the platform) may not take `action` now, as the error a
        service raises (403 for the wrong side, 409 for the wrong state); None if they may."""
        rule = TRANSITIONS[action]
        if self.assists_booking_id is not None and user is not None:
            return Conflict(
                _l(
                    "This is the staff operator's time of booking #%(id)s; act on that booking.",
                    id=self.assists_booking_id,
                )
            )
        if not self.sides(user) & rule.by:
            return PermissionDenied(rule.denied or _l("You may not change this booking."))
        if action == "accept_offer" and self.listing.approval_required:
            return Conflict(_l("The laboratory confirms this booking."))
        if action in ("approve", "decline") and self.awaits_head:
            return Conflict(
                _l("The customer's head has not approved this booking yet; it waits for them.")
            )
        if action in ("head_approve", "head_decline") and not self.awaits_head:
            return Conflict(_l("This booking does not wait for the head's approval."))
        if action == "answer_proposal" and self.proposed_starts_dt is None:
            return Conflict(_l("There is no proposed move."))
        if self.status not in rule.sources:
            return Conflict(
                rule.too_late
                or _l(
                    "This booking is %(status)s; that is not possible now.",
                    status=self.status_label,
                )
            )
        return None

    def can(self, action: str, user) -> bool:
        return self.refusal(action, user) is None

    def allowed_actions(self, user) -> list[str]:
        """The actions of TRANSITIONS `user` may take now, in the table's order."""
        return [action for action in TRANSITIONS if self.can(action, user)]


class UsageRecord(Model):
    """Actual use of a unit: from a booking's check-in/out, or internal use logged directly.

    Effective hours are preparation + run + post-processing minutes.
    """

    __tablename__ = "usage_record"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    unit_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("unit.id", ondelete="RESTRICT"), index=True
    )
    booking_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("booking.id", ondelete="SET NULL"), index=True
    )
    user_org_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    # The person served, named on use logged without a booking (a booking names its own).
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    started_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, index=True)
    ended_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    prep_minutes: so.Mapped[int] = so.mapped_column(default=0)
    run_minutes: so.Mapped[int] = so.mapped_column(default=0)
    post_minutes: so.Mapped[int] = so.mapped_column(default=0)
    samples: so.Mapped[int] = so.mapped_column(default=0)
    service_way: so.Mapped[ServiceWay] = so.mapped_column(
        str_enum(ServiceWay, 16), default=ServiceWay.ON_SITE
    )
    notes: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    recorded_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    source: so.Mapped[UsageSource] = so.mapped_column(
        str_enum(UsageSource, 16), default=UsageSource.LAB_STAFF, index=True
    )
    # The kiosk or device that captured the use (kiosk, device records).
    device_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("capture_device.id", ondelete="RESTRICT"), index=True
    )
    # A correction is a new record naming the one it corrects (at most one correction
    # each, so corrections form a line and the last one counts).
    corrects_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("usage_record.id", ondelete="RESTRICT"), unique=True
    )
    correction_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # The lab's hash chain (booking/chain.py): set once, when the record is complete.
    lab_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    chain_seq: so.Mapped[int | None] = so.mapped_column()
    prev_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    record_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    unit: so.Mapped[Unit] = so.relationship()
    booking: so.Mapped[Booking | None] = so.relationship(back_populates="usage")
    recorded_by: so.Mapped[User | None] = so.relationship(foreign_keys=[recorded_by_id])
    corrects: so.Mapped[UsageRecord | None] = so.relationship(
        remote_side=[id], foreign_keys=[corrects_id]
    )
    user_org: so.Mapped[Organisation] = so.relationship(foreign_keys=[user_org_id])
    user: so.Mapped[User | None] = so.relationship(foreign_keys=[user_id])

    __table_args__ = (
        sa.CheckConstraint(
            "prep_minutes >= 0 AND run_minutes >= 0 AND post_minutes >= 0 AND samples >= 0",
            name="non_negative",
        ),
        sa.CheckConstraint("ended_dt IS NULL OR started_dt <= ended_dt", name="valid_range"),
        sa.UniqueConstraint("lab_id", "chain_seq", name="uq_usage_record_chain_position"),
    )

    @property
    def effective_minutes(self) -> int:
        return self.prep_minutes + self.run_minutes + self.post_minutes

    @property
    def is_sealed(self) -> bool:
        return self.record_hash is not None

    @property
    def source_label(self):
        return USAGE_SOURCE_LABELS[self.source]

    @property
    def is_captured(self) -> bool:
        return self.source in CAPTURED

    @classmethod
    def is_current(cls):
        """SQL: the record counts (no later record corrects it)."""
        later = so.aliased(cls)
        return ~sa.exists().where(later.corrects_id == cls.id)

    @property
    def service_way_label(self):
        return SERVICE_WAY_LABELS[self.service_way]


class AccessGrant(Model):
    """Access to a dataset for a period: a secret download link (its token stored hashed).
    A grant with a price is invoiced by the lab (billing.services.invoice_from_access_grant).

    Datasets have no slot exclusivity, so grants never conflict with each other.
    """

    __tablename__ = "access_grant"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    listing_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("listing.id", ondelete="RESTRICT"), index=True
    )
    customer_org_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    customer_user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="pending", index=True)
    token_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64), unique=True)
    token_hint: so.Mapped[str] = so.mapped_column(sa.String(8), default="")
    starts_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    ends_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    purpose: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    price_tier: so.Mapped[str] = so.mapped_column(sa.String(16))
    net_amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    vat_rate_bp: so.Mapped[int]
    vat_amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    gross_amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    listing: so.Mapped[Listing] = so.relationship()
    customer_org: so.Mapped[Organisation] = so.relationship()

    @property
    def is_usable(self) -> bool:
        now = utcnow()
        return (
            self.status == "active"
            and self.starts_dt is not None
            and self.ends_dt is not None
            and self.starts_dt <= now < self.ends_dt
        )


class WaitlistEntry(Model):
    """Someone waiting for a taken slot; when it frees, the first in line gets a hold."""

    __tablename__ = "waitlist_entry"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    listing_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("listing.id", ondelete="CASCADE"), index=True
    )
    customer_org_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE")
    )
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    starts_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    ends_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="waiting", index=True)
    booking_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("booking.id", ondelete="SET NULL")
    )
    offered_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    listing: so.Mapped[Listing] = so.relationship()
    user: so.Mapped[User] = so.relationship()


class UsageChainHead(Model):
    """The end of one lab's chain of usage records. Its row is locked while a record is
    appended, so concurrent inserts of one lab queue up and keep a single chain."""

    __tablename__ = "usage_chain_head"

    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), primary_key=True
    )
    seq: so.Mapped[int] = so.mapped_column(default=0)
    head_hash: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    updated_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class DeviceKind(enum.StrEnum):
    KIOSK = "kiosk"  # a tablet beside the unit: users start and end their sessions
    METER = "meter"  # an instrument PC or power meter posting start/stop events


DEVICE_KIND_LABELS = {
    DeviceKind.KIOSK: _l("Kiosk"),
    DeviceKind.METER: _l("Instrument PC or power meter"),
}


class CaptureDevice(Model):
    """A kiosk or device of one unit, with its token. Only the token's SHA-256 is kept
    (256 random bits); the token is shown once, when it is issued."""

    __tablename__ = "capture_device"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    unit_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("unit.id", ondelete="RESTRICT"), index=True
    )
    kind: so.Mapped[DeviceKind] = so.mapped_column(str_enum(DeviceKind, 16))
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    prefix: so.Mapped[str] = so.mapped_column(sa.String(16))
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_used_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    revoked_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    unit: so.Mapped[Unit] = so.relationship()

    @property
    def is_usable(self) -> bool:
        return self.revoked_dt is None

    @property
    def kind_label(self):
        return DEVICE_KIND_LABELS[self.kind]


class DeviceEvent(Model):
    """A start or stop posted by a device, kept as sent. A start and a stop of the same
    session pair into one usage record, whichever arrives first."""

    __tablename__ = "device_event"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    device_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("capture_device.id", ondelete="RESTRICT"), index=True
    )
    event_id: so.Mapped[str] = so.mapped_column(sa.String(100))
    session: so.Mapped[str] = so.mapped_column(sa.String(100))
    kind: so.Mapped[str] = so.mapped_column(sa.String(8))  # start | stop
    at_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    received_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    usage_record_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("usage_record.id", ondelete="RESTRICT")
    )

    __table_args__ = (
        sa.UniqueConstraint("device_id", "event_id", name="uq_device_event_once"),
        sa.UniqueConstraint("device_id", "session", "kind", name="uq_device_event_one_per_session"),
    )
