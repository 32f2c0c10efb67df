"""Voucher quotas hold when many orders of one firm use the voucher at the same moment."""

import threading
from datetime import date

import sqlalchemy as sa

from tests.support import clock
from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND


def test_concurrent_orders_never_exceed_the_quota(postgres, tmp_path):
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
    from sharehub.billing.models import Invoice, InvoiceLine, InvoiceStatus
    from sharehub.core.db import utcnow
    from sharehub.extensions import db
    from sharehub.vouchers import services
    from sharehub.vouchers.models import VoucherProgramme, VoucherQuota, VoucherUse

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = (
            postgres.create_database("sharehub_vouchers")
            if BACKEND == "postgres" and postgres is not None
            else f"sqlite:///{tmp_path / 'vouchers.db'}"
        )

    year = clock.today().year
    app = create_app(Config)
    with app.app_context():
        upgrade()
        lab = Organisation(kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(550001))
        firm = Organisation(
            kind=OrgKind.ENTERPRISE, name="企业", credit_code=make_credit_code(550002)
        )
        authority = Organisation(
            kind=OrgKind.AUTHORITY, name="科技局", credit_code=make_credit_code(550003)
        )
        buyer = User(email="buyer@example.cn", name="买家", password_hash="x")
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
            status="granted",
        )
        db.session.add_all(
            [
                lab,
                firm,
                authority,
                buyer,
                programme,
                quota,
                Membership(user=buyer, organisation=firm, role=Role.OWNER),
            ]
        )
        invoices = []
        for n in range(12):  # each could take 300.00; together far more than the 1,000.00
            invoice = Invoice(
                lab=lab,
                customer_org=firm,
                status=InvoiceStatus.ISSUED,
                year=year,
                sequence=n + 1,
                number=f"SH-V-{n + 1:04d}",
                net_total=60000,
                vat_total=0,
                gross_total=60000,
                issued_dt=utcnow(),
            )
            invoice.lines.append(
                InvoiceLine(description="检测", unit_price=60000, net=60000, vat_rate_bp=0, vat=0)
            )
            invoices.append(invoice)
        db.session.add_all(invoices)
        db.session.commit()
        ids = [i.id for i in invoices]
        quota_id, buyer_id = quota.id, buyer.id
        db.session.remove()

    barrier = threading.Barrier(len(ids))
    outcomes = []

    def use(invoice_id):
        barrier.wait(timeout=30)
        with app.app_context():
            try:
                actor = db.session.get(User, buyer_id)
                services.use_voucher(
                    actor,
                    db.session.get(VoucherQuota, quota_id),
                    db.session.get(Invoice, invoice_id),
                )
                db.session.commit()
                outcomes.append("used")
            except Exception as exc:  # the quota ran out for the late ones
                db.session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=use, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    with app.app_context():
        used = db.session.get(VoucherQuota, quota_id).used_amount
        total = db.session.scalar(sa.select(sa.func.sum(VoucherUse.amount)))
        db.session.remove()
        db.engine.dispose()
    assert used == total == 1_000_00  # 300 + 300 + 300 + 100, never more
    assert outcomes.count("used") == 4
    assert set(outcomes) <= {"used", "Conflict"}, outcomes
