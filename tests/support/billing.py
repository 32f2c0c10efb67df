"""Billing fixtures (a pytest plugin, see tests/conftest.py): a confirmed booking to invoice,
Stripe keys with a local webhook secret and payloads signed with it, an issued invoice."""

import hashlib
import hmac
import json
import time

import pytest

from sharehub.billing import services
from sharehub.booking import services as booking_services
from tests.support.clock import at, workday

SECRET = "whsec_test_local"


@pytest.fixture
def booked(db, lab, make_listing, make_org, make_user):
    lab.bank_name, lab.bank_account = "中国银行苏州分行", "5301 0000 1234 5678"
    customer = make_org(name="苏州精密制造有限公司")
    user = make_user(customer, email="buyer@example.cn")
    listing = make_listing(
        lab, name="电感耦合等离子体发射光谱仪", approval_required=False, price_external=49999
    )
    booking = booking_services.create_booking(
        user,
        customer,
        listing,
        booking_services.BookingRequest(
            starts_dt=at(workday(), 8, 30), ends_dt=at(workday(), 10, 30)
        ),
    )
    db.session.commit()
    return booking


@pytest.fixture
def stripe_keys(app, monkeypatch):
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_local")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", SECRET)


def signed(payload: dict, secret: str = SECRET, timestamp: int | None = None):
    body = json.dumps(payload).encode()
    timestamp = timestamp or int(time.time())
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return body, {
        "Stripe-Signature": f"t={timestamp},v1={mac.hexdigest()}",
        "Content-Type": "application/json",
    }


def issued_for(lab_manager, booking):
    invoice = services.invoice_from_booking(lab_manager, booking)
    services.issue(lab_manager, invoice)
    return invoice
