"""Weekly series, the waitlist, lab-proposed moves and imported external calendars."""

import http.server
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.booking import extras, services
from sharehub.booking.availability import free_intervals
from sharehub.booking.models import Booking, BookingStatus, WaitlistEntry
from sharehub.calendar import imports
from sharehub.calendar.models import ExternalBusy
from sharehub.core.errors import Conflict, ValidationError
from sharehub.core.tx import commit
from tests.support.clock import at, is_workday, weekly_workdays, workday
from tests.support.postgres import free_port

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def buyer(make_org, make_user):
    org = make_org(name="采购企业")
    return org, make_user(org, email="buyer@example.cn")


def request(day, start=(8, 30), end=(10, 30)):
    return services.BookingRequest(starts_dt=at(day, *start), ends_dt=at(day, *end))


def test_weekly_series_books_the_free_weeks_and_reports_the_rest(db, lab, make_listing, buyer):
    listing = make_listing(lab, approval_required=False)
    org, user = buyer
    day = weekly_workdays(4)  # four working weeks: the one refusal is the blocker's
    blocker = services.create_booking(user, org, listing, request(day + timedelta(days=7)))
    occurrences = extras.book_weekly(user, org, listing, request(day), weeks=4)
    assert [bool(o.booking) for o in occurrences] == [True, False, True, True]
    assert "not free" in occurrences[1].problem
    series = {o.booking.series_uid for o in occurrences if o.booking}
    assert len(series) == 1 and blocker.series_uid is None
    with pytest.raises(ValidationError):
        extras.book_weekly(user, org, listing, request(day), weeks=0)


def test_waitlist_gets_the_freed_slot_with_a_hold(
    db, lab, lab_manager, make_listing, buyer, make_org, make_user, mailbox
):
    listing = make_listing(lab, approval_required=False)
    org, user = buyer
    day = workday()
    taken = services.create_booking(user, org, listing, request(day))
    other_org = make_org(name="候补企业")
    waiting = make_user(other_org, email="waiting@example.cn")
    with pytest.raises(Conflict):
        extras.join_waitlist(waiting, other_org, listing, at(day, 13, 30), at(day, 15, 30))
    entry = extras.join_waitlist(waiting, other_org, listing, at(day, 8, 30), at(day, 10, 30))
    db.session.commit()
    services.cancel(user, taken)
    commit()  # commits, then delivers the outbox
    entry = db.session.get(WaitlistEntry, entry.id)
    assert entry.status == "offered"
    offered = db.session.get(Booking, entry.booking_id)
    assert offered.status == BookingStatus.PENDING and offered.hold_expires_dt is not None
    assert "held for you" in mailbox.last_to("waiting@example.cn")["Subject"]
    extras.accept_offer(waiting, offered)
    assert offered.status == BookingStatus.CONFIRMED


def test_lab_proposes_a_move_the_customer_accepts(db, lab, lab_manager, make_listing, buyer):
    listing = make_listing(lab, approval_required=False)
    org, user = buyer
    day = workday()
    booking = services.create_booking(user, org, listing, request(day))
    with pytest.raises(Exception, match="may not|Only the laboratory"):
        extras.propose_move(user, booking, at(day, 13, 30), at(day, 15, 30))
    extras.propose_move(lab_manager, booking, at(day, 13, 30), at(day, 15, 30))
    assert booking.starts_dt == at(day, 8, 30)  # nothing moves yet
    extras.answer_proposal(user, booking, accept=True)
    assert (booking.starts_dt, booking.sequence) == (at(day, 13, 30), 1)
    assert booking.proposed_starts_dt is None


ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//EN
BEGIN:VEVENT
UID:weekly-maintenance@example.cn
DTSTART;TZID=Asia/Shanghai:{first}T090000
DTEND;TZID=Asia/Shanghai:{first}T110000
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE;TZID=Asia/Shanghai:{second}T090000
SUMMARY:Calibration
END:VEVENT
BEGIN:VEVENT
UID:weekly-maintenance@example.cn
RECURRENCE-ID;TZID=Asia/Shanghai:{third}T090000
DTSTART;TZID=Asia/Shanghai:{third}T140000
DTEND;TZID=Asia/Shanghai:{third}T160000
SUMMARY:Calibration (moved)
END:VEVENT
BEGIN:VEVENT
UID:free@example.cn
DTSTART;TZID=Asia/Shanghai:{first}T140000
DTEND;TZID=Asia/Shanghai:{first}T160000
TRANSP:TRANSPARENT
SUMMARY:Not blocking
END:VEVENT
END:VCALENDAR
"""


def ics_for(day):
    fmt = "%Y%m%d"
    return ICS.format(
        first=day.strftime(fmt),
        second=(day + timedelta(days=7)).strftime(fmt),
        third=(day + timedelta(days=14)).strftime(fmt),
    ).replace("\n", "\r\n")


def test_imported_calendar_expands_rrule_exdate_and_moved_occurrence(
    db, lab, lab_manager, make_listing
):
    listing = make_listing(lab)
    unit = listing.units[0]
    day = workday()  # a Monday whose next weeks are working weeks (no Golden Week)
    while day.weekday() != 0 or not all(is_workday(day + timedelta(weeks=k)) for k in range(4)):
        day += timedelta(days=1)
    calendar = imports.add_calendar(lab_manager, unit, name="维护日历", data=ics_for(day).encode())
    busy = sorted((b.starts_dt, b.ends_dt) for b in calendar.busy)
    assert busy == [
        (at(day, 9), at(day, 11)),
        (at(day + timedelta(days=14), 14), at(day + timedelta(days=14), 16)),
        (at(day + timedelta(days=21), 9), at(day + timedelta(days=21), 11)),
    ]
    free = free_intervals(unit, at(day, 0), at(day, 23, 59))
    assert free == [
        (at(day, 8, 30), at(day, 9)),
        (at(day, 11), at(day, 12)),
        (at(day, 13, 30), at(day, 17, 30)),
    ]


@pytest.mark.parametrize("payload", [b"not a calendar", b"BEGIN:VCARD\r\nEND:VCARD\r\n", b""])
def test_bad_ics_is_refused_and_keeps_previous_busy_times(
    db, lab, lab_manager, make_listing, payload
):
    listing = make_listing(lab)
    unit = listing.units[0]
    calendar = imports.add_calendar(
        lab_manager, unit, name="日历", data=ics_for(workday()).encode()
    )
    before = db.session.scalar(sa.select(sa.func.count(ExternalBusy.id)))
    with pytest.raises(ValidationError):
        imports.replace_busy(calendar, payload)
    assert db.session.scalar(sa.select(sa.func.count(ExternalBusy.id))) == before


def test_calendar_by_url_and_cli_refresh(app, db, lab, lab_manager, make_listing):
    listing = make_listing(lab)
    body = {"ics": ics_for(workday()).encode()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            self.end_headers()
            self.wfile.write(body["ics"])

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/cal.ics"
        calendar = imports.add_calendar(lab_manager, listing.units[0], name="远程", url=url)
        assert len(calendar.busy) == 3
        body["ics"] = b"garbage"
        assert imports.refresh_all() == (0, 1)
        assert "not a valid" in calendar.last_error and len(calendar.busy) == 3
        body["ics"] = ics_for(workday()).replace("COUNT=4", "COUNT=2").encode()
        db.session.commit()
        result = app.test_cli_runner().invoke(args=["sharehub", "refresh-calendars"])
        assert "1 calendars refreshed" in result.output
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(ValidationError, match="http"):
        imports.fetch("file:///etc/passwd")


def test_pages_for_series_waitlist_proposals_and_calendars(
    client, db, lab, lab_manager, make_listing, buyer, login, make_org, make_user
):
    import io

    listing = make_listing(lab, approval_required=False)
    org, user = buyer
    day = weekly_workdays(3)  # three working weeks for the series
    login(user)
    start = at(day, 8, 30).isoformat()
    response = client.post(
        f"/catalog/{listing.id}/book/series", data={"start": start, "minutes": 120, "weeks": 3}
    )
    assert response.status_code == 200 and response.get_data(as_text=True).count("#") >= 3
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 3
    client.post("/account/signout")
    other = make_user(make_org(), email="late@example.cn")
    login(other)
    conflict = client.post(
        f"/catalog/{listing.id}/book/review", data={"start": start, "minutes": 120}
    )
    assert conflict.status_code == 409 and "join-waitlist" in conflict.get_data(as_text=True)
    client.post(f"/catalog/{listing.id}/waitlist", data={"start": start, "minutes": 120})
    assert db.session.scalar(sa.select(sa.func.count(WaitlistEntry.id))) == 1
    client.post("/account/signout")
    login(lab_manager)
    first = db.session.scalar(sa.select(Booking).order_by(Booking.starts_dt))
    client.post(
        f"/bookings/{first.id}/propose",
        data={"start": at(day, 13, 30).strftime("%Y-%m-%dT%H:%M"), "minutes": 120},
    )
    db.session.expire_all()
    assert db.session.get(Booking, first.id).proposed_starts_dt == at(day, 13, 30)
    client.post(
        "/lab/calendars",
        content_type="multipart/form-data",
        data={
            "unit_id": listing.units[0].id,
            "name": "维护",
            "file": (io.BytesIO(ics_for(day).encode()), "m.ics"),
        },
    )
    assert db.session.scalar(sa.select(sa.func.count(ExternalBusy.id))) == 3
    response = client.post(
        "/lab/calendars",
        content_type="multipart/form-data",
        follow_redirects=True,
        headers={"Accept-Language": "en"},
        data={"unit_id": listing.units[0].id, "file": (io.BytesIO(b"nonsense"), "bad.ics")},
    )
    assert "not a valid iCalendar" in response.get_data(as_text=True)
    client.post("/account/signout")
    login(user)
    client.post(f"/bookings/{first.id}/accept_proposal")
    db.session.expire_all()
    assert db.session.get(Booking, first.id).starts_dt == at(day, 13, 30)
