"""Property-based checks of the availability engine against a minute-by-minute model.

For random opening hours, holidays, outages, imported busy times and bookings (with a
buffer), the free intervals equal what a naive model computes, and no free minute ever
overlaps anything that blocks the unit. The same examples run on both databases.
"""

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharehub.booking.availability import LAB_TZ, free_intervals
from sharehub.booking.models import Booking, BookingStatus
from sharehub.calendar.models import ExternalBusy, ExternalCalendar
from sharehub.catalog.models import (
    Field,
    Holiday,
    Listing,
    ListingKind,
    ListingStatus,
    OpeningInterval,
    Outage,
    OutageKind,
    PriceUnit,
    Unit,
)

MONDAY = date(2027, 3, 8)  # no official holiday that week
START = datetime.combine(MONDAY, time(), LAB_TZ)
DAYS = 4
SLOT = 30  # minutes; everything is generated on this grid to keep examples small

minute = st.integers(min_value=0, max_value=DAYS * 48 - 1).map(lambda n: n * SLOT)
span = st.tuples(minute, st.integers(min_value=1, max_value=12).map(lambda n: n * SLOT))
hours = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 46), st.integers(1, 8)), max_size=6)


def at_minute(m: int) -> datetime:
    return START + timedelta(minutes=m)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    opening=hours,
    holidays=st.lists(st.integers(0, DAYS - 1), max_size=2, unique=True),
    outages=st.lists(span, max_size=3),
    imported=st.lists(span, max_size=3),
    bookings=st.lists(span, max_size=4),
    buffer=st.sampled_from([0, 30, 60]),
)
def test_free_time_matches_the_minute_model(
    db, lab_id, opening, holidays, outages, imported, bookings, buffer
):
    from sharehub.accounts.models import Organisation

    db.session.expunge_all()  # every example starts from the committed state
    lab = customer = db.session.get(Organisation, lab_id)
    with db.session.begin_nested() as savepoint:
        listing = Listing(
            lab=lab,
            kind=ListingKind.EQUIPMENT,
            status=ListingStatus.PUBLISHED,
            name="性质测试",
            field=Field.NEW_MATERIALS,
            category_code="020303",
            price_unit=PriceUnit.HOUR,
            price_external=0,
            price_internal=0,
            buffer_minutes=buffer,
            units=[Unit(name="#1")],
        )
        db.session.add(listing)
        spans = []
        for weekday, start_slot, length in opening:
            start = start_slot * SLOT
            end = min(1440, start + length * SLOT)
            if all(end <= a or start >= b for w, a, b in spans if w == weekday):
                spans.append((weekday, start, end))
                listing.opening_hours.append(
                    OpeningInterval(weekday=weekday, start_minute=start, end_minute=end)
                )
        for offset in holidays:
            db.session.add(Holiday(day=MONDAY + timedelta(days=offset), is_workday=False))
        unit = listing.units[0]
        db.session.flush()
        blocked: set[int] = set()
        for a, length in outages:
            db.session.add(
                Outage(
                    unit=unit,
                    kind=OutageKind.MAINTENANCE,
                    starts_dt=at_minute(a),
                    ends_dt=at_minute(a + length),
                )
            )
            blocked.update(range(a, a + length))
        calendar = ExternalCalendar(unit_id=unit.id, name="x")
        db.session.add(calendar)
        db.session.flush()
        for a, length in imported:
            db.session.add(
                ExternalBusy(
                    calendar_id=calendar.id,
                    unit_id=unit.id,
                    starts_dt=at_minute(a),
                    ends_dt=at_minute(a + length),
                )
            )
            blocked.update(range(a, a + length))
        placed: list[tuple[int, int]] = []
        for n, (a, length) in enumerate(bookings):
            b = a + length
            if any(a < pb + buffer and pa < b + buffer for pa, pb in placed):
                continue  # the database would refuse it; keep only valid bookings
            placed.append((a, b))
            db.session.add(
                Booking(
                    uid=f"p{n}@sharehub.cn",
                    listing=listing,
                    unit=unit,
                    customer_org=customer,
                    starts_dt=at_minute(a),
                    ends_dt=at_minute(b),
                    blocked_until_dt=at_minute(b + buffer),
                    status=BookingStatus.CONFIRMED,
                    price_tier="external",
                    net_amount=0,
                    vat_rate_bp=600,
                    vat_amount=0,
                    gross_amount=0,
                )
            )
            blocked.update(range(a - buffer, b + buffer))
        db.session.flush()
        db.session.expire(listing, ["opening_hours"])

        open_minutes = set()
        for day in range(DAYS):
            if day in holidays:
                continue
            for weekday, start, end in spans:
                if weekday == (MONDAY + timedelta(days=day)).weekday():
                    open_minutes.update(range(day * 1440 + start, day * 1440 + end))
        expected = open_minutes - blocked

        free = free_intervals(unit, START, START + timedelta(days=DAYS))
        got = set()
        for a, b in free:
            first = int((a - START).total_seconds() // 60)
            last = int((b - START).total_seconds() // 60)
            assert not got & set(range(first, last)), "free intervals overlap each other"
            got.update(range(first, last))
        assert not got & blocked
        assert got == expected
        savepoint.rollback()
    db.session.expunge_all()


@pytest.fixture
def lab_id(lab):
    return lab.id
