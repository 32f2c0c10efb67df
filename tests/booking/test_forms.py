"""The booking pages read what they are sent through their forms: a field out of bounds
or unreadable is a 400 with its message on the page, what was typed stays in the form,
nothing is written, and a post without its CSRF token is refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.booking import services
from sharehub.booking.models import Booking, BookingStatus, UsageRecord
from tests.support import clock
from tests.support.clock import at, workday

EN = {"Accept-Language": "en"}


@pytest.fixture
def world(db, lab, lab_manager, make_listing, make_org, make_user):
    customer = make_org(name="苏州精密制造有限公司")
    buyer = make_user(customer, email="forms-buyer@example.cn")
    listing = make_listing(lab, approval_required=True)
    booking = services.create_booking(
        buyer,
        customer,
        listing,
        services.BookingRequest(starts_dt=at(workday(), 8, 30), ends_dt=at(workday(), 10, 30)),
    )
    db.session.commit()
    return {"listing": listing, "booking": booking, "buyer": buyer, "manager": lab_manager}


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def slot() -> str:
    return at(workday(2), 8, 30).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"minutes": "0"}, "Enter a whole number between 1 and 44640."),
        ({"minutes": "44641"}, "Enter a whole number between 1 and 44640."),
        ({"minutes": "sixty"}, "Enter a whole number between 1 and 44640."),
        ({"minutes": ""}, "Choose a start time and a duration."),
        ({"start": ""}, "Choose a start time and a duration."),
        ({"start": "tomorrow"}, "Choose a start time and a duration."),
        ({"start": "2101-01-01T09:00"}, "between the years 2000 and 2100"),
        ({"sample_count": "-1"}, "Enter a whole number between 0 and 100000."),
        ({"sample_count": "100001"}, "Enter a whole number between 0 and 100000."),
        ({"unit_id": "0"}, "Enter a whole number between 1 and 2147483647."),
    ],
)
def test_a_booking_request_out_of_bounds_is_a_400_with_its_message(
    client, db, login, world, values, message
):
    login(world["buyer"])
    before = count(db, Booking)
    data = {"start": slot(), "minutes": "120", "purpose": "元素分析", **values}
    answer = client.post(f"/catalog/{world['listing'].id}/book/review", data=data, headers=EN)
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert page.count(message) == 1  # said once, even when two fields miss
    assert count(db, Booking) == before


def test_the_review_page_still_reads_the_calendars_link(client, db, login, world):
    login(world["buyer"])
    answer = client.get(
        f"/catalog/{world['listing'].id}/book/review",
        query_string={"start": slot(), "minutes": "120"},
        headers=EN,
    )
    assert answer.status_code == 200
    assert 'id="confirm-booking"' in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    ("action", "values", "message"),
    [
        ("check_in", {"started": "yesterday morning"}, "Write the time as YYYY-MM-DD HH:MM."),
        ("check_out", {"prep_minutes": "-5", "notes": "样品已取回"}, "between 0 and 44640"),
        ("check_out", {"samples": "1e9", "notes": "样品已取回"}, "between 0 and 100000"),
        ("check_out", {"service_way": "by_pigeon", "notes": "样品已取回"}, "Choose how the"),
        ("reschedule", {"start": slot(), "minutes": "0"}, "between 1 and 44640"),
        ("propose", {"start": "", "minutes": "60"}, "Choose a start time and a duration."),
    ],
)
def test_a_booking_action_out_of_bounds_is_refused_on_the_booking_page(
    client, db, login, world, action, values, message
):
    login(world["manager"])
    booking = world["booking"]
    answer = client.post(f"/bookings/{booking.id}/{action}", data=values, headers=EN)
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert message in page
    assert f"/bookings/{booking.id}/cancel" in page  # the booking page
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.PENDING


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"unit_id": ""}, "Choose one of your units."),
        ({"started": "last Monday"}, "Check the times (YYYY-MM-DD HH:MM) and the minutes."),
        ({"ended": ""}, "Check the times (YYYY-MM-DD HH:MM) and the minutes."),
        ({"run_minutes": "abc"}, "Enter a whole number between 0 and 44640."),
        ({"post_minutes": "-1"}, "Enter a whole number between 0 and 44640."),
        ({"service_way": "by_pigeon"}, "Choose how the service was given."),
    ],
)
def test_a_usage_record_out_of_bounds_is_refused_and_keeps_what_was_typed(
    client, db, login, world, values, message
):
    login(world["manager"])
    past = (clock.today() - timedelta(days=3)).isoformat()
    data = {
        "unit_id": world["listing"].units[0].id,
        "started": f"{past}T09:00",
        "ended": f"{past}T10:00",
        "run_minutes": "60",
        "notes": "内部使用",
        **values,
    }
    answer = client.post("/lab/usage", data=data, headers=EN)
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert message in page
    assert 'value="内部使用"' in page
    assert count(db, UsageRecord) == 0


def test_the_waiting_list_needs_a_start_and_a_length(client, db, login, world):
    login(world["buyer"])
    address = f"/catalog/{world['listing'].id}/waitlist"
    assert client.post(address, data={"start": slot()}).status_code == 400
    assert client.post(address, data={"start": slot(), "minutes": "0"}).status_code == 400


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/bookings/{booking}/cancel", {"reason": "不需要了"}),
        ("/bookings/{booking}/accept_offer", {}),
        ("/catalog/{listing}/book/review", {"start": "{slot}", "minutes": "120"}),
        ("/catalog/{listing}/waitlist", {"start": "{slot}", "minutes": "120"}),
    ],
)
def test_a_post_with_a_wrong_csrf_token_is_a_400(app, client, db, login, world, path, data):
    login(world["buyer"])
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        path = path.format(booking=world["booking"].id, listing=world["listing"].id)
        data = {k: v.replace("{slot}", slot()) for k, v in data.items()}
        answer = client.post(path, data={**data, "csrf_token": "forged"}, headers=EN)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert answer.status_code == 400
    db.session.expire_all()
    assert db.session.get(Booking, world["booking"].id).status == BookingStatus.PENDING
    assert count(db, Booking) == 1


def test_a_post_with_the_pages_csrf_token_is_accepted(app, client, db, login, world):
    login(world["buyer"])
    booking = world["booking"]
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        answer = client.post(
            f"/bookings/{booking.id}/cancel", data={"reason": "不需要了", "csrf_token": token}
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert answer.status_code == 302
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CANCELLED
