"""Two members of a firm (or a double submit) asking for the fapiao of one statement at the
same moment: one request is made, the other is refused. Real concurrent sessions released
together by a barrier, on PostgreSQL (SQLite serializes writers from the start)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="a PostgreSQL race")

DAY = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)


@pytest.fixture
def world(postgres, tmp_path):
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
    from sharehub.billing import services as billing
    from sharehub.booking.models import Booking, BookingStatus
    from sharehub.catalog.models import Field, Listing, ListingKind, ListingStatus, PriceUnit, Unit
    from sharehub.catalog.reference import seed_categories
    from sharehub.core.db import utcnow
    from sharehub.extensions import db
    from sharehub.fapiao import services
    from sharehub.fapiao.models import FapiaoKind

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = postgres.create_database("sharehub_fapiao_race")
        STORAGE_DIR = str(tmp_path / "storage")

    app = create_app(Config)
    ids = {}
    with app.app_context():
        upgrade()
        seed_categories()
        lab = Organisation(kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(890001))
        firm = Organisation(
            kind=OrgKind.ENTERPRISE, name="企业", credit_code=make_credit_code(890002)
        )
        manager = User(email="manager@example.cn", name="管理员", password_hash="x")
        buyers = [
            User(email=f"buyer{n}@example.cn", name=f"买家{n}", password_hash="x") for n in range(2)
        ]
        listing = Listing(
            lab=lab,
            kind=ListingKind.EQUIPMENT,
            status=ListingStatus.PUBLISHED,
            name="扫描电镜",
            field=Field.NEW_MATERIALS,
            category_code="020303",
            price_unit=PriceUnit.HOUR,
            price_external=49999,
            price_internal=30000,
            published_dt=utcnow(),
        )
        listing.units.append(Unit(name="#1"))
        db.session.add_all([lab, firm, manager, *buyers, listing])
        db.session.add(Membership(user=manager, organisation=lab, role=Role.MANAGER))
        for buyer in buyers:
            db.session.add(Membership(user=buyer, organisation=firm, role=Role.MEMBER))
        db.session.flush()
        booking = Booking(
            uid="fapiao-race@example.cn",
            listing_id=listing.id,
            unit_id=listing.units[0].id,
            customer_org_id=firm.id,
            customer_user_id=buyers[0].id,
            starts_dt=DAY,
            ends_dt=DAY + timedelta(hours=2),
            blocked_until_dt=DAY + timedelta(hours=2),
            status=BookingStatus.CONFIRMED,
            price_tier="external",
            net_amount=99998,
            vat_rate_bp=600,
            vat_amount=6000,
            gross_amount=105998,
        )
        db.session.add(booking)
        db.session.flush()
        with app.test_request_context():
            invoice = billing.invoice_from_booking(manager, booking)
            billing.issue(manager, invoice)
            profile = services.save_profile(
                buyers[0],
                firm,
                services.ProfileData(
                    kind=FapiaoKind.NORMAL, title="企业", tax_id=make_credit_code(890002)
                ),
            )
        db.session.commit()
        ids = {
            "invoice": invoice.id,
            "profile": profile.id,
            "buyers": [b.id for b in buyers],
        }
        db.session.remove()
    yield app, db, ids
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_two_requests_for_one_statement_at_once_make_one(world):
    from sharehub.accounts.models import User
    from sharehub.billing.models import Invoice
    from sharehub.fapiao import services
    from sharehub.fapiao.models import FapiaoRequest, InvoiceProfile

    app, db, ids = world
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run(user_id):
        with app.app_context(), app.test_request_context():
            try:
                user = db.session.get(User, user_id)
                invoice = db.session.get(Invoice, ids["invoice"])
                profile = db.session.get(InvoiceProfile, ids["profile"])
                assert services.open_request(invoice) is None  # both read "none yet"
                barrier.wait(timeout=30)
                services.request_fapiao(user, invoice, profile)
                db.session.commit()
                outcomes.append("ok")
            except Exception as exc:
                db.session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(uid,)) for uid in ids["buyers"]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert sorted(outcomes) == ["Conflict", "ok"]
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(FapiaoRequest)
            .where(FapiaoRequest.invoice_id == ids["invoice"])
        )
        db.session.remove()
    assert count == 1
