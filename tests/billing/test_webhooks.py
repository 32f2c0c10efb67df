"""Stripe webhooks with locally signed payloads: signatures verified, events applied once,
replays and out-of-order delivery change nothing twice."""

import hashlib
import hmac
import json
import time

import pytest
import sqlalchemy as sa

from sharehub.billing import services
from sharehub.billing.models import GatewayEvent, Invoice, InvoiceStatus, Payment

SECRET = "whsec_test_local"


@pytest.fixture
def stripe_keys(app, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_local")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", SECRET)


@pytest.fixture
def issued(db, booked, lab_manager):
    invoice = services.invoice_from_booking(lab_manager, booked)
    services.issue(lab_manager, invoice)
    db.session.commit()
    return invoice


def signed(payload: dict, secret: str = SECRET, timestamp: int | None = None):
    body = json.dumps(payload).encode()
    timestamp = timestamp or int(time.time())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return body, {
        "Stripe-Signature": f"t={timestamp},v1={mac.hexdigest()}",
        "Content-Type": "application/json",
    }


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
