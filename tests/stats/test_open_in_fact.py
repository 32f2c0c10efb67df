"""Open in fact, against a hand computation: the week of 9 to 13 March 2026 (Monday to
Friday, no holiday), a listing open 08:30-12:00 and 13:30-17:30 (450 minutes a day), so
each unit declares 5 x 450 = 2,250 minutes (37.5 h).

Unit 1 loses 90 minutes to an outage on Tuesday 11:00-14:00 (11:00-12:00 and 13:30-14:00
inside the opening hours) and 180 minutes to internal bookings (the host's school on
Wednesday 08:30-10:30, the lab itself on Thursday 09:00-10:00; a cancelled one does not
count): 2,250 - 90 - 180 = 1,980 minutes open to outsiders, 1,980 / 2,250 = 88 %.

External requests made in the week: A (Monday 09:00 for Thursday 14:00, 77 h), B
(Monday 10:00 for Friday 14:00, 100 h, declined), C (Tuesday 09:00 for Tuesday 15:30,
6.5 h), D (Wednesday 08:00 for Wednesday 14:30, 6.5 h): 1 of 4 declined (25 %); the
median wait is (6.5 + 77) / 2 = 41.75 h, shown 41.8.
"""

from datetime import date
from fractions import Fraction

import pytest

from sharehub.accounts.models import OrgKind, Role
from sharehub.booking.models import BookingStatus
from sharehub.catalog.models import Outage, OutageKind
from sharehub.stats.openness import open_in_fact
from sharehub.stats.sql import Filters
from tests.support.stats import local

START, END = date(2026, 3, 9), date(2026, 3, 14)
EN = {"Accept-Language": "en"}


@pytest.fixture
def week(db, make_org, make_listing, make_booking):
    university = make_org(name="苏州理工大学")
    lab = make_org(kind=OrgKind.LAB, name="依托实验室", host_org=university)
    school = make_org(name="材料学院", host_org=university)
    firm = make_org(name="企业甲")
    listing = make_listing(lab, units=2)
    unit, idle = listing.units
    db.session.add(
        Outage(
            unit_id=unit.id,
            kind=OutageKind.MAINTENANCE,
            starts_dt=local("2026-03-10 11:00"),
            ends_dt=local("2026-03-10 14:00"),
        )
    )
    make_booking(unit, school, "2026-03-11 08:30", "2026-03-11 10:30", BookingStatus.CONFIRMED)
    make_booking(unit, lab, "2026-03-12 09:00", "2026-03-12 10:00")
    make_booking(unit, school, "2026-03-13 09:00", "2026-03-13 10:00", BookingStatus.CANCELLED)
    S = BookingStatus
    for starts, ends, status, created in (
        ("2026-03-12 14:00", "2026-03-12 15:00", S.CONFIRMED, "2026-03-09 09:00"),
        ("2026-03-13 14:00", "2026-03-13 15:00", S.DECLINED, "2026-03-09 10:00"),
        ("2026-03-10 15:30", "2026-03-10 16:30", S.COMPLETED, "2026-03-10 09:00"),
        ("2026-03-11 14:30", "2026-03-11 15:30", S.CONFIRMED, "2026-03-11 08:00"),
    ):
        make_booking(unit, firm, starts, ends, status, created=created)
    # requested before the week: not among the week's requests
    make_booking(
        unit, firm, "2026-03-09 14:30", "2026-03-09 15:30", S.COMPLETED, created="2026-03-01 09:00"
    )
    db.session.commit()
    return lab, unit, idle


def test_open_in_fact_matches_the_hand_computation(db, week):
    lab, unit, idle = week
    figures = open_in_fact(START, END, "unit", Filters(lab_ids=[lab.id]))
    one = figures[unit.id]
    assert (one.opening_s, one.outage_s, one.internal_s) == (2250 * 60, 90 * 60, 180 * 60)
    assert one.open_share == Fraction(1980, 2250)
    assert (one.external_requests, one.declined) == (4, 1)
    assert one.declined_share == Fraction(1, 4)
    assert one.median_wait_hours == Fraction(4175, 100)
    assert {k: str(v) for k, v in one.shown().items()} == {
        "opening_hours": "37.5",
        "open_hours": "33.0",
        "open_percent": "88.0",
        "external_requests": "4",
        "declined": "1",
        "declined_percent": "25.0",
        "median_wait_hours": "41.8",
    }
    other = figures[idle.id]
    assert other.open_share == 1 and other.declined_share is None
    assert other.median_wait_hours is None
    # the lab: both units' opening time, 4,500 minutes, of which 4,230 open (94 %)
    whole = open_in_fact(START, END, "lab", Filters(lab_ids=[lab.id]))[lab.id]
    assert whole.open_share == Fraction(4230, 4500)
    assert str(whole.shown()["open_percent"]) == "94.0"


def test_the_pages_show_the_figures_to_those_who_may_see_them(
    client, db, week, platform_admin, make_org, make_user, login
):
    lab, unit, _idle = week
    args = "?period=range&from=2026-03-09&to=2026-03-13"
    login(platform_admin)
    page = client.get(f"/stats/open-in-fact{args}", headers=EN).get_data(as_text=True)
    assert f'id="open-{lab.id}"' in page and 'data-open="94.0"' in page
    page = client.get(f"/stats/labs/{lab.id}/open-in-fact{args}", headers=EN)
    text = page.get_data(as_text=True)
    assert 'data-open="88.0"' in text and 'data-declined="25.0"' in text
    assert 'data-wait="41.8"' in text
    client.post("/account/signout")
    login(make_user(make_org(kind=OrgKind.LAB, name="别的实验室"), role=Role.MANAGER))
    assert client.get(f"/stats/labs/{lab.id}/open-in-fact").status_code == 404
    assert client.get("/stats/open-in-fact").status_code == 403
    client.post("/account/signout")
    assert client.get("/stats/open-in-fact").status_code == 302
