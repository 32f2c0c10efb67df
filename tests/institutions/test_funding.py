"""Bookings charged to a group's funding account: who may charge it, its validity, its
budget against what is committed, the statement line, the consistency check, the
internal price tier of the host's groups."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.admin import consistency
from sharehub.booking import funding, services
from sharehub.booking.models import Booking, BookingStatus
from sharehub.booking.services import BookingRequest
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.institutions import services as groups
from tests.support import clock
from tests.support.clock import at, workday

pytestmark = pytest.mark.usefixtures("english")


def book(campus, user=None, day=None, start=(8, 30), end=(10, 30), listing=None, **kw):
    kw.setdefault("funding_account_id", campus.account.id)
    return services.create_booking(
        user or campus.student,
        campus.university,
        listing or campus.listing,
        BookingRequest(at(day or workday(), *start), at(day or workday(), *end), **kw),
    )


def count_bookings(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Booking))


def test_a_booking_carries_its_account_onto_the_statement(db, campus, lab_manager):
    from sharehub.billing.services import invoice_from_booking

    booking = book(campus)
    assert booking.funding_account_id == campus.account.id
    assert booking.status == BookingStatus.CONFIRMED and booking.head_approval is None
    invoice = invoice_from_booking(lab_manager, booking)
    assert {line.funding_label for line in invoice.lines} == {"GR-2026-001 · 国家自然科学基金"}
    assert {line.funding_account_id for line in invoice.lines} == {campus.account.id}


def test_an_expired_account_is_refused_and_nothing_is_stored(db, campus):
    campus.account.valid_to = clock.today() + timedelta(days=2)
    db.session.commit()
    before = count_bookings(db)
    with pytest.raises(ValidationError, match="GR-2026-001 is valid from .* cannot pay") as exc:
        book(campus, day=workday(10))
    assert exc.value.field == "funding_account_id"
    db.session.rollback()
    assert count_bookings(db) == before


@pytest.mark.parametrize("who", ["bystander", "outsider"])
def test_a_user_who_may_not_charge_the_account_is_refused(db, campus, who):
    user = getattr(campus, who)
    org = campus.university if who == "bystander" else user.memberships[0].organisation
    with pytest.raises(PermissionDenied):
        services.create_booking(
            user,
            org,
            campus.listing,
            BookingRequest(
                at(workday(), 8, 30), at(workday(), 10, 30), funding_account_id=campus.account.id
            ),
        )


def test_the_budget_is_never_exceeded(db, campus):
    campus.account.budget = 250_000  # two bookings of 1,060.00 fit, a third does not
    db.session.commit()
    first = book(campus, start=(8, 30), end=(10, 30))
    book(campus, start=(13, 30), end=(15, 30))
    db.session.commit()
    assert funding.committed(campus.account.id) == 212_000
    with pytest.raises(
        Conflict, match=r"has \S*¥380.00 left of its budget; this booking costs \S*¥1,060.00"
    ):
        book(campus, start=(15, 30), end=(17, 30))
    db.session.rollback()
    # A cancellation frees the price (no fee before the free-cancellation time)
    services.cancel(campus.student, db.session.get(Booking, first.id))
    assert funding.committed(campus.account.id) == 106_000
    book(campus, start=(15, 30), end=(17, 30))


def test_a_move_to_a_dearer_time_is_checked_against_the_budget(db, campus):
    campus.account.budget = 150_000
    db.session.commit()
    booking = book(campus)
    with pytest.raises(Conflict, match="left of its budget"):
        services.reschedule(campus.student, booking, at(workday(), 8, 30), at(workday(), 11, 30))


def test_the_budget_is_not_set_below_what_is_committed(db, campus):
    book(campus)
    with pytest.raises(ValidationError, match=r"already commit \S*¥1,060.00 on") as exc:
        groups.save_account(
            campus.head,
            campus.group,
            campus.account,
            code=campus.account.code,
            name=campus.account.name,
            valid_from=campus.account.valid_from,
            valid_to=campus.account.valid_to,
            budget=100_000,
            charger_ids=[campus.student.id],
            committed=funding.committed(campus.account.id),
        )
    assert exc.value.field == "budget"


def test_consistency_reports_an_account_over_its_budget(db, campus):
    book(campus)
    assert consistency.violations()["funding_accounts_over_budget"] == []
    db.session.execute(
        sa.text("UPDATE funding_account SET budget = 1000 WHERE id = :id"),
        {"id": campus.account.id},
    )
    assert consistency.violations()["funding_accounts_over_budget"] == [
        (campus.account.id, "GR-2026-001", 1000, 106_000)
    ]


def test_the_host_organisation_and_its_units_get_the_internal_tier(db, campus, make_org, make_user):
    """The lab's host organisation, and a department organisation of the host, book at
    the internal price, also when they charge a group's account; another firm does not."""
    campus.lab.host_org = campus.university
    department = make_org(name="材料学院", name_en="School of Materials")
    department.host_org = campus.university
    db.session.commit()
    booking = book(campus)
    assert (booking.price_tier, booking.net_amount) == ("internal", 60000)
    dept_user = make_user(department, email="dept@uni.example.cn")
    dept_booking = services.create_booking(
        dept_user,
        department,
        campus.listing,
        BookingRequest(at(workday(), 13, 30), at(workday(), 15, 30)),
    )
    assert dept_booking.price_tier == "internal"
    outsider_org = campus.outsider.memberships[0].organisation
    external = services.create_booking(
        campus.outsider,
        outsider_org,
        campus.listing,
        BookingRequest(at(workday(), 15, 30), at(workday(), 17, 30)),
    )
    assert external.price_tier == "external"


def test_the_booking_page_posts_the_account(db, client, login, campus):
    login(campus.student)
    day = workday()
    query = f"start={at(day, 8, 30).strftime('%Y-%m-%d %H:%M')}&minutes=120"
    page = client.get(f"/catalog/{campus.listing.id}/book/review?{query}")
    assert "GR-2026-001 · 国家自然科学基金" in page.get_data(as_text=True)
    response = client.post(
        f"/catalog/{campus.listing.id}/book/review?{query}",
        data={"funding_account_id": str(campus.account.id)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    booking = db.session.scalar(sa.select(Booking).order_by(Booking.id.desc()))
    assert booking.funding_account_id == campus.account.id


def test_the_booking_page_refuses_an_exhausted_account_with_its_message(db, client, login, campus):
    campus.account.budget = 1000
    campus.student.locale = "zh_CN"
    db.session.commit()
    login(campus.student)
    query = f"start={at(workday(), 8, 30).strftime('%Y-%m-%d %H:%M')}&minutes=120"
    before = count_bookings(db)
    response = client.post(
        f"/catalog/{campus.listing.id}/book/review?{query}",
        data={"funding_account_id": str(campus.account.id)},
        headers={"Accept-Language": "zh-CN"},
    )
    assert response.status_code == 409
    assert "经费账户 GR-2026-001 的预算仅剩" in response.get_data(as_text=True)
    assert count_bookings(db) == before


def test_the_api_books_on_an_account_and_refuses_another_firms(db, campus, client):
    from sharehub.api.services import create_token

    _token, plain = create_token(
        campus.student, campus.university, "ERP", ["bookings:read", "bookings:write"], 30
    )
    _other, rival = create_token(
        campus.outsider,
        campus.outsider.memberships[0].organisation,
        "ERP",
        ["bookings:read", "bookings:write"],
        30,
    )
    db.session.commit()
    day = workday()
    body = {
        "listing_id": campus.listing.id,
        "starts_at": at(day, 8, 30).isoformat(),
        "ends_at": at(day, 10, 30).isoformat(),
        "funding_account_id": campus.account.id,
    }
    headers = {"Accept-Language": "en", "Idempotency-Key": "k1"}
    refused = client.post(
        "/api/v1/bookings", json=body, headers=headers | {"Authorization": f"Bearer {rival}"}
    )
    assert refused.status_code == 403, refused.get_json()
    made = client.post(
        "/api/v1/bookings", json=body, headers=headers | {"Authorization": f"Bearer {plain}"}
    )
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["funding_account_id"] == campus.account.id
    assert made.get_json()["head_approval"] is None
