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
_MOVED_TOO_LATE = _l("This booking can no longer be moved.")

# The one table of the booking state machine. Every change of a booking's state goes
# through booking.services.transition(), which checks it here.
TRANSITIONS: dict[str, Transition] = {
    "approve": Transition(frozenset({_P}), BookingStatus.CONFIRMED, _LAB),
    "decline": Transition(frozenset({_P}), BookingStatus.DECLINED, _LAB),
    "cancel": Transition(MOVABLE, BookingStatus.CANCELLED, _LAB | _CUSTOMER),
    "check_in": Transition(frozenset({_C}), BookingStatus.IN_PROGRESS, _LAB),
    "check_out": Transition(frozenset({_IP}), BookingStatus.COMPLETED, _LAB),
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
    def status_label(self):
        return STATUS_LABELS[self.status]

    @property
    def minutes(self) -> int:
        return int((self.ends_dt - self.starts_dt).total_seconds() // 60)

    def is_customer(self, user) -> bool:
        return user.is_authenticated and user.membership_in(self.customer_org_id) is not None

    def is_lab_manager(self, user) -> bool:
        return user.is_authenticated and user.can_manage(self.listing.lab)

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
            for side, holds in ((Side.LAB, self.is_lab_manager), (Side.CUSTOMER, self.is_customer))
            if holds(user)
        )

    def refusal(self, action: str, user) -> DomainError | None:
        """Why `user` (None: the platform) may not take `action` now, as the error a
        service raises (403 for the wrong side, 409 for the wrong state); None if they may."""
        rule = TRANSITIONS[action]
        if not self.sides(user) & rule.by:
            return PermissionDenied(rule.denied or _l("You may not change this booking."))
        if action == "accept_offer" and self.listing.approval_required:
            return Conflict(_l("The laboratory confirms this booking."))
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

    unit: so.Mapped[Unit] = so.relationship()
    booking: so.Mapped[Booking | None] = so.relationship(back_populates="usage")
    user_org: so.Mapped[Organisation] = so.relationship()
    user: so.Mapped[User | None] = so.relationship(foreign_keys=[user_id])

    __table_args__ = (
        sa.CheckConstraint(
            "prep_minutes >= 0 AND run_minutes >= 0 AND post_minutes >= 0 AND samples >= 0",
            name="non_negative",
        ),
        sa.CheckConstraint("ended_dt IS NULL OR started_dt <= ended_dt", name="valid_range"),
    )

    @property
    def effective_minutes(self) -> int:
        return self.prep_minutes + self.run_minutes + self.post_minutes

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
