"""Invites and feeds parse in two independent libraries and keep the exact instants."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import vobject
from icalendar import Calendar

from sharehub.booking import services
from sharehub.booking.models import Booking
from sharehub.calendar.ics import invite
from sharehub.calendar.models import CalendarFeed
from tests.support.clock import at, workday


@pytest.fixture
def booking(db, lab, make_listing, make_org, make_user):
    org = make_org(name="采购企业")
    user = make_user(org, email="buyer@example.cn")
    listing = make_listing(lab, approval_required=False, name="电感耦合等离子体发射光谱仪")
    b = services.create_booking(
        user,
        org,
        listing,
        services.BookingRequest(starts_dt=at(workday(), 8, 30), ends_dt=at(workday(), 10, 30)),
    )
    db.session.commit()
    return b


def test_request_round_trips_through_two_parsers(booking):
    body = invite(booking, "REQUEST")
    cal = Calendar.from_ical(body)
    assert cal["METHOD"] == "REQUEST"
    tz = [c for c in cal.walk("VTIMEZONE")]
    assert tz and tz[0]["TZID"] == "Asia/Shanghai"
    event = cal.walk("VEVENT")[0]
    assert event["UID"] == booking.uid and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == booking.starts_dt
    assert "电感耦合" in str(event["SUMMARY"])
    parsed = vobject.readOne(body.decode())
    vevent = parsed.vevent
    assert vevent.dtstart.value.astimezone(UTC) == booking.starts_dt
    assert vevent.dtend.value.astimezone(UTC) == booking.ends_dt
    assert vevent.uid.value == booking.uid
    assert "TZID=Asia/Shanghai" in body.decode()


def test_midnight_in_shanghai_is_the_previous_day_in_utc(booking, db):
    booking.starts_dt = at(workday(), 0, 0)
    booking.ends_dt = booking.starts_dt + timedelta(hours=1)
    body = invite(booking, "REQUEST").decode()
    assert re.search(r"DTSTART;TZID=Asia/Shanghai:\d{8}T000000", body)
    start = vobject.readOne(body).vevent.dtstart.value.astimezone(UTC)
    assert start.hour == 16 and start.date() == (booking.starts_dt - timedelta(days=1)).date()


def test_cancel_increments_the_sequence(booking, db):
    user = booking.customer_user
    services.cancel(user, booking)
    body = invite(booking, "CANCEL")
    cal = Calendar.from_ical(body)
    event = cal.walk("VEVENT")[0]
    assert cal["METHOD"] == "CANCEL" and event["STATUS"] == "CANCELLED"
    assert int(event["SEQUENCE"]) == 1
    assert vobject.readOne(body.decode()).vevent.sequence.value == "1"


def test_new_york_viewer_across_dst_sees_the_same_instant(booking):
    """The instant is unchanged in New York; only the clock differs, by US summer time
    (second Sunday of March to first Sunday of November, counted here by hand)."""
    from datetime import date
    from zoneinfo import ZoneInfo

    event = vobject.readOne(invite(booking, "REQUEST").decode()).vevent
    new_york = event.dtstart.value.astimezone(ZoneInfo("America/New_York"))
    assert new_york.astimezone(UTC) == booking.starts_dt

    def sunday(year: int, month: int, nth: int) -> date:
        first = date(year, month, 1)
        return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (nth - 1))

    day = new_york.date()
    summer = sunday(day.year, 3, 2) < day < sunday(day.year, 11, 1)
    assert new_york.utcoffset() == timedelta(hours=-4 if summer else -5)


def test_private_feeds_and_busy_feed(client, db, booking, lab, lab_manager, login):
    user = booking.customer_user
    login(user)
    client.post("/account/calendar", data={"scope": "user", "action": "create"})
    feed = db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.user_id == user.id))
    client.post("/account/signout")
    body = client.get(f"/calendar/feed/{feed.token}.ics")
    assert body.headers["Content-Type"].startswith("text/calendar")
    events = Calendar.from_ical(body.get_data()).walk("VEVENT")
    assert [e["UID"] for e in events] == [booking.uid]
    assert client.get("/calendar/feed/not-a-token.ics").status_code == 404
    # renewing revokes the old address
    login(user)
    client.post("/account/calendar", data={"scope": "user", "action": "create"})
    assert client.get(f"/calendar/feed/{feed.token}.ics").status_code == 404
    client.post("/account/signout")
    # a lab feed needs a lab manager
    login(user)
    assert client.post("/account/calendar", data={"scope": "lab"}).status_code == 403
    client.post("/account/signout")
    busy = client.get(f"/catalog/{booking.listing_id}/busy.ics").get_data(as_text=True)
    assert "Busy" in busy and "采购企业" not in busy and booking.uid in busy


def test_every_booking_has_a_unique_uid(db, booking):
    assert db.session.scalar(sa.select(sa.func.count(sa.distinct(Booking.uid)))) == 1
    assert booking.uid.endswith("@sharehub.cn")
    assert datetime.now(UTC) < booking.starts_dt
