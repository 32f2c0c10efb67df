"""Free time: opening hours, holidays and make-up working days, outages, zone boundaries."""

from datetime import date, datetime, time, timedelta

import pytest

from sharehub.booking.availability import LAB_TZ, free_intervals, opening_intervals, subtract
from sharehub.catalog.models import Holiday, Outage, OutageKind


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), LAB_TZ)


def test_subtract():
    d = date(2026, 12, 7)
    free = [(at(d, 8), at(d, 12)), (at(d, 13), at(d, 17))]
    busy = [(at(d, 9), at(d, 10)), (at(d, 11, 30), at(d, 13, 30)), (at(d, 16), at(d, 18))]
    assert subtract(free, busy) == [
        (at(d, 8), at(d, 9)),
        (at(d, 10), at(d, 11, 30)),
        (at(d, 13, 30), at(d, 16)),
    ]
    assert subtract(free, []) == free


def test_seeded_calendar_closes_national_day_and_opens_make_up_saturday(db, lab, make_listing):
    listing = make_listing(lab)
    # 2026-10-01 (Thursday) is National Day; 2026-09-20 (Sunday) a make-up working day.
    assert opening_intervals(listing, at(date(2026, 10, 1), 0), at(date(2026, 10, 2), 0)) == []
    sunday = date(2026, 9, 20)
    spans = opening_intervals(listing, at(sunday, 0), at(sunday + timedelta(days=1), 0))
    assert spans == [(at(sunday, 8, 30), at(sunday, 12)), (at(sunday, 13, 30), at(sunday, 17, 30))]
    plain_sunday = date(2026, 9, 27)
    assert opening_intervals(listing, at(plain_sunday, 0), at(plain_sunday, 23)) == []


def test_admin_edited_holiday_is_respected(db, lab, make_listing):
    listing = make_listing(lab)
    day = date(2027, 3, 10)  # an ordinary Wednesday
    assert len(opening_intervals(listing, at(day, 0), at(day, 23))) == 2
    db.session.add(Holiday(day=day, is_workday=False, name="实验室所在地临时停工"))
    db.session.commit()
    assert opening_intervals(listing, at(day, 0), at(day, 23)) == []


def test_midnight_in_shanghai_is_the_day_boundary(db, lab, make_listing):
    """A 24-hour Monday: in UTC the day runs from Sunday 16:00 to Monday 16:00."""
    listing = make_listing(lab, hours=[(0, 0, 1440)])
    monday = date(2026, 12, 7)
    spans = opening_intervals(
        listing, at(monday, 0) - timedelta(hours=12), at(monday, 0) + timedelta(days=2)
    )
    assert spans == [(at(monday, 0), at(monday + timedelta(days=1), 0))]
    assert spans[0][0].isoformat().startswith("2026-12-07T00:00:00+08:00")


def test_outages_block_only_their_unit(db, lab, make_listing):
    listing = make_listing(lab, units=2)
    first, second = listing.units
    day = date(2026, 12, 8)
    db.session.add(
        Outage(unit=first, kind=OutageKind.MAINTENANCE, starts_dt=at(day, 10), ends_dt=at(day, 15))
    )
    db.session.commit()
    assert free_intervals(first, at(day, 0), at(day, 23)) == [
        (at(day, 8, 30), at(day, 10)),
        (at(day, 15), at(day, 17, 30)),
    ]
    assert len(free_intervals(second, at(day, 0), at(day, 23))) == 2


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin"])
def test_intervals_are_the_same_instants_for_viewers_elsewhere(db, lab, make_listing, zone):
    from zoneinfo import ZoneInfo

    listing = make_listing(lab)
    day = date(2026, 11, 2)  # the day after the US leaves summer time
    start = datetime.combine(day, time(0), ZoneInfo(zone)) - timedelta(days=1)
    spans = opening_intervals(listing, start, start + timedelta(days=3))
    assert all(a.astimezone(LAB_TZ).time() in (time(8, 30), time(13, 30)) for a, _ in spans)


def test_week_preview_has_seven_local_days(db, lab, make_listing):
    from sharehub.booking.availability import week_preview

    listing = make_listing(lab)
    late_evening = at(date(2026, 12, 7), 22, 50)  # Monday, after closing
    preview = week_preview(listing, late_evening)
    assert list(preview) == [date(2026, 12, 7) + timedelta(days=n) for n in range(7)]
    assert preview[date(2026, 12, 7)] == []
    assert preview[date(2026, 12, 8)][0] == (
        at(date(2026, 12, 8), 8, 30),
        at(date(2026, 12, 8), 12),
    )
