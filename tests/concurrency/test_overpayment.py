"""A bank transfer recorded and the gateway's event of an online payment for the same
invoice at the same moment: both sums of money are recorded once, and the excess is put to
refund once, whichever commits first."""

import threading
import time
from datetime import date

import pytest

from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND

TOTAL = 106000


@pytest.fixture
def world(postgres, tmp_path):
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
    from sharehub.billing.models import Invoice, InvoiceCounter, InvoiceLine, InvoiceStatus
    from sharehub.core.db import utcnow
    from sharehub.extensions import db

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = (
            postgres.create_database("sharehub_overpayment")
            if BACKEND == "postgres" and postgres is not None
            else f"sqlite:///{tmp_path / 'overpayment.db'}"
        )

    app = create_app(Config)
    with app.app_context():
        upgrade()
        lab = Organisation(kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(770001))
        firm = Organisation(
            kind=OrgKind.ENTERPRISE, name="企业", credit_code=make_credit_code(770002)
        )
        manager = User(email="manager@example.cn", name="管理员", password_hash="x")
        invoices = [
            Invoice(
                lab=lab,
                customer_org=firm,
                status=InvoiceStatus.ISSUED,
                year=2026,
                sequence=n + 1,
                number=f"SH-O-2026-{n + 1:06d}",
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
        db.session.commit()
        ids, manager_id = [i.id for i in invoices], manager.id
        db.session.remove()
    yield app, ids, manager_id
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def intent_event(invoice_id: int) -> dict:
    return {
        "id": f"evt_{invoice_id}",
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": f"pi_{invoice_id}",
                "amount_received": TOTAL,
                "payment_method_types": ["alipay"],
                "metadata": {"invoice_id": str(invoice_id)},
            }
        },
    }


def transfer(app, invoice_id, manager_id, hold=None):
    from sharehub.accounts.models import User
    from sharehub.billing import payments
    from sharehub.billing.models import Invoice
    from sharehub.extensions import db

    with app.app_context():
        try:
            payments.record_bank_transfer(
                db.session.get(User, manager_id),
                db.session.get(Invoice, invoice_id),
                TOTAL,
                date(2026, 3, 2),
                "对公转账",
                seen_outstanding=TOTAL,  # the lab typed it while the invoice was open
            )
            if hold:
                hold()
            db.session.commit()
            return "recorded"
        finally:
            db.session.remove()


def webhook(app, invoice_id, hold=None):
    from sharehub.billing import gateway
    from sharehub.extensions import db

    with app.app_context():
        try:
            outcome = gateway.handle_event(intent_event(invoice_id))
            if hold:
                hold()
            db.session.commit()
            return outcome
        finally:
            db.session.remove()


def check(app, invoice_ids) -> None:
    from sharehub.admin.consistency import violations
    from sharehub.billing.models import Invoice, InvoiceStatus, RefundStatus
    from sharehub.extensions import db

    with app.app_context():
        for invoice_id in invoice_ids:
            invoice = db.session.get(Invoice, invoice_id)
            received = sorted((p.method.value, p.amount) for p in invoice.payments)
            assert received == [("alipay", TOTAL), ("bank_transfer", TOTAL)], received
            (refund,) = invoice.refunds
            later = max(invoice.payments, key=lambda p: p.id)
            assert (refund.payment_id, refund.method, refund.amount, refund.status) == (
                later.id,
                later.method,
                TOTAL,
                RefundStatus.REQUESTED,
            )
            assert (invoice.status, invoice.paid_amount, invoice.overpaid) == (
                InvoiceStatus.PAID,
                TOTAL,
                0,
            )
        found = violations()
        db.session.remove()
    assert not any(found.values()), found


@pytest.mark.parametrize("first", ["transfer", "webhook"])
def test_the_second_to_commit_is_recorded_and_refunded_once(world, first):
    """One holds its transaction open after writing; the other starts meanwhile and waits
    for the invoice; then the first commits."""
    app, ids, manager_id = world
    invoice_id = ids[0]
    written, release = threading.Event(), threading.Event()

    def hold():
        written.set()
        assert release.wait(timeout=30)

    calls = {
        "transfer": lambda hold=None: transfer(app, invoice_id, manager_id, hold),
        "webhook": lambda hold=None: webhook(app, invoice_id, hold),
    }
    second = "webhook" if first == "transfer" else "transfer"
    results = {}
    threads = [
        threading.Thread(target=lambda: results.update({first: calls[first](hold)})),
        threading.Thread(target=lambda: results.update({second: calls[second]()})),
    ]
    threads[0].start()
    assert written.wait(timeout=30)
    threads[1].start()
    time.sleep(1.0)  # the second now waits for the first one's lock
    assert second not in results
    release.set()
    for thread in threads:
        thread.join(timeout=60)
    expected_webhook = (
        "recorded" if first == "webhook" else f"recorded; {TOTAL} overpaid, refunding"
    )
    assert results == {"transfer": "recorded", "webhook": expected_webhook}
    check(app, [invoice_id])


def test_transfers_and_webhooks_at_the_same_moment(world):
    app, ids, manager_id = world
    calls = []
    for invoice_id in ids:
        calls.append(lambda i=invoice_id: transfer(app, i, manager_id))
        calls.append(lambda i=invoice_id: webhook(app, i))
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(n, call):
        barrier.wait(timeout=30)
        try:
            results[n] = call()
        except Exception as exc:  # reported below, never swallowed
            results[n] = repr(exc)

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert all(r is not None and r.startswith("recorded") for r in results), results
    check(app, ids)


def refund_event(invoice_id: int) -> dict:
    return {
        "id": f"evt_refund_{invoice_id}",
        "type": "refund.updated",
        "data": {
            "object": {
                "id": f"re_{invoice_id}",
                "amount": 6000,
                "payment_intent": f"pi_{invoice_id}",
                "status": "succeeded",
                "metadata": {},
            }
        },
    }


@pytest.mark.parametrize("first", ["refund", "payment"])
def test_a_refund_event_and_its_payment_event_at_the_same_moment(world, first):
    """The refund event finds no payment and is kept as awaiting it while the payment event
    commits: neither may miss the other, or the refund would wait for ever."""
    from sharehub.billing import gateway
    from sharehub.billing.models import GatewayEvent, Invoice, RefundStatus
    from sharehub.extensions import db

    app, ids, _ = world
    invoice_id = ids[1]
    events = {"refund": refund_event(invoice_id), "payment": intent_event(invoice_id)}
    written, release = threading.Event(), threading.Event()
    results = {}

    def deliver(name, hold=False):
        with app.app_context():
            try:
                results[name] = gateway.handle_event(events[name])
                if hold:
                    written.set()
                    assert release.wait(timeout=30)
                db.session.commit()
            finally:
                db.session.remove()

    second = "payment" if first == "refund" else "refund"
    threads = [
        threading.Thread(target=deliver, args=(first, True)),
        threading.Thread(target=deliver, args=(second,)),
    ]
    threads[0].start()
    assert written.wait(timeout=30)
    threads[1].start()
    time.sleep(1.0)
    release.set()
    for thread in threads:
        thread.join(timeout=60)
    assert results["payment"] == "recorded"
    assert results["refund"] == ("awaiting payment" if first == "refund" else "refund recorded")
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert [(r.provider_ref, r.amount, r.status) for r in invoice.refunds] == [
            (f"re_{invoice_id}", 6000, RefundStatus.SUCCEEDED)
        ]
        assert invoice.outstanding == 6000
        stored = db.session.get(GatewayEvent, f"evt_refund_{invoice_id}")
        assert not stored.awaiting_payment
        db.session.remove()
