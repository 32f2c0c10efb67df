"""A testing order's cancellation racing itself (a double click) or the lab checking in
the order's first run: exactly one of them happens, never both, and a fee is billed on
one statement only.

Real concurrent sessions (threads released together by a barrier) on PostgreSQL, where
they truly overlap (row locks on the order and on the run's booking)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="a PostgreSQL race")

START = datetime(2026, 6, 15, 1, 0, tzinfo=UTC)  # Monday 15 June 2026, 09:00 in Suzhou
FEE = 26401


def _world(postgres, tmp_path, name, rounds=1):
    """A lab, its manager, a firm and its buyer, and `rounds` received orders (fee 264.01
    yuan) each with one run booked on the lab's chamber (round k at START + 4k hours), not
    yet checked in."""
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
    from sharehub.catalog.models import Field, Listing, ListingKind, ListingStatus, PriceUnit, Unit
    from sharehub.catalog.reference import seed_categories
    from sharehub.core.db import utcnow
    from sharehub.extensions import db
    from sharehub.testing import work
    from sharehub.testing.models import (
        Quote,
        QuoteLine,
        QuoteStatus,
        RequestItem,
        RequestStatus,
        TestingRequest,
        TestingService,
    )

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = postgres.create_database(name)
        STORAGE_DIR = str(tmp_path / "storage")

    app = create_app(Config)
    with app.app_context(), app.test_request_context():
        upgrade()
        seed_categories()
        lab = Organisation(kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(880201))
        firm = Organisation(
            kind=OrgKind.ENTERPRISE, name="企业", credit_code=make_credit_code(880202)
        )
        manager = User(email="manager@lab.cn", name="经理", password_hash="x")
        buyer = User(email="buyer@firm.cn", name="采购", password_hash="x")
        db.session.add(Membership(user=manager, organisation=lab, role=Role.MANAGER))
        db.session.add(Membership(user=buyer, organisation=firm, role=Role.OWNER))
        listing = Listing(
            lab=lab,
            kind=ListingKind.EQUIPMENT,
            status=ListingStatus.PUBLISHED,
            name="盐雾试验箱",
            field=Field.NEW_MATERIALS,
            category_code="020303",
            price_unit=PriceUnit.HOUR,
            price_external=10000,
            price_internal=8000,
            published_dt=utcnow(),
        )
        unit = Unit(name="#1")
        listing.units = [unit]
        service = TestingService(
            lab=lab,
            status=ListingStatus.PUBLISHED,
            name="盐雾",
            standard_code="GB/T 10125-2021",
            standard_key="GBT101252021",
            field=Field.NEW_MATERIALS,
            price_internal=1,
            price_external=80000,
        )
        service.units = [unit]
        db.session.add_all([lab, firm, listing, service])
        db.session.flush()
        rounds_ids = []
        for k in range(rounds):
            order = TestingRequest(
                lab=lab,
                customer_org=firm,
                created_by=buyer,
                status=RequestStatus.RECEIVED,
                received_dt=START - timedelta(days=1),
                total_fen=80000,
                cancel_fee_fen=FEE,
            )
            order.items = [RequestItem(service=service)]
            quote = Quote(
                status=QuoteStatus.ACCEPTED,
                valid_until=START.date(),
                turnaround_days=7,
                total_fen=80000,
            )
            quote.lines = [
                QuoteLine(description="盐雾", quantity=1, unit_price_fen=80000, amount_fen=80000)
            ]
            order.quotes = [quote]
            db.session.add(order)
            db.session.flush()
            begins = START + timedelta(hours=4 * k)
            run = work.schedule(manager, order, unit, begins, begins + timedelta(hours=3))
            rounds_ids.append((order.id, run.booking_id, begins))
        db.session.commit()
        ids = (manager.id, buyer.id, rounds_ids)
    return app, ids


def _together(app, work_items):
    from sharehub.extensions import db

    barrier = threading.Barrier(len(work_items))
    outcomes: list[str] = []

    def run(job):
        barrier.wait(timeout=30)
        with app.app_context(), app.test_request_context():
            try:
                job()
                db.session.commit()
                outcomes.append("ok")
            except Exception as exc:  # the refusal is the expected outcome of one
                db.session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(job,)) for job in work_items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sorted(outcomes)


def _state(app, order_id, booking_id, last=True):
    from sharehub.admin.consistency import cancellation_fees_off_statement, order_statements
    from sharehub.booking.models import Booking, UsageRecord
    from sharehub.extensions import db
    from sharehub.testing.models import TestingRequest
    from sharehub.testing.work_models import OrderStatement

    with app.app_context():
        order = db.session.get(TestingRequest, order_id)
        state = {
            "order": order.status.value,
            "booking": db.session.get(Booking, booking_id).status.value,
            "statements": db.session.scalars(
                sa.select(OrderStatement).where(OrderStatement.order_id == order_id)
            ).all(),
            "usage": db.session.scalar(sa.select(sa.func.count()).select_from(UsageRecord)),
        }
        state["net"] = [s.invoice.net_total for s in state["statements"]]
        assert cancellation_fees_off_statement() == [] and order_statements() == []
        db.session.remove()
        if last:
            db.engine.dispose()
    return state


def test_a_double_click_cancels_once_and_bills_the_fee_once(postgres, tmp_path):
    from sharehub.accounts.models import User
    from sharehub.extensions import db
    from sharehub.testing import cancellation
    from sharehub.testing.models import TestingRequest

    app, (_manager, buyer, rounds) = _world(postgres, tmp_path, "sharehub_cancel2")
    [(order_id, booking_id, _begins)] = rounds

    def cancel():
        cancellation.cancel(
            db.session.get(User, buyer), db.session.get(TestingRequest, order_id), "双击"
        )

    assert _together(app, [cancel, cancel]) == ["Conflict", "ok"]
    state = _state(app, order_id, booking_id)
    assert state["order"] == "cancelled" and state["booking"] == "cancelled"
    assert state["net"] == [FEE]


def test_a_cancellation_racing_the_first_check_in_lets_one_through(postgres, tmp_path):
    from sharehub.accounts.models import User
    from sharehub.booking import usage
    from sharehub.booking.models import Booking
    from sharehub.extensions import db
    from sharehub.testing import cancellation
    from sharehub.testing.models import TestingRequest

    app, (manager, buyer, rounds) = _world(postgres, tmp_path, "sharehub_cancel_in", rounds=4)
    usage_before = 0
    for n, (order_id, booking_id, begins) in enumerate(rounds):

        def cancel(order_id=order_id):
            cancellation.cancel(
                db.session.get(User, buyer), db.session.get(TestingRequest, order_id), "来不及了"
            )

        def check_in(booking_id=booking_id, begins=begins):
            usage.check_in(
                db.session.get(User, manager),
                db.session.get(Booking, booking_id),
                begins,
                now=begins + timedelta(minutes=1),
            )

        outcomes = _together(app, [cancel, check_in])
        assert outcomes == ["Conflict", "ok"], (n, outcomes)
        state = _state(app, order_id, booking_id, last=n == len(rounds) - 1)
        if state["order"] == "cancelled":  # the cancellation went first
            assert state["booking"] == "cancelled" and state["usage"] == usage_before
            assert state["net"] == [FEE]
        else:  # the check-in went first: the testing has started
            assert state["order"] == "in_testing" and state["booking"] == "in_progress"
            assert state["usage"] == usage_before + 1 and state["net"] == []
        usage_before = state["usage"]
