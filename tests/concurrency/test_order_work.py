"""A double click or two managers at once on a testing order: the order is billed once,
and two runs of the same unit at the same time cannot both be booked.

Real concurrent sessions (threads released together by a barrier) on PostgreSQL, where
they truly overlap (row locks, the bookings' exclusion constraint)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="a PostgreSQL race")

START = datetime(2026, 6, 15, 1, 0, tzinfo=UTC)  # Monday 15 June 2026, 09:00 in Suzhou


def _world(postgres, tmp_path, name):
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
    from sharehub.catalog.models import (
        Field,
        Listing,
        ListingKind,
        ListingStatus,
        PriceUnit,
        Unit,
    )
    from sharehub.catalog.reference import seed_categories
    from sharehub.core.db import utcnow
    from sharehub.extensions import db
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
    with app.app_context():
        upgrade()
        seed_categories()
        lab = Organisation(kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(880101))
        firm = Organisation(
            kind=OrgKind.ENTERPRISE, name="企业", credit_code=make_credit_code(880102)
        )
        managers = []
        for n in range(2):
            user = User(email=f"manager{n}@lab.cn", name=f"经理{n}", password_hash="x")
            db.session.add(Membership(user=user, organisation=lab, role=Role.MANAGER))
            managers.append(user)
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
        orders = []
        for _ in range(2):
            order = TestingRequest(lab=lab, customer_org=firm, status=RequestStatus.RECEIVED)
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
            orders.append(order)
        db.session.commit()
        ids = ([m.id for m in managers], [o.id for o in orders], unit.id)
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


def test_a_double_click_bills_the_order_once(postgres, tmp_path):
    from sharehub.accounts.models import User
    from sharehub.extensions import db
    from sharehub.testing import work
    from sharehub.testing.models import TestingRequest
    from sharehub.testing.work_models import OrderStatement

    app, (managers, orders, _) = _world(postgres, tmp_path, "sharehub_order_bill")

    def bill(manager_id):
        return lambda: work.bill(
            db.session.get(User, manager_id), db.session.get(TestingRequest, orders[0])
        )

    outcomes = _together(app, [bill(managers[0]), bill(managers[1])])
    assert outcomes == ["Conflict", "ok"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderStatement)) == 1
        from sharehub.admin.consistency import violations

        assert violations()["order_statements"] == []
        db.session.remove()
        db.engine.dispose()


def test_two_runs_on_one_unit_at_one_time_book_once(postgres, tmp_path):
    from sharehub.accounts.models import User
    from sharehub.catalog.models import Unit
    from sharehub.extensions import db
    from sharehub.testing import work
    from sharehub.testing.models import TestingRequest
    from sharehub.testing.work_models import TestRun

    app, (managers, orders, unit_id) = _world(postgres, tmp_path, "sharehub_order_runs")

    def schedule(manager_id, order_id):
        return lambda: work.schedule(
            db.session.get(User, manager_id),
            db.session.get(TestingRequest, order_id),
            db.session.get(Unit, unit_id),
            START,
            START + timedelta(hours=96),
        )

    outcomes = _together(app, [schedule(managers[0], orders[0]), schedule(managers[1], orders[1])])
    assert outcomes == ["SlotTaken", "ok"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TestRun)) == 1
        db.session.remove()
        db.engine.dispose()
