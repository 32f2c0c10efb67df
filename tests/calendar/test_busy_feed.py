"""The public busy feed of a listing carries busy times and a generic summary only, and
nothing typed into the listing or the booking can add lines to it."""

import pytest
from icalendar import Calendar

from sharehub.booking import services
from sharehub.calendar.ics import new_calendar
from tests.support.clock import at, workday

PAYLOAD = "Evil\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:forged\r\nSUMMARY:PWNED\r\nX-INJECTED:1"


@pytest.fixture
def hostile_booking(db, lab, make_listing, make_org, make_user):
    org = make_org(name="采购企业" + PAYLOAD)
    user = make_user(org, email="busy-buyer@example.cn", name="买家" + PAYLOAD)
    listing = make_listing(
        lab,
        approval_required=False,
        name="光谱仪" + PAYLOAD,
        name_en="Spectrometer" + PAYLOAD,
        description=PAYLOAD,
        location=PAYLOAD,
        expert_name=PAYLOAD,
    )
    booking = services.create_booking(
        user,
        org,
        listing,
        services.BookingRequest(
            starts_dt=at(workday(), 8, 30), ends_dt=at(workday(), 10, 30), purpose=PAYLOAD
        ),
    )
    db.session.commit()
    return booking


def test_busy_feed_carries_only_busy_times_and_a_generic_summary(client, db, hostile_booking):
    response = client.get(f"/catalog/{hostile_booking.listing_id}/busy.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    body = response.get_data(as_text=True)
    for leaked in ("PWNED", "forged", "X-INJECTED", "Evil", "光谱仪", "采购企业", "买家"):
        assert leaked not in body
    cal = Calendar.from_ical(body)
    events = cal.walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    assert event["UID"] == hostile_booking.uid
    assert event.decoded("DTSTART") == hostile_booking.starts_dt
    assert event.decoded("DTEND") == hostile_booking.ends_dt
    assert str(event["SUMMARY"]) == "Busy / 已预约"
    allowed = {"UID", "DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "SUMMARY", "TRANSP"}
    assert set(event.keys()) <= allowed
    assert "DESCRIPTION" not in event and "LOCATION" not in event


def test_calendar_names_are_escaped_by_the_library():
    body = new_calendar(name="Lab" + PAYLOAD).to_ical().decode()
    assert "\r\nBEGIN:VEVENT" not in body and "\r\nX-INJECTED" not in body
    cal = Calendar.from_ical(body)
    assert cal.walk("VEVENT") == []
    assert str(cal["X-WR-CALNAME"]).endswith("X-INJECTED:1")
