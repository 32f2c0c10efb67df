"""Alipay's notification and the reconcile command's trade query for the same payment at
the same moment, and two reconcile runs on two machines at once: each payment is recorded
once (the attempt's row lock; FOR UPDATE SKIP LOCKED shares the work)."""

import threading
import time

import pytest

from tests.support.accounts import make_credit_code
from tests.support.alipay import customer_pays
from tests.support.backend import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="a PostgreSQL race")

TOTAL = 106000


@pytest.fixture
def world(postgres, alipay_server, alipay_keys):
    from datetime import timedelta

    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
    from sharehub.billing import online
    from sharehub.billing.gateways import gateway_for
    from sharehub.billing.models import (
        GatewayKind,
        Invoice,
        InvoiceCounter,
        InvoiceLine,
        InvoiceStatus,
        OnlinePayment,
    )
    from sharehub.core.db import utcnow
    from sharehub.extensions import db

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = postgres.create_database("sharehub_online_races")
        ALIPAY_SERVER_URL = alipay_server + "/gateway.do"

    app = create_app(Config)
    with app.app_context():
        upgrade()
        lab = Organisation(kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(880001))
        firm = Organisation(
            kind=OrgKind.ENTERPRISE, name="企业", credit_code=make_credit_code(880002)
        )
        manager = User(email="manager@example.cn", name="管理员", password_hash="x")
        invoices = [
            Invoice(
                lab=lab,
                customer_org=firm,
                status=InvoiceStatus.ISSUED,
                year=2026,
                sequence=n + 1,
                number=f"SH-A-2026-{n + 1:06d}",
                net_total=100000,
                vat_total=6000,
                gross_total=TOTAL,
                issued_dt=utcnow(),
                lines=[
                    InvoiceLine(
                        description="检测服务",
                        unit_price=100000,
                        net=100000,
                        vat_rate_bp=600,
                        vat=6000,
                    )
                ],
            )
            for n in range(6)
        ]
        db.session.add_all(
            [lab, firm, manager, Membership(user=manager, organisation=lab, role=Role.MANAGER)]
            + invoices
        )
        db.session.flush()
        db.session.add(InvoiceCounter(lab_id=lab.id, year=2026, last_number=len(invoices)))
        account = online.save_account(
            manager,
            lab,
            GatewayKind.ALIPAY,
            alipay_keys["app_id"],
            True,
            {
                "app_private_key": alipay_keys["app_private_key"],
                "alipay_public_key": alipay_keys["alipay_public_key"],
            },
        )
        attempts = []
        for invoice in invoices:
            attempt = OnlinePayment(
                invoice=invoice,
                lab_id=lab.id,
                account=account,
                kind=GatewayKind.ALIPAY,
                channel="qr",
                out_trade_no=online.new_out_trade_no(invoice),
                amount_fen=TOTAL,
                expires_dt=utcnow() + timedelta(minutes=15),
            )
            attempt.code_url = gateway_for(account).start(attempt, "qr", "", "").code_url
            attempt.created_dt = utcnow() - timedelta(minutes=5)
            db.session.add(attempt)
            attempts.append(attempt)
        db.session.commit()
        paid = {a.id: customer_pays(alipay_server, a.out_trade_no)["params"] for a in attempts}
        account_id = account.id
        db.session.remove()
    yield app, account_id, paid
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def notification(app, account_id, params, hold=None):
    from sharehub.billing import online
    from sharehub.billing.gateways import gateway_for
    from sharehub.billing.models import MerchantAccount
    from sharehub.extensions import db

    with app.test_request_context(method="POST", data=params):
        from flask import request

        try:
            account = db.session.get(MerchantAccount, account_id)
            note = gateway_for(account).verify_notification(request)
            ok, outcome = online.apply_news(account, note, source="notify")
            if hold:
                hold()
            db.session.commit()
            return ok, outcome
        finally:
            db.session.remove()


def reconcile(app):
    from sharehub.billing import online
    from sharehub.extensions import db

    with app.app_context():
        try:
            return online.reconcile()
        finally:
            db.session.remove()


def check(app, expected: int) -> None:
    from sharehub.admin.consistency import violations
    from sharehub.billing.models import OnlinePayment, OnlinePaymentStatus, Payment
    from sharehub.extensions import db

    with app.app_context():
        payments = db.session.scalars(db.select(Payment)).all()
        assert len(payments) == expected
        assert {p.amount for p in payments} <= {TOTAL}
        paid = db.session.scalars(
            db.select(OnlinePayment).where(OnlinePayment.status == OnlinePaymentStatus.PAID)
        ).all()
        assert sorted(a.payment_id for a in paid) == sorted(p.id for p in payments)
        found = violations()
        db.session.remove()
    assert not any(found.values()), found


def _slow_query(monkeypatch, on_query=None, pause: float = 0.0):
    from sharehub.billing.gateways.alipay import AlipayGateway

    real = AlipayGateway.query

    def query(self, attempt):
        answer = real(self, attempt)
        if on_query:
            on_query()
        if pause:
            time.sleep(pause)
        return answer

    monkeypatch.setattr(AlipayGateway, "query", query)


def test_query_holding_the_attempt_and_the_notification_record_one_payment(world, monkeypatch):
    """reconcile has locked the attempt and asked Alipay; the notification comes meanwhile
    and waits; then reconcile records the payment and the notification is a duplicate."""
    app, account_id, paid = world
    first_id = min(paid)
    locked, release = threading.Event(), threading.Event()
    calls = []

    def on_query():
        calls.append(1)
        if len(calls) == 1:
            locked.set()
            assert release.wait(timeout=30)

    _slow_query(monkeypatch, on_query)
    results = {}
    query_thread = threading.Thread(target=lambda: results.update(query=reconcile(app)))
    query_thread.start()
    assert locked.wait(timeout=30)
    notify_thread = threading.Thread(
        target=lambda: results.update(notify=notification(app, account_id, paid[first_id]))
    )
    notify_thread.start()
    time.sleep(1.0)
    assert "notify" not in results  # waiting for the attempt's row
    release.set()
    for thread in (query_thread, notify_thread):
        thread.join(timeout=60)
    assert results["notify"] == (True, "duplicate")
    assert results["query"]["paid"] == 6
    check(app, 6)


def test_notification_holding_the_attempt_is_skipped_by_reconcile(world):
    app, account_id, paid = world
    first_id = min(paid)
    written, release = threading.Event(), threading.Event()

    def hold():
        written.set()
        assert release.wait(timeout=30)

    results = {}
    notify_thread = threading.Thread(
        target=lambda: results.update(notify=notification(app, account_id, paid[first_id], hold))
    )
    notify_thread.start()
    assert written.wait(timeout=30)
    results["query"] = reconcile(app)  # skips the locked attempt, takes the five others
    release.set()
    notify_thread.join(timeout=60)
    assert results["notify"] == (True, "recorded")
    assert results["query"]["paid"] == 5
    assert reconcile(app)["paid"] == 0
    check(app, 6)


def test_two_reconcile_runs_at_once_record_each_payment_once(world, monkeypatch):
    app, account_id, paid = world
    _slow_query(monkeypatch, pause=0.3)
    barrier = threading.Barrier(2)
    results = []

    def run():
        barrier.wait(timeout=30)
        results.append(reconcile(app))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(r["paid"] for r in results) != [0, 6]  # both did part of the work
    assert sum(r["paid"] for r in results) == 6
    assert sum(r["pending"] + r["errors"] for r in results) == 0
    check(app, 6)
