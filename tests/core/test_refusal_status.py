"""A refusal decided inside a service answers with the status that says what happened
(403 not allowed, 404 not found, 409 not possible in the current state, 400 bad input),
shows the message on the page the user was on, and changes nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sharehub.booking.models import Booking, BookingStatus
from sharehub.core.models import AuditEntry
from tests.support.clock import at, workday

EN = {"Accept-Language": "en"}


@pytest.fixture
def buyer_user(make_org, make_user):
    return make_user(make_org(name="采购企业", name_en="Buyer Co"), email="buyer@example.cn")


@pytest.fixture
def pending(client, db, lab, make_listing, buyer_user, login):
    listing = make_listing(lab, name_en="ICP-OES")
    login(buyer_user)
    start = at(workday(), 8, 30).isoformat()
    answer = client.post(
        f"/catalog/{listing.id}/book/review",
        data={"start": start, "minutes": 120, "purpose": "元素分析"},
    )
    assert answer.status_code == 302
    client.post("/account/signout")
    return db.session.scalar(sa.select(Booking))


def _audit_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))


@pytest.mark.parametrize(
    ("who", "action", "data", "status", "message"),
    [
        ("customer", "approve", {}, 403, "You may not change this booking."),
        ("customer", "propose", {"start": "2030-01-07 09:00", "minutes": 60}, 403,
         "Only the laboratory proposes a new time."),
        ("customer", "refuse_proposal", {}, 409, "There is no proposed move."),
        ("manager", "check_out", {"service_way": "teleport"}, 400,
         "Choose how the service was given."),
        ("manager", "decline", {"reason": ""}, 400, "Give the reason, the customer will read it."),
        ("manager", "reschedule", {"start": "", "minutes": 60}, 400,
         "Choose a start time and a duration."),
    ],
)  # fmt: skip
def test_a_refused_booking_action_answers_its_status_on_the_booking_page(
    client, db, login, lab_manager, buyer_user, pending, who, action, data, status, message
):
    login(buyer_user if who == "customer" else lab_manager)
    before = _audit_count(db)
    answer = client.post(f"/bookings/{pending.id}/{action}", data=data, headers=EN)
    assert answer.status_code == status
    page = answer.get_data(as_text=True)
    assert message in page
    assert f"/bookings/{pending.id}/cancel" in page  # the booking page, not a bare error
    db.session.expire_all()
    assert db.session.get(Booking, pending.id).status == BookingStatus.PENDING
    assert _audit_count(db) == before


def test_an_action_done_twice_is_a_conflict(client, db, login, lab_manager, pending):
    login(lab_manager)
    assert client.post(f"/bookings/{pending.id}/approve").status_code == 302
    again = client.post(f"/bookings/{pending.id}/approve", headers=EN)
    assert again.status_code == 409
    assert "that is not possible now" in again.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Booking, pending.id).status == BookingStatus.CONFIRMED


def test_a_refusal_without_its_own_page_shows_the_message_and_a_way_back(
    client, db, login, buyer_user, pending
):
    """Refusals answered by the error page carry the service's message and link back to
    the page the form was on (never to another site)."""
    login(buyer_user)
    referrer = f"http://localhost/bookings/{pending.id}"
    answer = client.post(f"/bookings/{pending.id}/invoice", headers={**EN, "Referer": referrer})
    assert answer.status_code == 404
    assert f'href="/bookings/{pending.id}"' in answer.get_data(as_text=True)
    answer = client.post(
        "/vouchers/invoices/999999/apply", headers={**EN, "Referer": "https://evil.example/x"}
    )
    assert answer.status_code == 404
    assert "evil.example" not in answer.get_data(as_text=True)
