"""Training sessions are bookings of the trainers' time: the lab's trainers are the units
of an expert-time listing, booked through the one booking service, so a trainer is never
booked twice and the session is priced and invoiced like any booking."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, User
from sharehub.booking import services
from sharehub.booking.models import Booking
from sharehub.competence.models import TrainingRequest
from sharehub.competence.services import check_session_booking, session_booked


def book_session(
    actor: User, customer: Organisation, training: TrainingRequest, starts: datetime, ends: datetime
) -> Booking:
    listing = check_session_booking(actor, training)
    booking = services.create_booking(
        actor,
        customer,
        listing,
        services.BookingRequest(
            starts_dt=starts,
            ends_dt=ends,
            purpose=str(_l("Training: %(name)s", name=training.requirement.name)),
        ),
    )
    session_booked(actor, training, booking.id)
    return booking
