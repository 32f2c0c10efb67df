"""A WeChat Pay notification and the reconcile command's order query for the same paid
order at the same moment, in separate sessions: one payment is recorded, never two."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND
from tests.support.wechatpay import account_fields

TOTAL = 52999
ROUNDS = 4


@pytest.fixture
def world(postgres, tmp_path, wechatpay_server):
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
    from sharehub.billing import online
    from sharehub.billing.models import (
        GatewayKind,
        Invoice,
        InvoiceCounter,
        InvoiceLine,
        InvoiceStatus,
    )
    from sharehub.core.db import utcnow
    from sharehub.extensions import db

    if BACKEND != "postgres" or postgres is None:
        pytest.skip("real concurrent sessions need PostgreSQL")

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = postgres.create_database("sharehub_wechatpay_race")
        WECHATPAY_API_BASE = wechatpay_server.url

    app = create_app(Config)
    with app.app_context():
        upgrade()
        lab = Organisation(kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(880001))
        firm = Organisation(
            kind=OrgKind.ENTERPRISE, name="企业", credit_code=make_credit_code(880002)
        )
        manager = User(email="manager@example.cn", name="管理员", password_hash="x")
        buyer = User(email="buyer@example.cn", name="采购", password_hash="x")
        invoices = [
            Invoice(
                lab=lab,
                customer_org=firm,
                status=InvoiceStatus.ISSUED,
                year=2026,
                sequence=n + 1,
                number=f"SH-W-2026-{n + 1:06d}",
                net_total=50000,
                vat_total=2999,
                gross_total=TOTAL,
                issued_dt=utcnow(),
                lines=[
                    InvoiceLine(
                        description="检测服务",
                        unit_price=50000,
                        net=50000,
                        vat_rate_bp=600,
                        vat=2999,
                    )
                ],
            )
            for n in range(ROUNDS)
        ]
        db.session.add_all(
            [
                lab,
                firm,
                manager,
                buyer,
                Membership(user=manager, organisation=lab, role=Role.MANAGER),
                Membership(user=buyer, organisation=firm, role=Role.MEMBER),
            ]
            + invoices
        )
        db.session.flush()
        db.session.add(InvoiceCounter(lab_id=lab.id, year=2026, last_number=len(invoices)))
        account = online.save_account(
            manager,
            lab,
            GatewayKind.WECHAT_PAY,
            wechatpay_server.merchant.mchid,
            True,
            account_fields(wechatpay_server.merchant),
        )
        db.session.commit()
        ids, buyer_id, account_id = [i.id for i in invoices], buyer.id, account.id
        db.session.remove()
    yield app, ids, buyer_id, account_id
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_notification_and_reconcile_at_once_record_one_payment(world, wechatpay_server):
    from sharehub.accounts.models import User
    from sharehub.billing import online
    from sharehub.billing.models import (
        GatewayKind,
        Invoice,
        InvoiceStatus,
        OnlinePayment,
        OnlinePaymentStatus,
        Payment,
    )
    from sharehub.extensions import db

    app, ids, buyer_id, account_id = world
    notify = f"http://127.0.0.1/webhooks/wechat_pay/{account_id}"
    for invoice_id in ids:
        with app.test_request_context(base_url="http://127.0.0.1"):
            attempt = online.start_payment(
                db.session.get(User, buyer_id),
                db.session.get(Invoice, invoice_id),
                GatewayKind.WECHAT_PAY,
                "qr",
                lambda account: notify,
                "http://127.0.0.1/",
            )
            attempt.created_dt -= timedelta(minutes=5)  # old enough to be reconciled
            db.session.commit()
            out_trade_no = attempt.out_trade_no
            db.session.remove()
        sent = wechatpay_server.pay(out_trade_no, deliver=False)["notification"]
        answers, errors = race(app, sent, account_id)
        assert errors == []
        assert answers == [204]
        with app.app_context():
            amounts = db.session.scalars(
                sa.select(Payment.amount).where(Payment.invoice_id == invoice_id)
            ).all()
            assert amounts == [TOTAL]
            assert db.session.get(Invoice, invoice_id).status == InvoiceStatus.PAID
            status = db.session.scalar(
                sa.select(OnlinePayment.status).where(OnlinePayment.invoice_id == invoice_id)
            )
            assert status == OnlinePaymentStatus.PAID
            db.session.remove()


def race(app, sent: dict, account_id: int) -> tuple[list, list]:
    """The notification through the endpoint and the reconcile command, started together
    in their own sessions."""
    from sharehub.billing import online
    from sharehub.extensions import db

    barrier = threading.Barrier(2)
    answers: list[int] = []
    errors: list[Exception] = []

    def notification():
        try:
            with app.test_client() as client:
                barrier.wait()
                answers.append(
                    client.post(
                        f"/webhooks/wechat_pay/{account_id}",
                        data=sent["body"].encode(),
                        headers={**sent["headers"], "Content-Type": "application/json"},
                    ).status_code
                )
        except Exception as exc:  # reported by the test
            errors.append(exc)

    def reconcile():
        try:
            with app.app_context():
                barrier.wait()
                online.reconcile()
                db.session.remove()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=notification), threading.Thread(target=reconcile)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers, errors
