"""A real payment against localstripe (a stateful Stripe stand-in) on loopback: the payment
intent is created and confirmed through the stripe library, localstripe sends its signed
webhook to ShareHub under gunicorn, and the invoice is paid."""

import time
import urllib.parse
import urllib.request

import pytest
import sqlalchemy as sa

from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND
from tests.support.live import live_server
from tests.support.stripe_servers import localstripe_server

WEBHOOK_SECRET = "whsec_localstripe"


@pytest.fixture
def localstripe():
    with localstripe_server() as url:
        yield url


def issued_invoice(url: str) -> int:
    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Organisation, OrgKind
    from sharehub.billing.models import Invoice, InvoiceCounter, InvoiceLine, InvoiceStatus
    from sharehub.core.db import utcnow
    from sharehub.extensions import db

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Config)
    with app.app_context():
        lab = Organisation(kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(660001))
        firm = Organisation(
            kind=OrgKind.ENTERPRISE, name="企业", credit_code=make_credit_code(660002)
        )
        invoice = Invoice(
            lab=lab,
            customer_org=firm,
            status=InvoiceStatus.ISSUED,
            year=2026,
            sequence=1,
            number="SH0001-2026-000001",
            net_total=100000,
            vat_total=6000,
            gross_total=106000,
            issued_dt=utcnow(),
        )
        invoice.lines.append(
            InvoiceLine(
                description="检测服务",
                quantity="2 h",
                unit_price=100000,
                net=100000,
                vat_rate_bp=600,
                vat=6000,
            )
        )
        db.session.add_all([lab, firm, invoice])
        db.session.flush()
        # The number above was taken from the lab's counter, as issue() does.
        db.session.add(InvoiceCounter(lab_id=lab.id, year=2026, last_number=1))
        db.session.commit()
        invoice_id = invoice.id
        db.session.remove()
        db.engine.dispose()
    return app, invoice_id


def test_card_payment_through_localstripe_pays_the_invoice(postgres, tmp_path, localstripe):
    import stripe

    from sharehub.billing.models import Invoice, InvoiceStatus, Payment, PaymentMethod
    from sharehub.billing.provider import StripeGateway
    from sharehub.extensions import db

    url = (
        postgres.create_database("sharehub_stripe")
        if BACKEND == "postgres" and postgres
        else f"sqlite:///{tmp_path / 'stripe.db'}"
    )
    env = {
        "STRIPE_SECRET_KEY": "sk_test_local",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": localstripe,
    }
    with live_server(url, tmp_path, seed_demo=False, env=env) as base:
        app, invoice_id = issued_invoice(url)
        data = urllib.parse.urlencode(
            {"url": f"{base}/webhooks/stripe", "secret": WEBHOOK_SECRET}
        ).encode()
        urllib.request.urlopen(
            f"{localstripe}/_config/webhooks/sharehub", data=data, timeout=10
        ).close()
        with app.app_context():
            invoice = db.session.get(Invoice, invoice_id)
            gateway = StripeGateway("sk_test_local", WEBHOOK_SECRET, localstripe)
            intent = gateway.create_payment_intent(invoice, PaymentMethod.CARD)
            db.session.remove()
        card = stripe.PaymentMethod.create(
            type="card",
            card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2035, "cvc": "123"},
        )
        stripe.PaymentIntent.modify(intent.id, payment_method=card.id)
        assert stripe.PaymentIntent.confirm(intent.id).status == "succeeded"
        with app.app_context():
            for _ in range(100):  # localstripe delivers its webhook after about a second
                found = db.session.scalar(sa.select(sa.func.count(Payment.id)))
                db.session.remove()  # end the read: on SQLite it holds the write lock
                if found:
                    break
                time.sleep(0.2)
            payment = db.session.scalar(sa.select(Payment))
            assert payment is not None, "no webhook arrived from localstripe"
            assert (payment.provider_ref, payment.amount) == (intent.id, 106000)
            assert db.session.get(Invoice, invoice_id).status == InvoiceStatus.PAID
            db.session.remove()

        # The lab voids it: the refund row is written, then sent to localstripe after the
        # commit; sending again finds nothing left to send.
        from sharehub.billing import refunds, services
        from sharehub.billing.models import Refund, RefundStatus
        from sharehub.core.tx import commit

        app.config.update(
            STRIPE_SECRET_KEY="sk_test_local",
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            STRIPE_API_BASE=localstripe,
        )
        with app.test_request_context():
            invoice = db.session.get(Invoice, invoice_id)
            services.credit(None, invoice, invoice.effective_total, "退款测试")
            refunds.refund_overpayment(None, invoice, "退款测试")
            commit()
            refund = db.session.scalar(sa.select(Refund))
            assert refund.status == RefundStatus.SUCCEEDED, refund.failure
            assert refund.provider_ref.startswith("re_") and refund.attempts == 1
            assert refunds.submit_refunds() == 0
            provider_ref = refund.provider_ref
            db.session.remove()
        at_stripe = stripe.Refund.list(payment_intent=intent.id).data
        assert [(r.id, r.amount, r.status) for r in at_stripe] == [
            (provider_ref, 106000, "succeeded")
        ]
        with app.app_context():
            assert db.session.get(Invoice, invoice_id).status == InvoiceStatus.VOID
            db.session.remove()
            db.engine.dispose()


def test_wechat_pay_checkout_session_names_the_web_client(localstripe, monkeypatch):
    """Stripe refuses a WeChat Pay Checkout session without
    payment_method_options.wechat_pay.client (the stand-in answers as Stripe does)."""
    from types import SimpleNamespace

    import stripe

    from sharehub.billing.models import PaymentMethod
    from sharehub.billing.provider import StripeGateway
    from tests.support.stripe_servers import checkout_server

    monkeypatch.setattr(stripe, "api_base", stripe.api_base)  # restored afterwards
    invoice = SimpleNamespace(id=7, number="SH0001-2026-000007", outstanding=106000)
    with checkout_server(localstripe, WEBHOOK_SECRET) as checkout:
        gateway = StripeGateway("sk_test_local", WEBHOOK_SECRET, checkout)
        sessions = {}
        for method in (PaymentMethod.WECHAT_PAY, PaymentMethod.CARD):
            url = gateway.start_checkout(invoice, method, f"{checkout}/ok", f"{checkout}/back")
            assert url.startswith(f"{checkout}/pay/cs_test_")
            sessions[method] = stripe.checkout.Session.retrieve(url.rsplit("/", 1)[1])
    wechat = sessions[PaymentMethod.WECHAT_PAY]
    assert wechat.payment_method_types == ["wechat_pay"]
    assert wechat.payment_method_options.to_dict() == {"wechat_pay": {"client": "web"}}
    assert (wechat.amount_total, wechat.metadata.to_dict()) == (
        106000,
        {"invoice_id": "7", "invoice_number": "SH0001-2026-000007"},
    )
    assert sessions[PaymentMethod.CARD].payment_method_options.to_dict() == {}


def test_a_card_payment_for_an_invoice_paid_by_transfer_is_refunded_at_localstripe(
    postgres, tmp_path, localstripe
):
    """The invoice was paid by bank transfer; the customer pays by card too. The webhook
    records the card payment and the refund is sent to the gateway after the commit: the
    money is back with the customer, once."""
    from datetime import date

    import stripe

    from sharehub.billing import payments
    from sharehub.billing.models import (
        Invoice,
        InvoiceStatus,
        Payment,
        PaymentMethod,
        Refund,
        RefundStatus,
    )
    from sharehub.billing.provider import StripeGateway
    from sharehub.extensions import db

    url = (
        postgres.create_database("sharehub_stripe_overpaid")
        if BACKEND == "postgres" and postgres
        else f"sqlite:///{tmp_path / 'overpaid.db'}"
    )
    env = {
        "STRIPE_SECRET_KEY": "sk_test_local",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": localstripe,
    }
    with live_server(url, tmp_path, seed_demo=False, env=env) as base:
        app, invoice_id = issued_invoice(url)
        data = urllib.parse.urlencode(
            {"url": f"{base}/webhooks/stripe", "secret": WEBHOOK_SECRET}
        ).encode()
        urllib.request.urlopen(
            f"{localstripe}/_config/webhooks/sharehub", data=data, timeout=10
        ).close()
        with app.app_context():
            invoice = db.session.get(Invoice, invoice_id)
            gateway = StripeGateway("sk_test_local", WEBHOOK_SECRET, localstripe)
            intent = gateway.create_payment_intent(invoice, PaymentMethod.CARD)
            payments.apply_payment(
                invoice,
                PaymentMethod.BANK_TRANSFER,
                106000,
                payer_reference="对公转账",
                paid_date=date(2026, 3, 2),
            )
            db.session.commit()
            db.session.remove()
        card = stripe.PaymentMethod.create(
            type="card",
            card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2035, "cvc": "123"},
        )
        stripe.PaymentIntent.modify(intent.id, payment_method=card.id)
        assert stripe.PaymentIntent.confirm(intent.id).status == "succeeded"
        with app.app_context():
            for _ in range(100):
                refund = db.session.scalar(sa.select(Refund))
                status = refund and refund.status
                db.session.remove()
                if status == RefundStatus.SUCCEEDED:
                    break
                time.sleep(0.2)
            invoice = db.session.get(Invoice, invoice_id)
            assert sorted((p.method.value, p.amount) for p in invoice.payments) == [
                ("bank_transfer", 106000),
                ("card", 106000),
            ]
            (refund,) = invoice.refunds
            card_payment = db.session.scalar(
                sa.select(Payment).where(Payment.provider_ref == intent.id)
            )
            assert (refund.payment_id, refund.amount, refund.status) == (
                card_payment.id,
                106000,
                RefundStatus.SUCCEEDED,
            ), refund.failure
            assert (invoice.status, invoice.paid_amount) == (InvoiceStatus.PAID, 106000)
            provider_ref = refund.provider_ref
            db.session.remove()
            db.engine.dispose()
        at_stripe = stripe.Refund.list(payment_intent=intent.id).data
        assert [(r.id, r.amount, r.status) for r in at_stripe] == [
            (provider_ref, 106000, "succeeded")
        ]
