"""Booking through the pages: calendar, review with quote, confirm, actions, lists, usage."""

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from sharehub.booking.models import AccessGrant, Booking, BookingStatus, UsageRecord
from sharehub.catalog.models import ListingKind
from sharehub.core.models import AuditEntry
from tests.support import clock
from tests.support.clock import at, workday

EN = {"Accept-Language": "en"}


@pytest.fixture
def buyer_user(make_org, make_user):
    return make_user(make_org(name="采购企业", name_en="Buyer Co"), email="buyer@example.cn")


# usage is logged after it happened: days of the week before the suite's today
D2, D3, D4, D5 = ((clock.today() - timedelta(days=n)).isoformat() for n in (9, 8, 7, 6))


def test_book_through_the_pages_and_lab_approves_checks_in_and_out(
    client, db, lab, lab_manager, make_listing, buyer_user, login, mailbox, monkeypatch
):
    listing = make_listing(lab, name_en="ICP-OES")
    day = workday()
    login(buyer_user)
    calendar = client.get(f"/catalog/{listing.id}/book?week={day.isoformat()}").get_data(
        as_text=True
    )
    start = at(day, 8, 30).isoformat()
    assert start.replace("+", "%2B") in calendar or start in calendar
    review = client.get(
        f"/catalog/{listing.id}/book/review", query_string={"start": start, "minutes": 120}
    )
    html = review.get_data(as_text=True)
    assert "1,060.00" in html  # 2 h × 500 + 6 % VAT
    response = client.post(
        f"/catalog/{listing.id}/book/review",
        data={"start": start, "minutes": 120, "purpose": "元素分析", "sample_count": 3},
    )
    assert response.status_code == 302
    booking = db.session.scalar(sa.select(Booking))
    assert booking.status == BookingStatus.PENDING and booking.sample_count == 3
    assert "request" in mailbox.last_to(lab_manager.email)["Subject"].lower()
    # the same slot again: a clear conflict with alternatives, not a 500
    again = client.post(f"/catalog/{listing.id}/book/review", data={"start": start, "minutes": 120})
    assert again.status_code == 409 and "alternatives" in again.get_data(as_text=True)
    client.post("/account/signout")

    login(lab_manager)
    assert client.get(f"/bookings/{booking.id}").status_code == 200
    approved = client.post(f"/bookings/{booking.id}/approve", follow_redirects=True)
    assert "The booking is approved; the customer has been told." in approved.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    invite = [p for p in mailbox.last_to("buyer@example.cn").iter_attachments()]
    assert invite and invite[0].get_content_type() == "text/calendar"
    assert b"METHOD:REQUEST" in invite[0].get_payload(decode=True)
    from sharehub.booking import usage

    # the day comes: the lab checks in a few minutes after the start, out at the end
    monkeypatch.setattr(usage, "utcnow", lambda: booking.starts_dt + timedelta(minutes=5))
    client.post(f"/bookings/{booking.id}/check_in")
    monkeypatch.setattr(usage, "utcnow", lambda: booking.ends_dt)
    out = client.post(
        f"/bookings/{booking.id}/check_out",
        follow_redirects=True,
        data={
            "prep_minutes": 15,
            "run_minutes": 100,
            "post_minutes": 20,
            "samples": 3,
            "service_way": "on_site",
            "notes": "正常",
        },
    )
    db.session.expire_all()
    booking = db.session.get(Booking, booking.id)
    assert booking.status == BookingStatus.COMPLETED
    record = booking.usage[0]
    assert (record.effective_minutes, record.samples) == (135, 3)
    assert "Checked out: 135 minutes of use recorded." in out.get_data(as_text=True)
    assert record.user_org_id == buyer_user.memberships[0].organisation_id


def test_other_organisations_cannot_see_or_change_a_booking(
    client, db, lab, make_listing, buyer_user, make_org, make_user, login, lab_manager
):
    from sharehub.booking import services

    org = buyer_user.memberships[0].organisation
    booking = services.create_booking(
        buyer_user,
        org,
        make_listing(lab),
        services.BookingRequest(starts_dt=at(workday(), 8, 30), ends_dt=at(workday(), 10, 30)),
    )
    db.session.commit()
    login(make_user(make_org()))
    assert client.get(f"/bookings/{booking.id}").status_code == 404
    for action in ("approve", "cancel", "check_in", "decline"):
        assert client.post(f"/bookings/{booking.id}/{action}").status_code == 404
    client.post("/account/signout")
    login(buyer_user)  # the customer may not approve their own request
    client.post(f"/bookings/{booking.id}/approve")
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.PENDING


def test_bad_booking_input_gets_a_clear_message(client, db, lab, make_listing, buyer_user, login):
    listing = make_listing(lab)
    login(buyer_user)
    for query in (
        {"start": "garbage", "minutes": 60},
        {"start": "", "minutes": ""},
    ):
        response = client.get(
            f"/catalog/{listing.id}/book/review",
            query_string=query,
            follow_redirects=True,
            headers=EN,
        )
        assert response.status_code == 400  # the calendar again, with the message
        assert "Choose a start time and a duration" in response.get_data(as_text=True)
    response = client.get(
        f"/catalog/{listing.id}/book/review",
        query_string={"start": at(workday(), 8, 30).isoformat(), "minutes": -5},
        headers=EN,
    )
    assert response.status_code == 400
    assert "Enter a whole number between 1 and 44640" in response.get_data(as_text=True)
    response = client.post(
        f"/catalog/{listing.id}/book/review",
        headers=EN,
        data={"start": at(workday(), 9, 0).isoformat(), "minutes": 60},
    )
    assert response.status_code == 409 and "slots" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_customer_cancels_with_the_fee_shown_first(
    client, db, lab, make_listing, buyer_user, login
):
    from sharehub.booking import services

    listing = make_listing(
        lab, approval_required=False, free_cancel_hours=24 * 60, cancel_fee_percent=50
    )
    org = buyer_user.memberships[0].organisation
    booking = services.create_booking(
        buyer_user,
        org,
        listing,
        services.BookingRequest(starts_dt=at(workday(), 8, 30), ends_dt=at(workday(), 10, 30)),
    )
    db.session.commit()
    login(buyer_user)
    page = client.get(f"/bookings/{booking.id}", headers=EN).get_data(as_text=True)
    assert "Cancelling now costs CN¥530.00" in page
    client.post(f"/bookings/{booking.id}/cancel", data={"reason": "计划变更"})
    db.session.expire_all()
    booking = db.session.get(Booking, booking.id)
    assert booking.status == BookingStatus.CANCELLED and booking.cancel_fee == 53000


def test_internal_usage_form_csv_import_and_audited_correction(
    client, db, lab, lab_manager, make_listing, login
):
    listing = make_listing(lab)
    unit = listing.units[0]
    login(lab_manager)
    response = client.post(
        "/lab/usage",
        data={
            "unit_id": unit.id,
            "started": f"{D2}T09:00",
            "ended": f"{D2}T08:00",
            "run_minutes": 60,
        },
        headers=EN,
    )
    assert response.status_code == 400
    client.post(
        "/lab/usage",
        data={
            "unit_id": unit.id,
            "started": f"{D2}T09:00",
            "ended": f"{D2}T11:00",
            "prep_minutes": 10,
            "run_minutes": 100,
            "post_minutes": 10,
            "service_way": "on_site",
        },
    )
    record = db.session.scalar(sa.select(UsageRecord))
    assert record.user_org_id == lab.id and record.effective_minutes == 120
    assert record.started_dt == clock.at(date.fromisoformat(D2), 9)
    good = (
        "unit_id,started,ended,prep_minutes,run_minutes,post_minutes,samples,service_way\n"
        f"{unit.id},{D3} 09:00,{D3} 10:00,0,60,0,2,remote\n"
        f"{unit.id},{D4} 09:00,{D4} 12:00,30,150,0,5,on_site\n"
    )
    bad = good + f"{unit.id},{D5} 09:00,not-a-time,0,60,0,0,on_site\n"
    response = client.post(
        "/lab/usage/import",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(bad.encode()), "u.csv")},
        follow_redirects=True,
        headers=EN,
    )
    assert "Row 4" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(UsageRecord.id))) == 1
    client.post(
        "/lab/usage/import",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(good.encode()), "u.csv")},
    )
    assert db.session.scalar(sa.select(sa.func.count(UsageRecord.id))) == 3
    client.post(
        f"/lab/usage/{record.id}",
        data={
            "started": f"{D2}T09:00",
            "ended": f"{D2}T11:00",
            "prep_minutes": 20,
            "run_minutes": 100,
            "post_minutes": 10,
            "samples": 1,
            "service_way": "on_site",
            "notes": "更正",
            "reason": "准备时间漏记",
        },
    )
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "usage.corrected"))
    assert entry.data["changes"]["prep_minutes"] == ["10", "20"]


def test_dataset_access_instant_download_and_expiry(
    client, db, lab, make_listing, buyer_user, login, lab_manager
):
    from sharehub.booking import access
    from sharehub.catalog.files import add_file

    listing = make_listing(
        lab,
        kind=ListingKind.DATASET,
        category_code="070101",
        approval_required=False,
        access_days=30,
    )
    add_file(lab_manager, listing, "data", b"a,b\n1,2\n", "data.csv")
    db.session.commit()
    login(buyer_user)
    page = client.post(f"/catalog/{listing.id}/access", data={"purpose": "研究"})
    link = page.get_data(as_text=True).split('id="download-link" readonly value="')[1]
    token = link.split('"')[0].rsplit("/", 1)[1]
    client.post("/account/signout")
    files = client.get(f"/datasets/{token}").get_data(as_text=True)
    assert "data.csv" in files
    grant = db.session.scalar(sa.select(AccessGrant))
    response = client.get(f"/datasets/{token}?file={listing.files[0].id}")
    assert response.get_data() == b"a,b\n1,2\n"
    response.close()
    grant.starts_dt -= timedelta(days=31)
    grant.ends_dt -= timedelta(days=31)
    db.session.commit()
    assert client.get(f"/datasets/{token}").status_code == 403
    assert access.grant_for_token("made-up") is None
    # the dataset file itself is not public
    assert client.get(f"/catalog/files/{listing.files[0].id}").status_code == 404


def test_reminders_are_sent_once(db, lab, make_listing, buyer_user, mailbox):
    from sharehub.booking import services

    org = buyer_user.memberships[0].organisation
    listing = make_listing(lab, approval_required=False)
    day = workday()
    booking = services.create_booking(
        buyer_user,
        org,
        listing,
        services.BookingRequest(starts_dt=at(day, 8, 30), ends_dt=at(day, 10, 30)),
    )
    db.session.commit()
    now = booking.starts_dt - timedelta(hours=20)
    assert services.send_reminders(now=now) == 1
    assert services.send_reminders(now=now) == 0
    assert services.send_reminders(now=booking.starts_dt - timedelta(hours=30)) == 0


@pytest.mark.parametrize("view", ["day", "week", "month", "bogus"])
def test_lab_calendar_views(client, db, lab, lab_manager, make_listing, buyer_user, login, view):
    from sharehub.booking import services

    org = buyer_user.memberships[0].organisation
    day = workday()
    services.create_booking(
        buyer_user,
        org,
        make_listing(lab),
        services.BookingRequest(starts_dt=at(day, 8, 30), ends_dt=at(day, 10, 30)),
    )
    db.session.commit()
    login(lab_manager)
    html = client.get(f"/lab/bookings?view={view}&date={day.isoformat()}", headers=EN).get_data(
        as_text=True
    )
    assert "Buyer Co" in html and "8:30\u202fAM" in html
    assert client.get("/lab/bookings?date=not-a-date").status_code == 200


def test_month_view_counts_free_starts_per_day(client, db, lab, make_listing, buyer_user, login):
    listing = make_listing(lab)
    day = workday(20)
    login(buyer_user)
    html = client.get(
        f"/catalog/{listing.id}/book?view=month&week={day.isoformat()}", headers=EN
    ).get_data(as_text=True)
    assert f"week={day.isoformat()}" in html  # the working day links to its week
    assert '<span class="badge text-bg-success">7</span>' in html  # 08:30 … 16:30


def test_periodic_commands_build_links_without_a_request(
    app, db, lab, make_listing, buyer_user, monkeypatch, mailbox
):
    """Cron runs them with no request and no SERVER_NAME: links use SERVER_BASE_URL."""
    from sharehub.booking import services
    from sharehub.core.db import utcnow

    org = buyer_user.memberships[0].organisation
    listing = make_listing(lab, approval_required=False)
    booking = services.create_booking(
        buyer_user,
        org,
        listing,
        services.BookingRequest(starts_dt=at(workday(), 8, 30), ends_dt=at(workday(), 10, 30)),
    )
    soon = utcnow() + timedelta(hours=20)
    booking.starts_dt, booking.ends_dt = soon, soon + timedelta(hours=2)
    booking.blocked_until_dt = booking.ends_dt
    booking.created_dt = soon - timedelta(days=3)  # made well ahead: it gets a reminder
    db.session.commit()
    mailbox.clear()
    monkeypatch.setitem(app.config, "SERVER_NAME", None)
    monkeypatch.setitem(app.config, "SERVER_BASE_URL", "https://sharehub.example.cn")
    runner = app.test_cli_runner()
    for command in ("send-reminders", "expire-holds", "refresh-calendars"):
        result = runner.invoke(args=["sharehub", command])
        assert result.exit_code == 0, result.output
    from sharehub.core.mail import deliver_outbox

    deliver_outbox()
    reminder = mailbox.last_to("buyer@example.cn")
    assert f"https://sharehub.example.cn/bookings/{booking.id}" in mailbox.body(reminder)


def test_our_bookings_page_and_filter_on_the_server(
    client, db, lab, make_listing, buyer_user, login, make_booking
):
    """A buyer with more bookings than a page sees them all, page by page, newest first,
    and filters upcoming, past and by status."""
    org = buyer_user.memberships[0].organisation
    unit = make_listing(lab).units[0]
    day = clock.today()
    made = []
    for n in range(53):  # 50 on the first page, 3 on the second
        start = day + timedelta(days=n - 40)
        status = BookingStatus.CONFIRMED if n >= 40 else BookingStatus.COMPLETED
        if n == 45:
            status = BookingStatus.CANCELLED
        made.append(make_booking(unit, org, f"{start} 11:00", f"{start} 12:00", status=status).id)
    db.session.commit()
    login(buyer_user)

    def ids(query: str) -> list[int]:
        html = client.get(f"/bookings?{query}", headers=EN).get_data(as_text=True)
        return [b for b in made if f'/bookings/{b}"' in html]

    first, second = ids(""), ids("page=2")
    assert len(first) == 50 and len(second) == 3 and not set(first) & set(second)
    assert set(second) == set(made[:3])  # the oldest come last
    assert "Bookings: 53" in client.get("/bookings", headers=EN).get_data(as_text=True)
    assert set(ids("when=upcoming")) == set(made[40:])
    assert set(ids("when=past")) == set(made[:40])
    assert ids("status=cancelled") == [made[45]]
    assert set(ids("when=upcoming&status=confirmed")) == set(made[40:]) - {made[45]}
    # an unknown filter value is ignored, not an error
    assert client.get("/bookings?status=nonsense&when=x&page=x").status_code == 200
    empty = client.get("/bookings?status=no_show", headers=EN).get_data(as_text=True)
    assert "No booking matches." in empty
