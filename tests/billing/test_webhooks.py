"""Stripe webhooks with locally signed payloads: signatures verified, events applied once,
replays and out-of-order delivery change nothing twice."""

import hashlib
import hmac
import time

import pytest
import sqlalchemy as sa

from sharehub.billing import services
from sharehub.billing.models import GatewayEvent, Invoice, InvoiceStatus, Payment
from tests.support.billing import SECRET, signed


@pytest.fixture
def issued(db, booked, lab_manager):
    invoice = services.invoice_from_booking(lab_manager, booked)
    services.issue(lab_manager, invoice)
    db.session.commit()
    return invoice


def intent_event(event_id, invoice, method="alipay", amount=None):
    return {
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": "pi_123",
                "object": "payment_intent",
                "amount": amount or invoice.gross_total,
                "amount_received": amount or invoice.gross_total,
                "payment_method_types": [method],
                "metadata": {"invoice_id": str(invoice.id)},
            }
        },
    }


def checkout_event(event_id, invoice):
    return {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_1",
                "object": "checkout.session",
                "payment_status": "paid",
                "payment_intent": "pi_123",
                "amount_total": invoice.gross_total,
                "payment_method_types": ["wechat_pay"],
                "metadata": {"invoice_id": str(invoice.id)},
            }
        },
    }


def test_bad_or_missing_signature_is_refused_and_changes_nothing(client, db, issued, stripe_keys):
    body, headers = signed(intent_event("evt_1", issued), secret="whsec_wrong")
    assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 400
    assert (
        client.post(
            "/webhooks/stripe", data=body, headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    stale, headers = signed(intent_event("evt_1", issued), timestamp=int(time.time()) - 3600)
    assert client.post("/webhooks/stripe", data=stale, headers=headers).status_code == 400
    garbage = b"not json"
    mac = hmac.new(SECRET.encode(), f"{int(time.time())}.".encode() + garbage, hashlib.sha256)
    assert (
        client.post(
            "/webhooks/stripe",
            data=garbage,
            headers={"Stripe-Signature": f"t={int(time.time())},v1={mac.hexdigest()}"},
        ).status_code
        == 400
    )
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(GatewayEvent.id))) == 0


def test_event_is_applied_once_and_replays_change_nothing(client, db, issued, stripe_keys):
    body, headers = signed(intent_event("evt_1", issued))
    first = client.post("/webhooks/stripe", data=body, headers=headers)
    assert first.get_json()["outcome"] == "recorded"
    again = client.post("/webhooks/stripe", data=body, headers=headers)
    assert again.status_code == 200 and again.get_json()["outcome"] == "duplicate"
    db.session.expire_all()
    invoice = db.session.get(Invoice, issued.id)
    assert invoice.status == InvoiceStatus.PAID
    payment = db.session.scalar(sa.select(Payment))
    assert (payment.amount, payment.method.value) == (issued.gross_total, "alipay")


def test_checkout_and_intent_events_in_any_order_record_one_payment(
    client, db, issued, stripe_keys
):
    for event in (checkout_event("evt_cs", issued), intent_event("evt_pi", issued)):
        body, headers = signed(event)
        assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 1
    outcomes = dict(db.session.execute(sa.select(GatewayEvent.id, GatewayEvent.outcome)).all())
    assert outcomes == {"evt_cs": "recorded", "evt_pi": "already recorded"}


def test_unknown_events_and_invoices_are_acknowledged_without_effect(
    client, db, issued, stripe_keys
):
    body, headers = signed({"id": "evt_x", "type": "customer.created", "data": {"object": {}}})
    assert (
        client.post("/webhooks/stripe", data=body, headers=headers).get_json()["outcome"]
        == "ignored"
    )
    event = intent_event("evt_y", issued)
    event["data"]["object"]["metadata"]["invoice_id"] = "999999"
    body, headers = signed(event)
    assert (
        client.post("/webhooks/stripe", data=body, headers=headers).get_json()["outcome"]
        == "unknown invoice"
    )
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0


def test_without_keys_online_payment_is_hidden_and_webhooks_closed(
    client, db, issued, login, booked
):
    login(booked.customer_user)
    page = client.get(f"/invoices/{issued.id}").get_data(as_text=True)
    assert "online-payment" not in page and issued.payment_reference in page
    body, headers = signed(intent_event("evt_1", issued))
    assert client.post("/webhooks/stripe", data=body, headers=headers).status_code == 404
    response = client.post(
        f"/invoices/{issued.id}/pay",
        data={"method": "card"},
        follow_redirects=True,
        headers={"Accept-Language": "en"},
    )
    assert "pay by bank transfer" in response.get_data(as_text=True)


def test_online_payment_buttons_shown_with_keys(client, db, issued, login, booked, stripe_keys):
    login(booked.customer_user)
    page = client.get(f"/invoices/{issued.id}").get_data(as_text=True)
    assert "online-payment" in page and 'value="wechat_pay"' in page


def refund_event(event_id, refund_id="re_early", amount=10000, intent="pi_123", metadata=None):
    return {
        "id": event_id,
        "object": "event",
        "type": "refund.updated",
        "data": {
            "object": {
                "id": refund_id,
                "object": "refund",
                "amount": amount,
                "payment_intent": intent,
                "status": "succeeded",
                "metadata": metadata or {},
            }
        },
    }


def deliver(client, event):
    body, headers = signed(event)
    response = client.post("/webhooks/stripe", data=body, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()["outcome"]


@pytest.mark.parametrize("refund_first", [True, False], ids=["refund-first", "payment-first"])
def test_a_refund_event_is_applied_whichever_event_comes_first(
    client, db, issued, stripe_keys, refund_first
):
    """Stripe does not keep the order of events: a refund made at Stripe can reach us before
    the payment it refunds. It is kept and applied once the payment is recorded."""
    from sharehub.admin.consistency import unrecorded_or_unrefunded_money
    from sharehub.billing.models import Refund, RefundStatus

    refund, payment = refund_event("evt_refund"), intent_event("evt_pay", issued)
    if refund_first:
        assert deliver(client, refund) == "awaiting payment"
        assert deliver(client, refund) == "duplicate"  # Stripe's retry changes nothing
        assert db.session.scalar(sa.select(sa.func.count(Refund.id))) == 0
        assert deliver(client, payment) == "recorded"
        assert db.session.get(GatewayEvent, "evt_refund").outcome == (
            "refund recorded (after its payment)"
        )
    else:
        assert deliver(client, payment) == "recorded"
        assert deliver(client, refund) == "refund recorded"
    db.session.expire_all()
    invoice = db.session.get(Invoice, issued.id)
    assert [(r.provider_ref, r.amount, r.status) for r in invoice.refunds] == [
        ("re_early", 10000, RefundStatus.SUCCEEDED)
    ]
    assert (invoice.paid_amount, invoice.outstanding, invoice.status) == (
        issued.gross_total - 10000,
        10000,
        InvoiceStatus.ISSUED,
    )
    assert not db.session.get(GatewayEvent, "evt_refund").awaiting_payment
    assert deliver(client, refund) == "duplicate"
    assert len(db.session.get(Invoice, issued.id).refunds) == 1
    assert unrecorded_or_unrefunded_money() == []


@pytest.fixture
def sent_refunds(monkeypatch):
    """Refunds sent to the gateway after the commit, recorded instead of sent."""
    from sharehub.billing import refunds

    calls = []
    monkeypatch.setattr(refunds, "submit_refunds", lambda limit=20: calls.append(limit) or 0)
    return calls


@pytest.mark.parametrize("before", ["paid", "partly paid", "void"])
def test_an_online_payment_beyond_what_is_open_is_recorded_and_the_excess_refunded(
    client, db, issued, lab_manager, booked, login, stripe_keys, sent_refunds, english, before
):
    """The customer pays online although the invoice was paid by bank transfer meanwhile
    (in full or in part) or voided: the money is recorded and the excess goes back through
    the gateway, in sight of the lab and the customer."""
    from sharehub.admin.consistency import violations
    from sharehub.billing import payments
    from sharehub.billing.models import PaymentMethod, RefundStatus
    from tests.support import clock

    total = issued.gross_total
    if before == "void":
        services.void(lab_manager, issued, "开票信息有误")
    else:
        transfer = total if before == "paid" else 50000
        payments.record_bank_transfer(lab_manager, issued, transfer, clock.today(), "对公转账")
    db.session.commit()
    excess = {"paid": total, "partly paid": 50000, "void": total}[before]

    outcome = deliver(client, intent_event("evt_late", issued))
    assert outcome == f"recorded; {excess} overpaid, refunding"
    assert sent_refunds, "the refund is sent to the gateway after the commit"
    assert deliver(client, intent_event("evt_late", issued)) == "duplicate"
    db.session.expire_all()
    invoice = db.session.get(Invoice, issued.id)
    online = db.session.scalar(sa.select(Payment).where(Payment.provider_ref == "pi_123"))
    assert (online.method, online.amount) == (PaymentMethod.ALIPAY, total)
    (refund,) = [r for r in invoice.refunds if r.payment_id == online.id]
    assert (refund.method, refund.amount, refund.status) == (
        PaymentMethod.ALIPAY,
        excess,
        RefundStatus.REQUESTED,
    )
    assert refund.reason in ("Paid beyond what the statement is owed", "超出结算单应付金额的付款")
    assert invoice.overpaid == 0 and invoice.outstanding == 0
    assert invoice.status == (InvoiceStatus.VOID if before == "void" else InvoiceStatus.PAID)
    assert not any(violations().values()), violations()

    for user in (lab_manager, booked.customer_user):
        login(user)
        page = client.get(f"/invoices/{issued.id}", headers={"Accept-Language": "en"})
        html = page.get_data(as_text=True)
        assert refund.reason in html and "To be refunded" in html
        client.post("/account/signout")

    # Stripe confirms the refund: settled once.
    confirmed = refund_event(
        "evt_refunded", "re_back", excess, metadata={"refund_id": str(refund.id)}
    )
    assert deliver(client, confirmed) == "refund succeeded"
    db.session.expire_all()
    invoice = db.session.get(Invoice, issued.id)
    assert invoice.refunds[-1].status == RefundStatus.SUCCEEDED
    assert invoice.paid_amount == (0 if before == "void" else total)
