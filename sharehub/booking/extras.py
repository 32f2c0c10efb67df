"""Weekly series, the waitlist, and moves the lab proposes — all through create_booking
and reschedule, so they obey the same rules and the same database constraint."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, User
from sharehub.booking import notify, services
from sharehub.booking.models import Booking, BookingStatus, WaitlistEntry
from sharehub.catalog.models import Listing
from sharehub.core import audit
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, DomainError, PermissionDenied, ValidationError
from sharehub.extensions import db

MAX_WEEKS = 26


@dataclass
class Occurrence:
    starts_dt: datetime
    ends_dt: datetime
    booking: Booking | None = None
    problem: str = ""


def book_weekly(
    actor: User,
    customer: Organisation,
    listing: Listing,
    request: services.BookingRequest,
    weeks: int,
) -> list[Occurrence]:
    """Book the same time for `weeks` weeks; occurrences that conflict are reported with
    the reason and the others are booked (each in its own savepoint)."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValidationError(_l("A series has 1 to %(n)s weeks.", n=MAX_WEEKS), field="weeks")
    series_uid = f"{uuid.uuid4()}@sharehub.cn"
    result = []
    for week in range(weeks):
        shift = timedelta(days=7 * week)
        occurrence = Occurrence(request.starts_dt + shift, request.ends_dt + shift)
        try:
            with db.session.begin_nested():
                occurrence.booking = services.create_booking(
                    actor,
                    customer,
                    listing,
                    replace(request, starts_dt=occurrence.starts_dt, ends_dt=occurrence.ends_dt),
                    series_uid=series_uid,
                )
        except DomainError as exc:
            occurrence.problem = str(exc.message)
        result.append(occurrence)
    return result


def join_waitlist(
    actor: User, customer: Organisation, listing: Listing, starts: datetime, ends: datetime
) -> WaitlistEntry:
    if actor.membership_in(customer) is None:
        raise PermissionDenied(_l("You do not act for this organisation."))
    services.check_rules(listing, starts, ends)
    if any(services._is_free(u, starts, ends) for u in listing.units if u.is_active):
        raise Conflict(_l("This time is free: book it instead of waiting."))
    entry = WaitlistEntry(
        listing_id=listing.id,
        customer_org_id=customer.id,
        user_id=actor.id,
        starts_dt=starts,
        ends_dt=ends,
    )
    db.session.add(entry)
    db.session.flush()
    audit.record(actor, "waitlist.joined", entry, organisation=listing.lab_id)
    db.session.flush()
    return entry


def offer_freed_slot(freed: Booking) -> Booking | None:
    """After a holding booking ends early (cancelled, declined, expired), the first person
    waiting for an overlapping time gets a pending booking that holds it for a while."""
    hours = current_app.config.get("WAITLIST_HOLD_HOURS", 24)
    entries = db.session.scalars(
        sa.select(WaitlistEntry)
        .where(
            WaitlistEntry.listing_id == freed.listing_id,
            WaitlistEntry.status == "waiting",
            WaitlistEntry.starts_dt < freed.ends_dt,
            WaitlistEntry.ends_dt > freed.starts_dt,
            WaitlistEntry.starts_dt > utcnow(),
        )
        .order_by(WaitlistEntry.id)
    ).all()
    for entry in entries:
        try:
            with db.session.begin_nested():
                booking = services.create_booking(
                    entry.user,
                    db.session.get(Organisation, entry.customer_org_id),
                    freed.listing,
                    services.BookingRequest(entry.starts_dt, entry.ends_dt),
                )
                if booking.status == BookingStatus.CONFIRMED:  # the customer confirms the offer
                    services.transition(None, booking, "offer", waitlist_entry=entry.id)
                booking.hold_expires_dt = min(utcnow() + timedelta(hours=hours), booking.starts_dt)
                db.session.flush()
        except DomainError:
            continue
        entry.status, entry.booking_id, entry.offered_dt = "offered", booking.id, utcnow()
        audit.record(
            None, "waitlist.offered", entry, organisation=freed.listing.lab_id, booking=booking.id
        )
        notify.booking_event(booking, "offered")
        db.session.flush()
        return booking
    return None


def accept_offer(actor: User, booking: Booking) -> None:
    """The waitlisted customer takes the held slot of an instant listing."""
    entry = db.session.scalar(
        sa.select(WaitlistEntry).where(WaitlistEntry.booking_id == booking.id)
    )
    if entry is None:
        raise PermissionDenied(_l("You may not change this booking."))
    services.transition(actor, booking, "accept_offer")
    booking.decided_dt = utcnow()
    entry.status = "booked"
    notify.booking_event(booking, "confirmed")
    db.session.flush()


def propose_move(actor: User, booking: Booking, starts: datetime, ends: datetime) -> None:
    """The lab proposes a new time; nothing moves until the customer accepts."""
    services.check(actor, booking, "propose_move")
    services.check_rules(
        booking.listing, starts, ends, now=utcnow() - timedelta(hours=booking.listing.lead_hours)
    )  # the lab may propose inside the lead time
    if not services._is_free(booking.unit, starts, ends, exclude_booking_id=booking.id):
        raise Conflict(_l("This time is not free."))
    booking.proposed_starts_dt, booking.proposed_ends_dt = starts, ends
    audit.record(
        actor,
        "booking.move_proposed",
        booking,
        organisation=booking.listing.lab_id,
        starts=starts.isoformat(),
        ends=ends.isoformat(),
    )
    notify.booking_event(booking, "proposed")
    db.session.flush()


def answer_proposal(actor: User, booking: Booking, accept: bool) -> None:
    services.check(actor, booking, "answer_proposal")
    starts, ends = booking.proposed_starts_dt, booking.proposed_ends_dt
    booking.proposed_starts_dt = booking.proposed_ends_dt = None
    if accept:
        services.move(booking, starts, ends, actor)
    audit.record(
        actor,
        "booking.move_accepted" if accept else "booking.move_refused",
        booking,
        organisation=booking.listing.lab_id,
    )
    db.session.flush()
