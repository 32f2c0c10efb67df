"""Bookings through the API: the booking service's rules, prices and conflict answers;
and another organisation's token never sees or changes them."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from sharehub.booking.models import Booking, BookingStatus
from sharehub.core.models import AuditEntry
from tests.support.api import body
from tests.support.clock import at, workday

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def listing(lab, make_listing):
    return make_listing(lab, approval_required=False, price_external=49999, units=1)


def test_create_read_list_reschedule_cancel(api, db, firm, make_token, listing):
    token = make_token(*reversed(firm))
    day = workday()
    created = api.post("/api/v1/bookings", body(listing, day, purpose="ICP 检测"), token=token)
    assert created.status_code == 201, created.get_json()
    booking = created.get_json()
    assert booking.pop("warnings") == []  # only the answer to the booking carries them
    assert booking["status"] == "confirmed"
    # 2 h × ¥499.99 = ¥999.98 net; VAT 6 % = ¥60.00 (5999.88 fen rounded); gross ¥1,059.98
    assert booking["price"] == {
        "tier": "external",
        "net_fen": 99998,
        "vat_rate_bp": 600,
        "vat_fen": 6000,
        "gross_fen": 105998,
        "cancel_fee_fen": 0,
        "currency": "CNY",
    }
    assert datetime.fromisoformat(booking["starts_at"]) == at(day, 9, 30)
    assert booking["purpose"] == "ICP 检测"

    assert api.get(f"/api/v1/bookings/{booking['id']}", token=token).get_json() == booking
    listed = api.get("/api/v1/bookings", token=token).get_json()
    assert [b["id"] for b in listed["items"]] == [booking["id"]]
    assert listed["meta"] == {"page": 1, "per_page": 50, "total": 1, "pages": 1}

    moved = api.post(
        f"/api/v1/bookings/{booking['id']}/reschedule",
        {"starts_at": at(day, 14, 30).isoformat(), "ends_at": at(day, 15, 30).isoformat()},
        token=token,
    )
    assert moved.status_code == 200
    assert moved.get_json()["price"]["gross_fen"] == 52999  # one hour: 49999 + 3000 VAT

    cancelled = api.post(
        f"/api/v1/bookings/{booking['id']}/cancel", {"reason": "样品未到"}, token=token
    )
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["price"]["cancel_fee_fen"] == 0
    again = api.post(f"/api/v1/bookings/{booking['id']}/cancel", token=token)
    assert again.status_code == 409
    assert again.get_json()["type"] == "urn:sharehub:problem:conflict"
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.object_type == "booking")
    ).all()
    assert actions == ["booking.created", "booking.rescheduled", "booking.cancel"]


def test_taken_slot_is_409_with_alternatives(api, firm, rival, make_token, listing):
    day = workday()
    first = api.post("/api/v1/bookings", body(listing, day), token=make_token(*reversed(firm)))
    assert first.status_code == 201
    taken = api.post(
        "/api/v1/bookings",
        body(listing, day, start=(10, 30), end=(11, 30)),
        token=make_token(*reversed(rival)),
    )
    assert taken.status_code == 409
    problem = taken.get_json()
    assert problem["type"] == "urn:sharehub:problem:slot-taken"
    assert problem["detail"] == "This time is not free any more."
    starts = [datetime.fromisoformat(a["starts_at"]) for a in problem["alternatives"]]
    # One hour that day: 08:30; 09:30-11:30 is taken and 11:30-12:30 runs past the noon
    # closing; then every hour of the afternoon.
    hours = [(8, 30), (13, 30), (14, 30), (15, 30), (16, 30)]
    assert starts == [at(day, *hm) for hm in hours]


def test_rules_answer_409_and_bad_input_422(api, firm, make_token, listing):
    """A start off the listing's grid is well formed but conflicts with the listing as it
    is (409); a body that breaks the document is unprocessable (422)."""
    token = make_token(*reversed(firm))
    day = workday()
    off_grid = api.post("/api/v1/bookings", body(listing, day, start=(9, 45)), token=token)
    assert off_grid.status_code == 409
    assert off_grid.get_json()["type"] == "urn:sharehub:problem:conflict"
    assert off_grid.get_json()["detail"] == "Bookings start and end on 60-minute slots."
    naive = api.post(
        "/api/v1/bookings",
        {"listing_id": listing.id, "starts_at": f"{day}T09:30:00", "ends_at": "x"},
        token=token,
    )
    assert naive.status_code == 422
    assert set(naive.get_json()["errors"]) == {"starts_at", "ends_at"}
    unknown = api.post("/api/v1/bookings", body(listing, day, colour="red"), token=token)
    assert unknown.status_code == 422 and "colour" in unknown.get_json()["errors"]
    nul = api.post("/api/v1/bookings", body(listing, day, purpose="a\x00b"), token=token)
    assert nul.status_code == 422
    # A well-formed id of no listing: not found (404), as the document allows any id.
    missing = api.post("/api/v1/bookings", body(listing, day, listing_id=2**31 - 1), token=token)
    assert missing.status_code == 404 and missing.get_json()["field"] == "listing_id"


def test_lab_manager_token_sees_the_labs_bookings(api, firm, lab, lab_manager, make_token, listing):
    api.post("/api/v1/bookings", body(listing, workday()), token=make_token(*reversed(firm)))
    lab_token = make_token(lab_manager, lab)
    rows = api.get("/api/v1/bookings?side=lab", token=lab_token).get_json()["items"]
    assert [r["customer_org_id"] for r in rows] == [firm[0].id]
    assert (
        api.get("/api/v1/bookings?side=lab", token=make_token(*reversed(firm))).status_code == 403
    )


def test_another_organisations_token_gets_404_and_changes_nothing(
    api, db, firm, rival, make_token, listing
):
    own = make_token(*reversed(firm))
    other = make_token(*reversed(rival))
    day = workday()
    booking_id = api.post("/api/v1/bookings", body(listing, day), token=own).get_json()["id"]
    before = db.session.get(Booking, booking_id)
    state = (before.status, before.starts_dt, before.ends_dt, before.sequence)

    assert api.get(f"/api/v1/bookings/{booking_id}", token=other).status_code == 404
    assert api.get("/api/v1/bookings", token=other).get_json()["items"] == []
    assert api.get("/api/v1/bookings?side=lab", token=other).status_code == 403
    for path, payload in (
        (f"/api/v1/bookings/{booking_id}/cancel", {"reason": "x"}),
        (
            f"/api/v1/bookings/{booking_id}/reschedule",
            {"starts_at": at(day, 14, 30).isoformat(), "ends_at": at(day, 15, 30).isoformat()},
        ),
    ):
        answer = api.post(path, payload, token=other)
        assert answer.status_code == 404, path
        assert answer.get_json()["type"] == "urn:sharehub:problem:not-found"
    db.session.expire_all()
    after = db.session.get(Booking, booking_id)
    assert (after.status, after.starts_dt, after.ends_dt, after.sequence) == state
    assert after.status == BookingStatus.CONFIRMED


def test_lab_approves_and_declines_requests(
    api, db, firm, rival, lab, lab_manager, make_listing, make_token
):
    listing = make_listing(lab, approval_required=True)
    day = workday()
    customer = make_token(*reversed(firm))
    first = api.post("/api/v1/bookings", body(listing, day), token=customer).get_json()
    second = api.post(
        "/api/v1/bookings", body(listing, day, start=(13, 30), end=(14, 30)), token=customer
    ).get_json()
    assert (first["status"], second["status"]) == ("pending", "pending")

    # Neither the customer nor another organisation decides; nothing changes.
    assert api.post(f"/api/v1/bookings/{first['id']}/approve", token=customer).status_code == 403
    other = make_token(*reversed(rival))
    assert api.post(f"/api/v1/bookings/{first['id']}/approve", token=other).status_code == 404
    assert (
        api.post(
            f"/api/v1/bookings/{first['id']}/decline", {"reason": "x"}, token=other
        ).status_code
        == 404
    )
    db.session.expire_all()
    assert db.session.get(Booking, first["id"]).status == BookingStatus.PENDING

    lab_token = make_token(lab_manager, lab, scopes=["bookings:read", "bookings:write"])
    approved = api.post(f"/api/v1/bookings/{first['id']}/approve", token=lab_token)
    assert approved.status_code == 200 and approved.get_json()["status"] == "confirmed"
    no_reason = api.post(f"/api/v1/bookings/{second['id']}/decline", {}, token=lab_token)
    assert no_reason.status_code == 422
    declined = api.post(
        f"/api/v1/bookings/{second['id']}/decline", {"reason": "设备检修"}, token=lab_token
    )
    assert declined.get_json()["status"] == "declined"
    assert declined.get_json()["reason"] == "设备检修"
    again = api.post(f"/api/v1/bookings/{first['id']}/approve", token=lab_token)
    assert again.status_code == 409
