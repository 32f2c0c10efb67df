"""The one booking service: every path that books (pages, API) goes through here.

Rules are checked in Python for a clear message, and the database refuses overlaps by
construction (exclusion constraint on PostgreSQL, trigger under serialized writes on
SQLite), so a race between two requests ends in a clean Conflict, never a double booking.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError, OperationalError

from sharehub.accounts.models import Organisation, User
from sharehub.booking import funding, notify
from sharehub.booking.availability import (
    LAB_TZ,
    busy_intervals,
    free_intervals,
    free_starts,
    grid_starts,
    holidays_between,
    opening_intervals,
)
from sharehub.booking.models import HOLDING, TRANSITIONS, Booking, BookingStatus, HeadApproval
from sharehub.booking.pricing import cancellation_fee, quote
from sharehub.booking.signals import booking_cancelled, slot_freed
from sharehub.calibration import queries as calibration
from sharehub.catalog.models import Holiday, Listing, ListingKind, Unit
from sharehub.competence.services import check_operator
from sharehub.core import audit
from sharehub.core.dates import format_day
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.inputs import check_length
from sharehub.extensions import db


@dataclass
class BookingRequest:
    starts_dt: datetime
    ends_dt: datetime
    unit_id: int | None = None  # None: any free unit of the listing
    purpose: str = ""
    sample_description: str = ""
    sample_count: int = 0
    contact_name: str = ""
    contact_phone: str = ""
    assisted: bool = False  # with a staff operator of the lab
    funding_account_id: int | None = None  # a group's funding account it is charged to


class SlotTaken(Conflict):
    """The slot is no longer free; carries free alternatives of the same length."""

    def __init__(self, message, alternatives: list[tuple[datetime, datetime]]):
        super().__init__(message)
        self.alternatives = alternatives


class RuleBroken(ValidationError):
    """A well-formed time the listing's rules refuse as things stand (off its slot grid, a
    closed day or holiday, too short or long, inside the lead time or past the horizon):
    a conflict with the current state, 409."""

    status = 409


def check_rules(
    listing: Listing,
    starts: datetime,
    ends: datetime,
    now: datetime | None = None,
    holidays: dict[date, bool] | None = None,
) -> None:
    """The listing's booking rules; raises ValidationError with a message for the buyer
    (RuleBroken, 409, for the rules of the listing and the clock)."""
    now = now or utcnow()
    if starts.tzinfo is None or ends.tzinfo is None:
        raise ValidationError(_l("Times must carry a time zone."))
    if ends <= starts:
        raise ValidationError(_l("A booking ends after it starts."))
    minutes = int((ends - starts).total_seconds() // 60)
    if minutes % listing.slot_minutes or starts not in grid_starts(
        listing, starts, starts + timedelta(minutes=1), holidays
    ):
        _refuse_closed_day(listing, starts)
        raise RuleBroken(
            _l("Bookings start and end on %(n)s-minute slots.", n=listing.slot_minutes)
        )
    if not listing.min_minutes <= minutes <= listing.max_minutes:
        raise RuleBroken(
            _l(
                "A booking lasts from %(min)s to %(max)s minutes.",
                min=listing.min_minutes,
                max=listing.max_minutes,
            )
        )
    if starts < now + timedelta(hours=listing.lead_hours):
        raise RuleBroken(_l("Book at least %(h)s hours ahead.", h=listing.lead_hours))
    if starts > now + timedelta(days=listing.horizon_days):
        raise RuleBroken(_l("Book at most %(d)s days ahead.", d=listing.horizon_days))


def _refuse_closed_day(listing: Listing, starts: datetime) -> None:
    """A start on a day the lab does not open at all gets the reason (a public holiday, or
    no opening hours that day) rather than the slot-alignment message."""
    day = starts.astimezone(LAB_TZ).date()
    special = db.session.get(Holiday, day)
    if special is not None and not special.is_workday:
        raise RuleBroken(
            _l("%(day)s is a public holiday; the laboratory is closed.", day=format_day(day))
        )
    start_of_day = datetime.combine(day, time(), LAB_TZ)
    if not opening_intervals(listing, start_of_day, start_of_day + timedelta(days=1)):
        raise RuleBroken(
            _l("The laboratory is closed on %(day)s; choose another day.", day=format_day(day))
        )


def _is_free(
    unit: Unit,
    starts: datetime,
    ends: datetime,
    exclude_booking_id: int | None = None,
    holidays: dict[date, bool] | None = None,
) -> bool:
    return any(
        a <= starts and ends <= b
        for a, b in free_intervals(
            unit, starts, ends, holidays, exclude_booking_id=exclude_booking_id
        )
    )


def alternatives(
    listing: Listing, starts: datetime, ends: datetime, limit: int = 5
) -> list[tuple[datetime, datetime]]:
    """Free slots of the same length on any unit, from the requested day on."""
    length = ends - starts
    day_start = datetime.combine(starts.astimezone(LAB_TZ).date(), time(), LAB_TZ)
    minutes = int(length.total_seconds() // 60)
    found = free_starts(listing, day_start, day_start + timedelta(days=14), minutes)
    return [(p, p + length) for p in found[:limit]]


def _overlap_error(exc: Exception) -> bool:
    text = str(getattr(exc, "orig", exc))
    return "booking_no_overlap" in text or "booking_overlap" in text


def check_request_texts(request: BookingRequest) -> None:
    """Refuse what its column cannot keep, naming the limit, instead of cutting it."""
    check_length(request.purpose.strip(), 5000, _l("The purpose"), "purpose")
    check_length(
        request.sample_description.strip(), 5000, _l("The sample description"), "sample_description"
    )
    check_length(request.contact_name.strip(), 100, _l("The contact name"), "contact_name")
    check_length(request.contact_phone.strip(), 32, _l("The contact phone"), "contact_phone")


def _fit_units(listing: Listing, units: list[Unit], request: BookingRequest) -> list[Unit]:
    """The units the listing's calibration policy lets one book for the request: all of
    them when it only flags unfit units; else those whose certificate is neither overdue
    nor failed at any instant of the booking. None left: a clear refusal (409)."""
    if not calibration.blocks_unfit(listing):
        return units
    unfit = calibration.unfit_units(listing, request.starts_dt, request.ends_dt)
    fit = [u for u in units if u not in unfit]
    if not fit:
        raise Conflict(
            _l(
                "The instrument's calibration certificate is overdue or failed for this "
                "time; the laboratory takes no bookings of it until it is recalibrated."
            )
        )
    return fit


def create_booking(
    actor: User,
    customer: Organisation,
    listing: Listing,
    request: BookingRequest,
    *,
    series_uid: str | None = None,
) -> Booking:
    if actor.membership_in(customer) is None:
        raise PermissionDenied(_l("You do not act for this organisation."))
    if not listing.is_published or not listing.lab.is_serving:
        raise Conflict(_l("This listing does not take bookings at present."))
    if listing.kind == ListingKind.DATASET:
        raise ValidationError(_l("Datasets are not booked by time."))
    if request.starts_dt.tzinfo is not None and request.ends_dt.tzinfo is not None:
        # the official calendar of the booking's days, read once for every rule below
        holidays = holidays_between(
            request.starts_dt.astimezone(LAB_TZ).date(), request.ends_dt.astimezone(LAB_TZ).date()
        )
    else:
        holidays = None  # check_rules refuses it
    check_rules(listing, request.starts_dt, request.ends_dt, holidays=holidays)
    check_request_texts(request)
    # Who may operate it: an authorisation valid at the start, or a staff operator.
    requirement = check_operator(actor, listing, request.starts_dt, request.assisted)
    staff_units = []
    if request.assisted:
        assert requirement is not None and requirement.staff_listing is not None
        staff_units = [
            u
            for u in requirement.staff_listing.units
            if u.is_active and _is_free(u, request.starts_dt, request.ends_dt, holidays=holidays)
        ]
        if not staff_units:
            raise OperatorTaken(
                _l("No staff operator is free at this time; choose another time."),
                alternatives(listing, request.starts_dt, request.ends_dt),
            )
    units = [
        u
        for u in listing.units
        if u.is_active and (request.unit_id is None or u.id == request.unit_id)
    ]
    if not units:
        raise ValidationError(_l("Choose one of the listing's units."))
    units = _fit_units(listing, units, request)
    unit = next(
        (u for u in units if _is_free(u, request.starts_dt, request.ends_dt, holidays=holidays)),
        None,
    )
    if unit is None:
        raise SlotTaken(
            _l("This time is not free any more."),
            alternatives(listing, request.starts_dt, request.ends_dt),
        )
    minutes = int((request.ends_dt - request.starts_dt).total_seconds() // 60)
    price = quote(listing, customer, minutes, request.sample_count, assisted=request.assisted)
    account = None
    if request.funding_account_id is not None:
        # the account's row stays locked until the commit: no two charges overspend it
        account = funding.charge(
            actor, customer, request.funding_account_id, price.gross, request.starts_dt
        )
    awaits_head = account is not None and account.group.needs_approval(
        actor, listing.lab_id, price.gross
    )
    pending = listing.approval_required or awaits_head
    now = utcnow()
    hold_hours = current_app.config.get("BOOKING_HOLD_HOURS", 48)
    booking = Booking(
        uid=f"{uuid.uuid4()}@sharehub.cn",
        listing=listing,
        unit=unit,
        customer_org=customer,
        customer_user=actor,
        starts_dt=request.starts_dt,
        ends_dt=request.ends_dt,
        blocked_until_dt=request.ends_dt + timedelta(minutes=listing.buffer_minutes),
        status=BookingStatus.PENDING if pending else BookingStatus.CONFIRMED,
        hold_expires_dt=min(now + timedelta(hours=hold_hours), request.starts_dt)
        if pending
        else None,
        funding_account_id=account.id if account is not None else None,
        head_approval=HeadApproval.AWAITING if awaits_head else None,
        purpose=request.purpose.strip(),
        sample_description=request.sample_description.strip(),
        sample_count=max(0, request.sample_count),
        contact_name=request.contact_name.strip() or actor.name,
        contact_phone=request.contact_phone.strip() or actor.phone,
        price_tier=price.tier,
        net_amount=price.net,
        vat_rate_bp=price.vat_rate_bp,
        vat_amount=price.vat,
        gross_amount=price.gross,
        series_uid=series_uid,
        decided_dt=None if pending else now,
        assisted=request.assisted,
        assisted_amount=price.assisted_net,
    )
    try:
        with db.session.begin_nested():
            db.session.add(booking)
            db.session.flush()
            if request.assisted:
                _book_operator(booking, staff_units[0])
    except (IntegrityError, OperationalError) as exc:
        if not _overlap_error(exc):
            raise
        if booking in db.session:  # normally already gone with the savepoint
            db.session.expunge(booking)
        raise SlotTaken(
            _l("Someone else has just booked this time."),
            alternatives(listing, request.starts_dt, request.ends_dt),
        ) from exc
    audit.record(
        actor,
        "booking.created",
        booking,
        organisation=listing.lab_id,
        customer=customer.id,
        status=booking.status.value,
        starts=booking.starts_dt.isoformat(),
        ends=booking.ends_dt.isoformat(),
        funding_account=booking.funding_account_id,
        head_approval=booking.head_approval.value if booking.head_approval else None,
    )
    notify.booking_event_later(booking, "created")
    if awaits_head:
        funding.ask_head(booking)
    db.session.flush()
    return booking


def _refuse_blocked_unfit(unit: Unit, starts: datetime, ends: datetime) -> None:
    """The lab's own time (a testing run) follows the listing's calibration policy like a
    customer's booking: on a blocking listing, a unit unfit at its start, or falling due
    during the run, is refused with the reason (409), not as a mere busy time."""
    if not calibration.blocks_unfit(unit.listing_id):
        return
    if calibration.fit_for_use(unit, starts) and unit not in calibration.unfit_units(
        unit.listing, starts, ends
    ):
        return
    raise Conflict(
        _l(
            "%(unit)s cannot be used for this time: its calibration certificate is overdue "
            "or failed, and the laboratory blocks such units. Record a new certificate first.",
            unit=unit.name,
        ),
        field="unit_id",
    )


def create_lab_booking(
    actor: User,
    unit: Unit,
    customer: Organisation,
    starts: datetime,
    ends: datetime,
    *,
    purpose: str,
    customer_user: User | None = None,
) -> Booking:
    """Time the lab books on its own unit to do work for `customer` that is billed another
    way (a testing order's tests): confirmed at once, at no price of its own, and not
    bound to opening hours or lead times (a 96-hour salt-spray run goes through nights),
    but it never overlaps another holding booking, an outage or an imported busy time.
    Its check-in and check-out make usage records served to `customer`."""
    listing = unit.listing
    if not actor.can_manage(listing.lab):
        raise PermissionDenied(_l("Only managers of this laboratory may do this."))
    if not unit.is_active:
        raise Conflict(_l("This unit is not in service."))
    if starts.tzinfo is None or ends.tzinfo is None:
        raise ValidationError(_l("Times must carry a time zone."))
    if ends <= starts:
        raise ValidationError(_l("A booking ends after it starts."), field="ends")
    if ends - starts > timedelta(days=31):
        raise ValidationError(_l("One run lasts at most 31 days."), field="ends")
    purpose = (purpose or "").strip()
    check_length(purpose, 500, _l("The purpose"), "purpose")
    _refuse_blocked_unfit(unit, starts, ends)
    if busy_intervals(unit, starts, ends):
        raise SlotTaken(_l("The unit is not free at this time."), [])
    now = utcnow()
    booking = Booking(
        uid=f"{uuid.uuid4()}@sharehub.cn",
        listing=listing,
        unit=unit,
        customer_org=customer,
        customer_user=customer_user,
        starts_dt=starts,
        ends_dt=ends,
        blocked_until_dt=ends + timedelta(minutes=listing.buffer_minutes),
        status=BookingStatus.CONFIRMED,
        purpose=purpose,
        contact_name=actor.name,
        contact_phone=actor.phone or "",
        price_tier="internal",
        net_amount=0,
        vat_rate_bp=listing.lab.vat_rate_bp,
        vat_amount=0,
        gross_amount=0,
        billed_elsewhere=True,
        decided_dt=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(booking)
            db.session.flush()
    except (IntegrityError, OperationalError) as exc:
        if not _overlap_error(exc):
            raise
        if booking in db.session:
            db.session.expunge(booking)
        raise SlotTaken(_l("Someone else has just booked this time."), []) from exc
    audit.record(
        actor,
        "booking.created",
        booking,
        organisation=listing.lab_id,
        customer=customer.id,
        status=booking.status.value,
        starts=starts.isoformat(),
        ends=ends.isoformat(),
        billed_elsewhere=True,
    )
    db.session.flush()
    return booking


# --- transitions -------------------------------------------------------------------------


class OperatorTaken(SlotTaken):
    """No staff operator of the lab's staff calendar is free for an assisted booking."""


def _book_operator(booking: Booking, staff_unit: Unit) -> Booking:
    """The staff operator's time: a booking of a unit of the lab's staff calendar (an
    expert-time listing) over the same time, so the booking engine's overlap rule (the
    exclusion constraint, the trigger on SQLite) keeps a staff member from being booked
    twice. It follows its booking's state; its charge is on the booking."""
    operator = Booking(
        uid=f"{uuid.uuid4()}@sharehub.cn",
        listing=staff_unit.listing,
        unit=staff_unit,
        customer_org=booking.customer_org,
        customer_user=booking.customer_user,
        starts_dt=booking.starts_dt,
        ends_dt=booking.ends_dt,
        blocked_until_dt=booking.ends_dt + timedelta(minutes=staff_unit.listing.buffer_minutes),
        status=booking.status,
        hold_expires_dt=booking.hold_expires_dt,
        purpose=f"#{booking.id} {booking.listing.name}"[:5000],
        price_tier=booking.price_tier,
        net_amount=0,
        vat_rate_bp=booking.vat_rate_bp,
        vat_amount=0,
        gross_amount=0,
        decided_dt=booking.decided_dt,
    )
    try:
        with db.session.begin_nested():
            db.session.add(operator)
            operator.assists = booking
            db.session.flush()
    except (IntegrityError, OperationalError) as exc:
        if not _overlap_error(exc):
            raise
        raise OperatorTaken(
            _l("The staff operator has just been booked by someone else; choose another time."),
            [],
        ) from exc
    return operator


def check(actor: User | None, booking: Booking, action: str) -> None:
    """Refuse `action` of the state machine (models.TRANSITIONS) that `actor` (None: the
    platform) may not take on `booking` now: 403 for the wrong side, 409 for the state."""
    error = booking.refusal(action, actor)
    if error is not None:
        raise error


def transition(
    actor: User | None,
    booking: Booking,
    action: str,
    *,
    target: BookingStatus | None = None,
    **audit_data,
) -> None:
    """The one place a booking changes state: checks the table, writes the new state and
    audits it with `audit_data`. The caller does what the action means besides. `target`
    replaces the table's target where the action leads to two states (the head's approval
    leaves the booking pending when the lab approves too)."""
    rule = TRANSITIONS[action]
    target = target or rule.target
    if target is None:
        raise ValueError(f"{action} does not change the state of a booking")
    check(actor, booking, action)
    old = booking.status
    booking.status = target
    booking.updated_dt = utcnow()
    if target != BookingStatus.PENDING:
        booking.hold_expires_dt = None
    for operator in booking.operators:  # the staff operator's time follows its booking
        operator.status, operator.updated_dt = booking.status, booking.updated_dt
        operator.hold_expires_dt = booking.hold_expires_dt
        operator.decided_dt = operator.decided_dt or booking.decided_dt
    audit.record(
        actor,
        rule.audit or f"booking.{action}",
        booking,
        organisation=booking.listing.lab_id,
        old=old.value,
        new=target.value,
        **audit_data,
    )


def approve(actor: User, booking: Booking) -> None:
    transition(actor, booking, "approve")
    booking.decided_dt = utcnow()
    notify.booking_event(booking, "confirmed")
    db.session.flush()


def decline(actor: User, booking: Booking, reason: str, for_capacity: bool = False) -> None:
    """`for_capacity`: the lab had no capacity, which the statistics count as unmet demand."""
    if not (reason or "").strip():
        raise ValidationError(_l("Give the reason, the customer will read it."), field="reason")
    transition(actor, booking, "decline", reason=reason.strip(), for_capacity=for_capacity)
    booking.reason, booking.decided_dt = reason.strip(), utcnow()
    booking.declined_for_capacity = for_capacity
    notify.booking_event(booking, "declined")
    _freed(booking)


def head_approve(actor: User, booking: Booking) -> bool:
    """The head of the paying group approves: the booking is confirmed, or, when the
    listing needs the lab's approval, goes on to the lab (still pending). Deciding again
    the same way changes nothing (the emailed link may be opened twice); returns whether
    this call decided."""
    if booking.head_approval == HeadApproval.APPROVED and booking.is_head(actor):
        return False
    lab_approves = booking.listing.approval_required
    now = utcnow()
    transition(
        actor,
        booking,
        "head_approve",
        target=BookingStatus.PENDING if lab_approves else BookingStatus.CONFIRMED,
    )
    booking.head_approval, booking.head_decided_dt = HeadApproval.APPROVED, now
    booking.head_decided_by_id = actor.id
    if lab_approves:
        hold_hours = current_app.config.get("BOOKING_HOLD_HOURS", 48)
        booking.hold_expires_dt = min(now + timedelta(hours=hold_hours), booking.starts_dt)
        for operator in booking.operators:
            operator.hold_expires_dt = booking.hold_expires_dt
        notify.booking_event(booking, "created")  # now the lab's request to decide
    else:
        booking.decided_dt = now
        notify.booking_event(booking, "confirmed")
    db.session.flush()
    return True


def head_decline(actor: User, booking: Booking, reason: str = "") -> bool:
    """The head declines: the slot is freed and the booker told. Idempotent like
    head_approve."""
    if booking.head_approval == HeadApproval.DECLINED and booking.is_head(actor):
        return False
    reason = (reason or "").strip()
    check_length(reason, 2000, _l("The reason"), "reason")
    transition(actor, booking, "head_decline", reason=reason)
    now = utcnow()
    booking.head_approval, booking.head_decided_dt = HeadApproval.DECLINED, now
    booking.head_decided_by_id = actor.id
    booking.reason = reason or str(_l("Declined by the head of the group."))
    booking.decided_dt = now
    notify.booking_event(booking, "declined")
    _freed(booking)
    return True


def mark_no_show(actor: User, booking: Booking) -> None:
    if utcnow() < booking.starts_dt:
        raise ValidationError(_l("A no-show is recorded after the booked start."))
    transition(actor, booking, "no_show")
    notify.booking_event(booking, "no_show")
    db.session.flush()


def cancellation_terms(booking: Booking, by_lab: bool, now: datetime | None = None) -> int:
    """The fee a cancellation would cost now (fen); the lab cancelling always refunds fully."""
    now = now or utcnow()
    listing = booking.listing
    if by_lab or booking.status == BookingStatus.PENDING:
        return 0
    if now < booking.starts_dt - timedelta(hours=listing.free_cancel_hours):
        return 0
    return cancellation_fee(booking.gross_amount, listing.cancel_fee_percent)


def cancel(actor: User, booking: Booking, reason: str = "") -> int:
    by_lab = booking.is_lab_manager(actor) and not booking.is_customer(actor)
    fee = cancellation_terms(booking, by_lab)
    transition(actor, booking, "cancel", fee=fee, by="lab" if by_lab else "customer")
    booking.cancel_fee, booking.reason = fee, (reason or "").strip()
    booking.sequence += 1
    booking_cancelled.send(booking, actor=actor, fee=fee)  # billing settles the money
    notify.booking_event(booking, "cancelled")
    _freed(booking)
    return fee


def reschedule(actor: User, booking: Booking, starts: datetime, ends: datetime) -> None:
    """The customer moves a booking within the policy; the lab's approval stays needed
    for approval listings. The slot is checked like a new booking."""
    check(actor, booking, "reschedule")
    if cancellation_terms(booking, by_lab=False):
        raise Conflict(
            _l(
                "It is too late to move this booking free of charge; cancel it "
                "(with the fee) or contact the laboratory."
            )
        )
    check_rules(booking.listing, starts, ends)
    if not booking.assisted and booking.customer_user is not None:
        check_operator(booking.customer_user, booking.listing, starts, assisted=False)
    move(booking, starts, ends, actor)


def move(booking: Booking, starts: datetime, ends: datetime, actor: User | None) -> None:
    """Move a booking to a free time (the database still refuses a racing overlap)."""
    listing = booking.listing
    if not _is_free(booking.unit, starts, ends, exclude_booking_id=booking.id):
        raise SlotTaken(_l("This time is not free."), alternatives(listing, starts, ends))
    for operator in booking.operators:
        if operator.is_holding and not _is_free(
            operator.unit, starts, ends, exclude_booking_id=operator.id
        ):
            raise OperatorTaken(
                _l("The staff operator is not free at that time; choose another time."),
                alternatives(listing, starts, ends),
            )
    old = (booking.starts_dt.isoformat(), booking.ends_dt.isoformat())
    price = quote(
        listing,
        booking.customer_org,
        int((ends - starts).total_seconds() // 60),
        booking.sample_count,
        assisted=booking.assisted,
    )
    if booking.funding_account_id is not None and booking.customer_user is not None:
        # the new price and day are charged to the same account, under its lock
        funding.charge(
            booking.customer_user,
            booking.customer_org,
            booking.funding_account_id,
            price.gross,
            starts,
            exclude_booking_id=booking.id,
        )
    try:
        with db.session.begin_nested():
            booking.starts_dt, booking.ends_dt = starts, ends
            booking.blocked_until_dt = ends + timedelta(minutes=listing.buffer_minutes)
            booking.net_amount, booking.vat_amount, booking.gross_amount = (
                price.net,
                price.vat,
                price.gross,
            )
            booking.assisted_amount = price.assisted_net
            booking.sequence += 1
            booking.updated_dt = utcnow()
            for operator in booking.operators:
                operator.starts_dt, operator.ends_dt = starts, ends
                operator.blocked_until_dt = ends + timedelta(
                    minutes=operator.listing.buffer_minutes
                )
                operator.sequence += 1
            db.session.flush()
    except (IntegrityError, OperationalError) as exc:
        if not _overlap_error(exc):
            raise
        db.session.refresh(booking)
        for operator in booking.operators:
            db.session.refresh(operator)
        raise SlotTaken(
            _l("Someone else has just booked this time."), alternatives(listing, starts, ends)
        ) from exc
    audit.record(
        actor,
        "booking.rescheduled",
        booking,
        organisation=listing.lab_id,
        old=old,
        new=(starts.isoformat(), ends.isoformat()),
    )
    notify.booking_event(booking, "rescheduled")
    db.session.flush()


def _freed(booking: Booking) -> None:
    db.session.flush()
    slot_freed.send(booking)  # the waiting list offers the time on (booking/waitlist.py)


def expire_holds(now: datetime | None = None) -> int:
    """Pending bookings whose hold ran out free their slot (cron; safe on several machines)."""
    now = now or utcnow()
    query = sa.select(Booking).where(
        Booking.status == BookingStatus.PENDING,
        Booking.hold_expires_dt <= now,
        Booking.assists_booking_id.is_(None),  # a staff operator's time follows its booking
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    expired = 0
    for booking in db.session.scalars(query):
        transition(None, booking, "expire")
        notify.booking_event(booking, "expired")
        _freed(booking)
        expired += 1
    db.session.flush()
    return expired


def holding_bookings_of(unit_ids: list[int], start: datetime, end: datetime):
    return db.session.scalars(
        sa.select(Booking)
        .where(
            Booking.unit_id.in_(unit_ids),
            Booking.status.in_(HOLDING),
            Booking.starts_dt < end,
            Booking.ends_dt > start,
        )
        .order_by(Booking.starts_dt)
    )


def send_reminders(now: datetime | None = None, ahead: timedelta = timedelta(hours=24)) -> int:
    """Remind customers of confirmed bookings starting within `ahead`. A booking made less
    than `ahead` before its start gets none: its confirmation came just now and says the
    time. Each booking is claimed by a conditional UPDATE, so several machines running
    this at once send one reminder per booking."""
    now = now or utcnow()
    due = db.session.execute(
        sa.select(Booking.id, Booking.starts_dt, Booking.created_dt).where(
            Booking.status == BookingStatus.CONFIRMED,
            Booking.reminder_sent_dt.is_(None),
            Booking.assists_booking_id.is_(None),
            Booking.starts_dt > now,
            Booking.starts_dt <= now + ahead,
        )
    ).all()
    sent = 0
    for booking_id, starts_dt, created_dt in due:
        if starts_dt - created_dt < ahead:
            continue
        claim = db.session.execute(
            sa.update(Booking)
            .where(Booking.id == booking_id, Booking.reminder_sent_dt.is_(None))
            .values(reminder_sent_dt=now)
        )
        # an UPDATE without RETURNING answers with the cursor, which counts the rows it changed
        assert isinstance(claim, sa.CursorResult)
        if claim.rowcount:
            booking = db.session.get_one(Booking, booking_id)
            db.session.refresh(booking)
            notify.booking_event(booking, "reminder")
            sent += 1
    db.session.flush()
    return sent
