"""A voucher use lands in one settlement claim even when several managers of the lab claim it
at the same moment."""

import threading
from datetime import date, timedelta

import sqlalchemy as sa

from tests.support import clock
from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND


def test_concurrent_claims_take_a_use_once(postgres, tmp_path):
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
    from sharehub.billing.models import Invoice, InvoiceStatus
    from sharehub.booking.models import Booking, BookingStatus
    from sharehub.catalog.models import Field, Listing, ListingKind, ListingStatus, PriceUnit, Unit
    from sharehub.catalog.reference import seed_categories
    from sharehub.core.db import utcnow
    from sharehub.extensions import db
    from sharehub.vouchers import claims
    from sharehub.vouchers.models import (
        SettlementClaim,
        VoucherProgramme,
        VoucherQuota,
        VoucherUse,
    )

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = (
            postgres.create_database("sharehub_voucher_claims")
            if BACKEND == "postgres" and postgres is not None
            else f"sqlite:///{tmp_path / 'claims.db'}"
        )

    year = clock.today().year
    app = create_app(Config)
    with app.app_context():
        upgrade()
        seed_categories()
        lab = Organisation(kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(560001))
        firm = Organisation(
            kind=OrgKind.ENTERPRISE, name="企业", credit_code=make_credit_code(560002)
        )
        authority = Organisation(
            kind=OrgKind.AUTHORITY, name="科技局", credit_code=make_credit_code(560003)
        )
        managers = [
            User(email=f"manager{n}@example.cn", name=f"管理员{n}", password_hash="x")
            for n in range(6)
        ]
        listing = Listing(
            lab=lab,
            kind=ListingKind.EQUIPMENT,
            status=ListingStatus.PUBLISHED,
            name="拉力试验机",
            field=Field.HIGH_END_MANUFACTURING,
            category_code="030101",
            price_unit=PriceUnit.HOUR,
            price_external=10000,
            price_internal=8000,
        )
        unit = Unit(name="#1")
        listing.units.append(unit)
        start = utcnow() - timedelta(days=2)
        booking = Booking(
            uid="claims-race@sharehub",
            listing=listing,
            unit=unit,
            customer_org=firm,
            starts_dt=start,
            ends_dt=start + timedelta(hours=1),
            blocked_until_dt=start + timedelta(hours=1),
            status=BookingStatus.COMPLETED,
            price_tier="external",
            net_amount=10000,
            vat_rate_bp=0,
            vat_amount=0,
            gross_amount=10000,
        )
        invoice = Invoice(
            lab=lab,
            customer_org=firm,
            booking=booking,
            status=InvoiceStatus.PAID,
            year=year,
            sequence=1,
            number="SH-C-0001",
            net_total=10000,
            vat_total=0,
            gross_total=10000,
            issued_dt=utcnow(),
        )
        programme = VoucherProgramme(
            authority=authority,
            name="创新券",
            subsidy_bp=5000,
            yearly_cap=10_000_00,
            order_cap=10_000_00,
            valid_from=date(year, 1, 1),
            valid_to=date(year, 12, 31),
        )
        quota = VoucherQuota(
            programme=programme,
            firm=firm,
            year=year,
            requested_amount=1_000_00,
            granted_amount=1_000_00,
            used_amount=50_00,
            status="granted",
        )
        use = VoucherUse(quota=quota, invoice=invoice, amount=50_00)
        db.session.add_all([lab, firm, authority, listing, booking, invoice, programme, use])
        db.session.add_all(
            [Membership(user=m, organisation=lab, role=Role.MANAGER) for m in managers]
        )
        db.session.commit()
        ids = [m.id for m in managers]
        lab_id, programme_id, use_id = lab.id, programme.id, use.id
        db.session.remove()

    barrier = threading.Barrier(len(ids))
    outcomes = []

    def claim(manager_id):
        barrier.wait(timeout=30)
        with app.test_request_context():
            try:
                claims.create_claim(
                    db.session.get(User, manager_id),
                    db.session.get(Organisation, lab_id),
                    db.session.get(VoucherProgramme, programme_id),
                    [use_id],
                )
                db.session.commit()
                outcomes.append("claimed")
            except Exception as exc:  # the others find it claimed
                db.session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=claim, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    with app.app_context():
        claim_ids = db.session.scalars(sa.select(SettlementClaim.id)).all()
        held_by = db.session.get(VoucherUse, use_id).claim_id
        db.session.remove()
        db.engine.dispose()
    assert outcomes.count("claimed") == 1, outcomes
    assert set(outcomes) <= {"claimed", "Conflict"}, outcomes
    assert claim_ids == [held_by]
