"""The Idempotency-Key header of the API's POSTs: a retry with the same key gets the first
answer instead of acting twice (or being told its own slot is taken)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.booking.models import Booking
from tests.support import clock
from tests.support.api import body
from tests.support.backend import BACKEND
from tests.support.clock import workday

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def listing(lab, make_listing):
    return make_listing(lab, approval_required=False, price_external=49999, units=1)


def post(api, path, payload, token, key):
    return api.client.post(
        path,
        json=payload,
        headers={**api._headers(token), "Idempotency-Key": key},
    )


def bookings_of(db, listing) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Booking.id)).where(Booking.listing_id == listing.id)
    )


def test_same_key_twice_answers_the_same_201_and_books_once(api, db, firm, make_token, listing):
    token = make_token(*reversed(firm))
    payload = body(listing, workday(), purpose="ICP 检测")
    first = post(api, "/api/v1/bookings", payload, token, "order-4711")
    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    again = post(api, "/api/v1/bookings", payload, token, "order-4711")
    assert again.status_code == 201, again.get_json()  # not 409 slot-taken
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Content-Type"] == first.headers["Content-Type"]
    assert bookings_of(db, listing) == 1

    # Without the key, the same request acts again: here the slot is taken.
    plain = api.post("/api/v1/bookings", payload, token=token)
    assert plain.status_code == 409
    assert plain.get_json()["type"] == "urn:sharehub:problem:slot-taken"


def test_same_key_with_another_body_is_422_and_changes_nothing(api, db, firm, make_token, listing):
    token = make_token(*reversed(firm))
    day = workday()
    assert post(api, "/api/v1/bookings", body(listing, day), token, "k-1").status_code == 201
    other = post(
        api, "/api/v1/bookings", body(listing, day, start=(13, 30), end=(14, 30)), token, "k-1"
    )
    assert other.status_code == 422
    assert other.get_json()["type"] == "urn:sharehub:problem:idempotency-key-reused"
    # The same key on another operation is another request too.
    booking_id = db.session.scalar(sa.select(Booking.id).where(Booking.listing_id == listing.id))
    cancel = post(api, f"/api/v1/bookings/{booking_id}/cancel", {"reason": "x"}, token, "k-1")
    assert cancel.status_code == 422
    db.session.expire_all()
    assert bookings_of(db, listing) == 1
    assert db.session.get(Booking, booking_id).status == "confirmed"


def test_keys_are_per_user_and_expire_after_a_day(api, db, firm, rival, make_token, listing):
    token, other = make_token(*reversed(firm)), make_token(*reversed(rival))
    day = workday()
    first = post(api, "/api/v1/bookings", body(listing, day), token, "shared-key")
    assert first.status_code == 201
    # Another user's identical key is another key: the request runs (and finds the slot taken).
    theirs = post(api, "/api/v1/bookings", body(listing, day), other, "shared-key")
    assert theirs.status_code == 409
    assert theirs.get_json()["type"] == "urn:sharehub:problem:slot-taken"

    from sharehub.api.models import IdempotencyKey

    row = db.session.scalar(sa.select(IdempotencyKey).where(IdempotencyKey.key == "shared-key"))
    row.created_dt -= timedelta(hours=24, seconds=1)
    db.session.commit()
    expired = post(api, "/api/v1/bookings", body(listing, day), token, "shared-key")
    assert expired.status_code == 409  # run again, not replayed
    assert "Idempotent-Replayed" not in expired.headers


def test_errors_are_not_stored_and_the_retry_runs_again(api, db, firm, make_token, listing):
    token = make_token(*reversed(firm))
    day = workday()
    off_grid = post(api, "/api/v1/bookings", body(listing, day, start=(9, 45)), token, "k-2")
    assert off_grid.status_code == 409  # off the slot grid: a conflict with the listing
    bad = post(api, "/api/v1/bookings", {"listing_id": listing.id}, token, "k-2")
    assert bad.status_code == 422 and "errors" in bad.get_json()
    from sharehub.api.models import IdempotencyKey

    assert db.session.scalar(sa.select(sa.func.count(IdempotencyKey.id))) == 0
    fixed = post(api, "/api/v1/bookings", body(listing, day), token, "k-2")
    assert fixed.status_code == 201
    assert bookings_of(db, listing) == 1


def test_usage_records_and_state_changes_take_the_key_too(
    api, db, firm, lab, lab_manager, make_token, make_listing
):
    listing = make_listing(lab, approval_required=True)
    customer = make_token(*reversed(firm))
    created = post(api, "/api/v1/bookings", body(listing, workday()), customer, "c-1").get_json()
    lab_token = make_token(lab_manager, lab)
    path = f"/api/v1/bookings/{created['id']}/approve"
    approved = post(api, path, {}, lab_token, "a-1")
    assert approved.status_code == 200 and approved.get_json()["status"] == "confirmed"
    replay = post(api, path, {}, lab_token, "a-1")
    assert replay.status_code == 200 and replay.get_json() == approved.get_json()
    assert api.post(path, token=lab_token).status_code == 409  # without the key: decided

    unit = listing.units[0]
    day = clock.today() - timedelta(days=7)  # usage is logged after it happened
    record = {
        "unit_id": unit.id,
        "started_at": f"{day}T09:00:00+08:00",
        "ended_at": f"{day}T10:00:00+08:00",
        "run_minutes": 60,
    }
    one = post(api, "/api/v1/usage-records", record, lab_token, "u-1")
    assert one.status_code == 201, one.get_json()
    two = post(api, "/api/v1/usage-records", record, lab_token, "u-1")
    assert two.get_json() == one.get_json()
    from sharehub.booking.models import UsageRecord

    assert (
        db.session.scalar(
            sa.select(sa.func.count(UsageRecord.id)).where(UsageRecord.unit_id == unit.id)
        )
        == 1
    )


def test_a_malformed_key_is_400(api, firm, make_token, listing):
    token = make_token(*reversed(firm))
    answer = post(api, "/api/v1/bookings", body(listing, workday()), token, "x" * 256)
    assert answer.status_code == 400
    assert answer.get_json()["type"] == "urn:sharehub:problem:invalid-idempotency-key"


def test_the_header_is_documented_on_every_post(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    posts = {path: item["post"] for path, item in spec["paths"].items() if "post" in item}
    assert "/api/v1/bookings" in posts and "/api/v1/usage-records" in posts
    for path, operation in posts.items():
        if path == "/api/v1/devices/events":
            continue  # a device's events are idempotent by their own event id (documented)
        names = [p.get("name") for p in operation.get("parameters", [])]
        assert "Idempotency-Key" in names, path
        assert {"409", "422"} <= set(operation["responses"]), path
    gets = [item["get"] for item in spec["paths"].values() if "get" in item]
    assert not any(
        "Idempotency-Key" in [p.get("name") for p in op.get("parameters", [])] for op in gets
    )


@pytest.mark.skipif(BACKEND != "postgres", reason="concurrent transactions on PostgreSQL")
def test_concurrent_requests_with_one_key_book_once(postgres, tmp_path, monkeypatch):
    """Two requests with the same key at once, the first one slowed down inside its
    transaction: one booking; the second gets the same answer (it waited for the first)."""
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
    from sharehub.api.services import create_token
    from sharehub.booking import services
    from sharehub.catalog.models import (
        Field,
        Listing,
        ListingKind,
        ListingStatus,
        OpeningInterval,
        PriceUnit,
        Unit,
    )
    from sharehub.core.db import utcnow
    from sharehub.extensions import db
    from tests.support.accounts import make_credit_code
    from tests.support.catalog import WEEKDAY_HOURS

    if postgres is None:
        pytest.skip("needs the throwaway PostgreSQL cluster")

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = postgres.create_database("sharehub_idempotency")
        STORAGE_DIR = str(tmp_path)

    app = create_app(Config)
    with app.app_context():
        upgrade()
        lab = Organisation(
            kind=OrgKind.LAB, name="幂等实验室", credit_code=make_credit_code(990000)
        )
        listing = Listing(
            lab=lab,
            kind=ListingKind.EQUIPMENT,
            status=ListingStatus.PUBLISHED,
            name="幂等测试仪器",
            field=Field.NEW_MATERIALS,
            category_code="020303",
            price_unit=PriceUnit.HOUR,
            price_external=50000,
            price_internal=30000,
            published_dt=utcnow(),
            approval_required=False,
        )
        listing.units.append(Unit(name="#1"))
        for weekday, start, end in WEEKDAY_HOURS:
            listing.opening_hours.append(
                OpeningInterval(weekday=weekday, start_minute=start, end_minute=end)
            )
        firm = Organisation(
            kind=OrgKind.ENTERPRISE, name="幂等企业", credit_code=make_credit_code(990001)
        )
        user = User(email="idem@example.cn", name="客户", email_verified_dt=utcnow())
        user.set_password("idempotency-secret")
        db.session.add_all([lab, listing, firm, user])
        db.session.add(Membership(user=user, organisation=firm, role=Role.OWNER))
        db.session.flush()
        _token, plain = create_token(user, firm, "ERP", ["bookings:write"], 30)
        db.session.commit()
        payload = body(listing, workday())
        listing_id = listing.id
        db.session.remove()

    real = services.create_booking
    inside = threading.Event()

    def slow_create_booking(*args, **kwargs):
        booking = real(*args, **kwargs)
        inside.set()
        threading.Event().wait(1.0)  # hold the transaction open while the twin arrives
        return booking

    monkeypatch.setattr(services, "create_booking", slow_create_booking)
    barrier = threading.Barrier(2)
    answers: list = [None, None]

    def attempt(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        if i == 1:
            inside.wait(10)  # the first request holds the key and its booking
        response = client.post(
            "/api/v1/bookings",
            json=payload,
            headers={"Authorization": f"Bearer {plain}", "Idempotency-Key": "same-order"},
        )
        answers[i] = (response.status_code, response.get_json(), dict(response.headers))

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    (first, first_body, _), (second, second_body, second_headers) = answers
    assert first == 201, first_body
    assert second in (201, 409), second_body
    if second == 201:
        assert second_body == first_body
        assert second_headers["Idempotent-Replayed"] == "true"
    else:
        assert second_body["type"] == "urn:sharehub:problem:request-in-progress"
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count(Booking.id)).where(Booking.listing_id == listing_id)
        )
        db.session.remove()
        db.engine.dispose()
    assert count == 1
