"""The waiting list: who waits for a taken time, and the hold the first in line gets when
the time frees (booking/signals.py `slot_freed`)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, User
from sharehub.booking import notify, services
from sharehub.booking.models import Booking, BookingStatus, WaitlistEntry
from sharehub.booking.signals import slot_freed
from sharehub.catalog.models import Listing
from sharehub.core import audit
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, DomainError, PermissionDenied
from sharehub.extensions import db


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


@slot_freed.connect
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
        notify.booking_event_later(booking, "offered")  # after its "created", in order
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
