"""Moves the lab proposes and the customer accepts or refuses, through reschedule, so they
obey the same rules and the same database constraint."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import User
from sharehub.booking import notify, services
from sharehub.booking.models import Booking
from sharehub.core import audit
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict
from sharehub.extensions import db


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
