"""Free time of a unit: opening hours, minus public holidays (with make-up working days),
minus outages, bookings, imported busy times and, on listings that block them, the days
a unit's certificate is overdue or failed (sharehub/calibration).

All arithmetic is on aware datetimes; days are local days in the lab's zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from sharehub.calibration.queries import blocked_intervals
from sharehub.catalog.models import Holiday, Listing, Outage, Unit
from sharehub.core.clock import LAB_TZ, utcnow
from sharehub.extensions import db

Interval = tuple[datetime, datetime]


def holidays_between(start: date, end: date) -> dict[date, bool]:
    """{day: is_workday} for the official schedule between two dates (inclusive)."""
    rows = db.session.execute(
        sa.select(Holiday.day, Holiday.is_workday).where(Holiday.day.between(start, end))
    )
    return dict(rows.all())


def opening_intervals(
    listing: Listing, start: datetime, end: datetime, holidays: dict[date, bool] | None = None
) -> list[Interval]:
    """Opening hours between start and end as UTC-aware intervals.

    A holiday closes the day; a make-up working day (调休) opens with Monday's hours.
    """
    first, last = start.astimezone(LAB_TZ).date(), end.astimezone(LAB_TZ).date()
    if holidays is None:
        holidays = holidays_between(first, last)
    hours: dict[int, list[tuple[int, int]]] = {}
    for interval in listing.opening_hours:
        hours.setdefault(interval.weekday, []).append((interval.start_minute, interval.end_minute))
    result: list[Interval] = []
    day = first
    while day <= last:
        special = holidays.get(day)
        if special is None:
            spans = hours.get(day.weekday(), [])
        elif special:  # make-up working day
            spans = hours.get(day.weekday(), []) or hours.get(0, [])
        else:
            spans = []
        midnight = datetime.combine(day, time(), LAB_TZ)
        for start_minute, end_minute in sorted(spans):
            a = (midnight + timedelta(minutes=start_minute)).astimezone(LAB_TZ)
            b = (midnight + timedelta(minutes=end_minute)).astimezone(LAB_TZ)
            a, b = max(a, start), min(b, end)
            if a < b:
                result.append((a, b))
        day += timedelta(days=1)
    return result


def subtract(free: list[Interval], busy: Iterable[Interval]) -> list[Interval]:
    """free minus busy; both lists of [start, end) intervals, free sorted and disjoint."""
    busy = sorted(busy)
    result = []
    for a, b in free:
        cursor = a
        for c, d in busy:
            if d <= cursor or c >= b:
                continue
            if c > cursor:
                result.append((cursor, c))
            cursor = max(cursor, d)
            if cursor >= b:
                break
        if cursor < b:
            result.append((cursor, b))
    return result


def merge(intervals: list[Interval]) -> list[Interval]:
    """Join touching or overlapping intervals (a 24-hour day runs into the next)."""
    merged: list[Interval] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def busy_intervals(
    unit: Unit, start: datetime, end: datetime, exclude_booking_id: int | None = None
) -> list[Interval]:
    """What blocks the unit: outages, imported busy times, the days a blocking listing's
    unit is unfit for its certificates, and holding bookings widened by the buffer on both
    sides (a new booking keeps the buffer before and after its neighbours)."""
    from sharehub.booking.models import HOLDING, Booking
    from sharehub.calendar.models import ExternalBusy

    buffer = timedelta(minutes=unit.listing.buffer_minutes)
    # One statement, one round trip: the bookings (marked 1, widened by the buffer below),
    # the outages and the imported busy times (0). Each part keeps its own index.
    bookings = sa.select(
        Booking.starts_dt, Booking.blocked_until_dt, sa.literal_column("1").label("is_booking")
    ).where(
        Booking.unit_id == unit.id,
        Booking.status.in_(HOLDING),
        Booking.starts_dt < end + buffer,
        Booking.blocked_until_dt > start,
    )
    if exclude_booking_id is not None:
        bookings = bookings.where(Booking.id != exclude_booking_id)
    outages = sa.select(Outage.starts_dt, Outage.ends_dt, sa.literal_column("0")).where(
        Outage.unit_id == unit.id, Outage.starts_dt < end, Outage.ends_dt > start
    )
    imported = sa.select(
        ExternalBusy.starts_dt, ExternalBusy.ends_dt, sa.literal_column("0")
    ).where(
        ExternalBusy.unit_id == unit.id,
        ExternalBusy.starts_dt < end,
        ExternalBusy.ends_dt > start,
    )
    rows = db.session.execute(sa.union_all(bookings, outages, imported)).all()
    return [(a - buffer, b) if is_booking else (a, b) for a, b, is_booking in rows] + (
        blocked_intervals(unit, start, end)
    )


def free_intervals(
    unit: Unit,
    start: datetime,
    end: datetime,
    holidays: dict[date, bool] | None = None,
    exclude_booking_id: int | None = None,
) -> list[Interval]:
    opening = merge(opening_intervals(unit.listing, start, end, holidays))
    return subtract(opening, busy_intervals(unit, start, end, exclude_booking_id))


def has_free_block(
    listing: Listing,
    start: datetime,
    end: datetime,
    minutes: int,
    holidays: dict[date, bool] | None = None,
) -> bool:
    """True if some active unit is free for `minutes` in one piece between start and end."""
    need = timedelta(minutes=minutes)
    for unit in listing.units:
        if not unit.is_active:
            continue
        for a, b in free_intervals(unit, start, end, holidays):
            if b - a >= need:
                return True
    return False


def week_preview(listing: Listing, start: datetime, days: int = 7):
    """Per local day, the free intervals of the listing's first active unit (for its page)."""
    unit = next((u for u in listing.units if u.is_active), None)
    first = start.astimezone(LAB_TZ).date()
    end = datetime.combine(first + timedelta(days=days), time(), LAB_TZ)
    free = free_intervals(unit, start, end) if unit else []
    by_day: dict[date, list[Interval]] = {first + timedelta(days=n): [] for n in range(days)}
    for a, b in free:
        by_day[a.astimezone(LAB_TZ).date()].append((a, b))
    return by_day


def grid_starts(
    listing: Listing, start: datetime, end: datetime, holidays: dict[date, bool] | None = None
) -> list[datetime]:
    """Possible booking starts: every slot from the beginning of each opening interval
    (hourly slots of a 13:30 opening fall on 13:30, 14:30 ...)."""
    step = timedelta(minutes=listing.slot_minutes)
    day_start = datetime.combine(start.astimezone(LAB_TZ).date(), time(), LAB_TZ)
    points = []
    for a, b in opening_intervals(listing, day_start, end, holidays):
        cursor = a
        while cursor < b:
            if start <= cursor < end:
                points.append(cursor)
            cursor += step
    return points


def fitting_starts(
    unit: Unit,
    points: list[datetime],
    minutes: int,
    start: datetime,
    end: datetime,
    holidays=None,
    exclude_booking_id=None,
) -> list[datetime]:
    """Grid points at which the unit is free for `minutes` without a break."""
    need = timedelta(minutes=minutes)
    free = free_intervals(unit, start, end + need, holidays, exclude_booking_id)
    return [p for p in points if any(a <= p and p + need <= b for a, b in free)]


def bookable_window(listing: Listing, start: datetime, end: datetime) -> Interval:
    """[start, end) cut to what the listing lets one book now: after its lead time and
    within its horizon (empty when end <= start)."""
    now = utcnow()
    return (
        max(start, now + timedelta(hours=listing.lead_hours)),
        min(end, now + timedelta(days=listing.horizon_days)),
    )


def free_starts(
    listing: Listing,
    start: datetime,
    end: datetime,
    minutes: int,
    holidays: dict[date, bool] | None = None,
) -> list[datetime]:
    """The times, in order, at which a booking of `minutes` may start between start and
    end on any active unit of the listing, within its lead time and horizon: the calendar
    page, the API's availability and the alternatives offered after a conflict."""
    start, end = bookable_window(listing, start, end)
    if end <= start:
        return []
    if holidays is None:
        first, last = start.astimezone(LAB_TZ).date(), end.astimezone(LAB_TZ).date()
        holidays = holidays_between(first - timedelta(days=1), last + timedelta(days=1))
    points = grid_starts(listing, start, end, holidays)
    found: set[datetime] = set()
    for unit in listing.units:
        if unit.is_active:
            found.update(fitting_starts(unit, points, minutes, start, end, holidays))
    return sorted(found)


def free_listing_ids(listings, first: date, last: date, minutes: int) -> list[int]:
    """The ids of these listings (in their order) with `minutes` free in one block between
    the start of `first` and the end of `last` (Beijing days), from now on; datasets are
    always free."""
    from sharehub.catalog.models import ListingKind

    start = max(datetime.combine(first, time(), LAB_TZ), utcnow())
    end = datetime.combine(last + timedelta(days=1), time(), LAB_TZ)
    holidays = holidays_between(start.date(), end.date())
    return [
        listing.id
        for listing in listings
        if listing.kind == ListingKind.DATASET
        or has_free_block(listing, start, end, minutes, holidays)
    ]
