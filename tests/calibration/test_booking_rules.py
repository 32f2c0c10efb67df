"""An overdue unit is blocked or flagged as its listing says: blocked, the booking service
refuses it (pages and API alike) and the free-slot search leaves it out; flagged, it is
booked with a warning. A planned calibration is an outage."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.booking import availability
from sharehub.booking import services as booking
from sharehub.booking.models import Booking
from sharehub.booking.services import BookingRequest
from sharehub.calibration import queries, services
from sharehub.calibration.models import CertificateKind, CertificateResult
from sharehub.calibration.services import CertificateData
from sharehub.catalog.models import Outage, OutageKind
from sharehub.core.errors import Conflict
from tests.support import clock
from tests.support.clock import at, workday
from tests.support.files import pdf_bytes

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def buyer(make_org, make_user):
    org = make_org(name="采购企业", name_en="Buyer Co")
    return org, make_user(org, email="buyer@example.cn")


def certify(manager, unit, issued_days, due_days, number="JZ-1"):
    today = clock.today()
    return services.record_certificate(
        manager,
        unit,
        CertificateData(
            kind=CertificateKind.VERIFICATION,
            issuing_body="苏州市计量测试院",
            number=number,
            issued_date=today + timedelta(days=issued_days),
            due_date=today + timedelta(days=due_days),
            result=CertificateResult.PASS,
        ),
        pdf_bytes(),
        "c.pdf",
    )


def book(buyer, listing, day, unit_id=None):
    org, user = buyer
    return booking.create_booking(
        user,
        org,
        listing,
        BookingRequest(starts_dt=at(day, 8, 30), ends_dt=at(day, 10, 30), unit_id=unit_id),
    )


def day_starts(listing, day):
    return availability.free_starts(listing, at(day, 0), at(day + timedelta(days=1), 0), 120)


@pytest.fixture
def overdue(db, lab, lab_manager, make_listing):
    """A listing of one unit whose certificate was due yesterday."""
    listing = make_listing(lab, approval_required=False)
    certify(lab_manager, listing.units[0], -400, -1)
    db.session.commit()
    return listing


def test_an_overdue_unit_of_a_blocking_listing_takes_no_booking(db, overdue, lab_manager, buyer):
    services.set_policy(lab_manager, overdue, block=True)
    db.session.commit()
    day = workday()
    assert day_starts(overdue, day) == []
    with pytest.raises(Conflict, match="calibration certificate is overdue"):
        book(buyer, overdue, day)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_an_overdue_unit_of_a_flagging_listing_is_booked_with_a_warning(
    db, client, login, overdue, buyer
):
    day = workday()
    assert at(day, 8, 30) in day_starts(overdue, day)
    login(buyer[1])
    review = client.get(
        f"/catalog/{overdue.id}/book/review",
        query_string={"start": at(day, 8, 30).isoformat(), "minutes": 120},
    )
    assert review.status_code == 200
    assert 'id="calibration-warning"' in review.get_data(as_text=True)
    made = book(buyer, overdue, day)
    db.session.commit()
    page = client.get(f"/bookings/{made.id}").get_data(as_text=True)
    assert "Calibration warning" in page and overdue.units[0].name in page


def test_a_unit_falling_due_before_the_booking_is_blocked_then_only(
    db, lab, lab_manager, make_listing, buyer
):
    """Fit today, due before the booked day: blocked for that day, bookable before it."""
    listing = make_listing(lab, approval_required=False)
    early, late = workday(3), workday(20)
    certify(lab_manager, listing.units[0], -100, (early - clock.today()).days)
    services.set_policy(lab_manager, listing, block=True)
    assert queries.fit_for_use(listing.units[0], at(early, 9))
    assert day_starts(listing, late) == []
    with pytest.raises(Conflict):
        book(buyer, listing, late)
    assert book(buyer, listing, early).unit_id == listing.units[0].id


def test_a_blocked_unit_leaves_the_listings_other_units_bookable(
    db, lab, lab_manager, make_listing, buyer
):
    listing = make_listing(lab, approval_required=False, units=2)
    blocked, fit = listing.units
    certify(lab_manager, blocked, -400, -1)
    certify(lab_manager, fit, -10, 300, number="JZ-2")
    services.set_policy(lab_manager, listing, block=True)
    day = workday()
    assert at(day, 8, 30) in day_starts(listing, day)
    assert book(buyer, listing, day).unit_id == fit.id  # "any unit" skips the blocked one
    with pytest.raises(Conflict):
        book(buyer, listing, workday(11), unit_id=blocked.id)


def test_the_api_refuses_a_blocked_unit_with_409(db, client, overdue, lab_manager, buyer):
    from sharehub.api.services import create_token

    services.set_policy(lab_manager, overdue, block=True)
    org, user = buyer
    _token, plain = create_token(user, org, "ERP", ["bookings:write", "bookings:read"], 30)
    db.session.commit()
    day = workday()
    answer = client.post(
        "/api/v1/bookings",
        json={
            "listing_id": overdue.id,
            "starts_at": at(day, 8, 30).isoformat(),
            "ends_at": at(day, 10, 30).isoformat(),
        },
        headers={"Authorization": f"Bearer {plain}", "Accept-Language": "en"},
    )
    assert answer.status_code == 409, answer.get_json()
    assert "calibration" in answer.get_json()["detail"]
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_switching_back_to_flag_makes_the_unit_bookable(db, overdue, lab_manager, buyer):
    services.set_policy(lab_manager, overdue, block=True)
    services.set_policy(lab_manager, overdue, block=False)
    assert queries.policy_of(overdue).blocked_since_dt is None
    assert book(buyer, overdue, workday()).id


def test_a_planned_calibration_is_an_outage_the_unit_takes_no_booking_in(
    db, lab, lab_manager, make_listing, buyer
):
    listing = make_listing(lab, approval_required=False)
    certificate = certify(lab_manager, listing.units[0], -300, 60)
    day = workday()
    outage = services.plan_calibration(lab_manager, certificate, at(day, 8), at(day, 18))
    assert outage.kind == OutageKind.CALIBRATION and "JZ-1" in outage.note
    assert day_starts(listing, day) == []
    from sharehub.booking.services import SlotTaken

    with pytest.raises(SlotTaken):
        book(buyer, listing, day)
    assert db.session.scalar(sa.select(sa.func.count(Outage.id))) == 1


def test_a_booking_cannot_be_moved_onto_a_blocked_unit_s_overdue_days(
    db, lab, lab_manager, make_listing, buyer
):
    listing = make_listing(lab, approval_required=False)
    early, late = workday(3), workday(20)
    certify(lab_manager, listing.units[0], -100, (early - clock.today()).days)
    services.set_policy(lab_manager, listing, block=True)
    made = book(buyer, listing, early)
    db.session.commit()
    with pytest.raises(booking.SlotTaken):
        booking.reschedule(buyer[1], made, at(late, 8, 30), at(late, 10, 30))
    db.session.rollback()
    assert db.session.get(Booking, made.id).starts_dt == at(early, 8, 30)


def test_the_lab_s_own_time_on_a_blocked_unfit_unit_is_refused_with_the_reason(
    db, overdue, lab_manager, buyer
):
    """A lab booking (a testing run) follows the calibration policy: blocked, refused with
    the calibration reason; flagged, booked."""
    unit = overdue.units[0]
    day = workday()
    services.set_policy(lab_manager, overdue, block=True)
    db.session.commit()
    with pytest.raises(Conflict, match="calibration certificate is overdue"):
        booking.create_lab_booking(
            lab_manager, unit, buyer[0], at(day, 9), at(day, 12), purpose="run"
        )
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0
    services.set_policy(lab_manager, overdue, block=False)
    made = booking.create_lab_booking(
        lab_manager, unit, buyer[0], at(day, 9), at(day, 12), purpose="run"
    )
    assert made.unit_id == unit.id


def test_a_lab_run_into_the_day_a_blocked_unit_falls_due_is_refused(
    db, lab, lab_manager, make_listing, buyer
):
    listing = make_listing(lab, approval_required=False)
    last = workday(3)
    certify(lab_manager, listing.units[0], -100, (last - clock.today()).days)
    services.set_policy(lab_manager, listing, block=True)
    with pytest.raises(Conflict, match="calibration certificate is overdue"):
        booking.create_lab_booking(
            lab_manager,
            listing.units[0],
            buyer[0],
            at(last, 17),
            at(last, 17) + timedelta(hours=24),
            purpose="96 h",
        )
    made = booking.create_lab_booking(
        lab_manager, listing.units[0], buyer[0], at(last, 9), at(last, 17), purpose="ok"
    )
    assert made.id


def test_the_api_books_a_flagged_unfit_unit_with_a_warning_in_its_answer(
    db, client, overdue, buyer, lab, make_listing
):
    from sharehub.api.services import create_token

    org, user = buyer
    _token, plain = create_token(user, org, "ERP", ["bookings:write", "bookings:read"], 30)
    db.session.commit()
    day = workday()
    headers = {"Authorization": f"Bearer {plain}", "Accept-Language": "zh-CN"}
    answer = client.post(
        "/api/v1/bookings",
        json={
            "listing_id": overdue.id,
            "starts_at": at(day, 8, 30).isoformat(),
            "ends_at": at(day, 10, 30).isoformat(),
        },
        headers=headers,
    )
    assert answer.status_code == 201, answer.get_json()
    [warning] = answer.get_json()["warnings"]
    assert warning["code"] == "calibration-flagged"
    assert warning["unit_ids"] == [overdue.units[0].id]
    assert "校准" in warning["message"] or "检定" in warning["message"]
    # a unit with nothing to flag: no warning; the document says what the list holds
    fit = make_listing(lab, approval_required=False)
    db.session.commit()
    plain_booking = client.post(
        "/api/v1/bookings",
        json={
            "listing_id": fit.id,
            "starts_at": at(day, 8, 30).isoformat(),
            "ends_at": at(day, 10, 30).isoformat(),
        },
        headers=headers,
    )
    assert plain_booking.status_code == 201 and plain_booking.get_json()["warnings"] == []
    spec = client.get("/api/v1/openapi.json").get_json()
    created = spec["paths"]["/api/v1/bookings"]["post"]["responses"]["201"]
    ref = created["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    properties = spec["components"]["schemas"][ref]["properties"]
    assert "warnings" in properties
    warning_ref = properties["warnings"]["items"]["$ref"].rsplit("/", 1)[1]
    assert (
        "calibration-flagged"
        in (spec["components"]["schemas"][warning_ref]["properties"]["code"]["description"])
    )
