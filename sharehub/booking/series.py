"""Weekly series: the same time booked for several weeks through create_booking, each
occurrence on its own, so a conflict in one week leaves the others booked."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, User
from sharehub.booking import services
from sharehub.booking.models import Booking
from sharehub.catalog.models import Listing
from sharehub.core.errors import DomainError, ValidationError
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
