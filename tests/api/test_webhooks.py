"""Outgoing webhooks received by a real HTTP server on loopback: signed deliveries for
booking and invoice events, retries with backoff, the delivery log and redelivery."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.api.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from sharehub.api.webhooks import SIGNATURE_HEADER, verify
from sharehub.billing import payments
from sharehub.billing import services as billing
from sharehub.core.db import utcnow
from tests.support import clock
from tests.support.api import Receiver
from tests.support.clock import at, workday

pytestmark = pytest.mark.usefixtures("english")
SIG = SIGNATURE_HEADER.lower()


@pytest.fixture
def receiver():
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def register(client, login, user, url, events) -> str:
    login(user)
    page = client.post("/account/webhooks", data={"url": url, "events": events})
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    client.post("/account/signout")
    html = page.get_data(as_text=True)
    return re.search(r'id="secret-value"[^>]*value="(whsec_[A-Za-z0-9_-]+)"', html).group(1)


ALL = [
    "booking.created",
    "booking.confirmed",
    "booking.cancelled",
    "booking.completed",
    "invoice.issued",
    "invoice.paid",
]


def test_events_arrive_signed_at_the_lab_and_the_customer(
    client, db, api, lab, lab_manager, firm, make_listing, make_token, login, receiver, monkeypatch
):
    org, user = firm
    lab_secret = register(client, login, lab_manager, receiver.url + "/lab", ALL)
    firm_secret = register(client, login, user, receiver.url + "/firm", ALL[:3])
    listing = make_listing(lab, approval_required=True, price_external=49999)
    day = workday()
    created = api.post(
        "/api/v1/bookings",
        {
            "listing_id": listing.id,
            "starts_at": at(day, 8, 30).isoformat(),
            "ends_at": at(day, 10, 30).isoformat(),
        },
        token=make_token(user, org),
    )
    assert created.status_code == 201
    booking_id = created.get_json()["id"]
    # Sent right after the request committed, to both organisations' endpoints.
    assert receiver.events("/lab") == ["booking.created"]
    assert receiver.events("/firm") == ["booking.created"]
    for path, secret in (("/lab", lab_secret), ("/firm", firm_secret)):
        hit = next(r for r in receiver.received if r["path"] == path)
        assert verify(secret, hit["headers"][SIG], hit["body"])
        assert not verify(secret, hit["headers"][SIG], hit["body"] + b" ")
        assert not verify("whsec_wrong", hit["headers"][SIG], hit["body"])
        payload = json.loads(hit["body"])
        assert payload["data"]["id"] == booking_id and payload["data"]["status"] == "pending"
        assert payload["data"]["price"]["gross_fen"] == 105998
        assert hit["headers"]["sharehub-event"] == "booking.created"
    lab_hit = next(r for r in receiver.received if r["path"] == "/lab")
    stale = int(lab_hit["headers"][SIG].split(",")[0][2:]) + 301
    assert not verify(lab_secret, lab_hit["headers"][SIG], lab_hit["body"], now=stale)

    login(lab_manager)
    client.post(f"/bookings/{booking_id}/approve")
    from sharehub.booking import usage

    starts = at(day, 8, 30)  # the lab serves the booking on its day
    monkeypatch.setattr(usage, "utcnow", lambda: starts + timedelta(minutes=5))
    client.post(f"/bookings/{booking_id}/check_in")
    monkeypatch.setattr(usage, "utcnow", lambda: starts + timedelta(hours=2))
    client.post(
        f"/bookings/{booking_id}/check_out",
        data={"prep_minutes": 15, "run_minutes": 100, "post_minutes": 5, "service_way": "on_site"},
    )
    assert receiver.events("/lab") == ["booking.created", "booking.confirmed", "booking.completed"]
    assert receiver.events("/firm") == ["booking.created", "booking.confirmed"]

    from sharehub.booking.models import Booking

    invoice = billing.invoice_from_booking(lab_manager, db.session.get(Booking, booking_id))
    billing.issue(lab_manager, invoice)
    payments.record_bank_transfer(lab_manager, invoice, 105998, clock.today(), "转账")
    db.session.commit()
    # Outside a request (a service called directly, as cron would): the command sends them.
    assert len(receiver.received) == 5
    result = client.application.test_cli_runner().invoke(args=["sharehub", "send-webhooks"])
    assert result.output.strip() == "2 delivered, 0 failed."
    assert receiver.events("/lab")[-2:] == ["invoice.issued", "invoice.paid"]
    paid = json.loads(receiver.received[-1]["body"])
    assert paid["data"]["status"] == "paid" and paid["data"]["outstanding_fen"] == 0


def test_failures_are_retried_with_backoff_then_given_up(
    client, db, api, lab, lab_manager, firm, make_listing, make_token, login, receiver
):
    register(client, login, lab_manager, receiver.url + "/down", ["booking.created"])
    receiver.status = 500
    listing = make_listing(lab, approval_required=False)
    api.post(
        "/api/v1/bookings",
        {
            "listing_id": listing.id,
            "starts_at": at(workday(), 8, 30).isoformat(),
            "ends_at": at(workday(), 9, 30).isoformat(),
        },
        token=make_token(*reversed(firm)),
    )
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.PENDING,
        1,
        500,
    )
    waits = [delivery.next_attempt_dt - delivery.last_attempt_dt]
    runner = client.application.test_cli_runner()
    assert runner.invoke(args=["sharehub", "send-webhooks"]).output.strip() == (
        "0 delivered, 0 failed."
    )  # not due yet
    for _ in range(9):
        delivery.next_attempt_dt = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert "0 delivered, 1 failed." in runner.invoke(args=["sharehub", "send-webhooks"]).output
        db.session.refresh(delivery)
        if delivery.status == DeliveryStatus.PENDING:
            waits.append(delivery.next_attempt_dt - delivery.last_attempt_dt)
    assert [w.total_seconds() // 60 for w in waits] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 10)
    assert len(receiver.received) == 10

    # The owner reads the log and sends the event again once the receiver is back.
    receiver.status = 204
    login(lab_manager)
    log = client.get(f"/account/webhooks/{delivery.endpoint_id}").get_data(as_text=True)
    assert delivery.event_id in log and "Gave up" in log
    client.post(f"/account/webhooks/deliveries/{delivery.id}/redeliver")
    again = db.session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id)).all()[-1]
    assert again.id != delivery.id and again.event_id == delivery.event_id
    assert (again.status, again.attempts, again.last_status_code) == (
        DeliveryStatus.DELIVERED,
        1,
        204,
    )
    assert json.loads(receiver.received[-1]["body"])["id"] == delivery.event_id


def test_no_event_leaves_for_a_refused_booking(
    client, db, api, lab, lab_manager, firm, make_listing, make_token, login, receiver
):
    register(client, login, lab_manager, receiver.url + "/lab", ["booking.created"])
    listing = make_listing(lab)
    off_grid = api.post(
        "/api/v1/bookings",
        {
            "listing_id": listing.id,
            "starts_at": at(workday(), 8, 45).isoformat(),
            "ends_at": at(workday(), 9, 45).isoformat(),
        },
        token=make_token(*reversed(firm)),
    )
    assert off_grid.status_code == 409  # off the slot grid
    assert receiver.received == []
    assert db.session.scalar(sa.select(sa.func.count(WebhookDelivery.id))) == 0


def test_other_organisations_cannot_read_or_redeliver(
    client, db, lab, lab_manager, rival, login, receiver
):
    register(client, login, lab_manager, receiver.url + "/lab", ["booking.created"])
    endpoint = db.session.scalar(sa.select(WebhookEndpoint))
    delivery = WebhookDelivery(
        endpoint=endpoint, event_id="evt_1", event_type="booking.created", payload={"id": "evt_1"}
    )
    db.session.add(delivery)
    db.session.commit()
    login(rival[1])
    assert client.get(f"/account/webhooks/{endpoint.id}").status_code == 404
    assert client.post(f"/account/webhooks/deliveries/{delivery.id}/redeliver").status_code == 404
    assert client.post(f"/account/webhooks/{endpoint.id}/delete").status_code == 404
    assert "127.0.0.1" not in client.get("/account/webhooks").get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(WebhookDelivery.id))) == 1
    assert db.session.get(WebhookEndpoint, endpoint.id) is not None


def test_webhook_form_refuses_bad_addresses(client, db, lab_manager, login):
    login(lab_manager)
    page = client.post(
        "/account/webhooks", data={"url": "ftp://example.cn/x", "events": ["booking.created"]}
    )
    assert page.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(WebhookEndpoint.id))) == 0


def test_production_refuses_endpoints_on_private_addresses(
    app, client, db, lab, lab_manager, login, receiver
):
    from sharehub.api.webhooks import deliver_due

    register(client, login, lab_manager, receiver.url + "/lab", ["booking.created"])
    endpoint = db.session.scalar(sa.select(WebhookEndpoint))
    db.session.add(
        WebhookDelivery(
            endpoint=endpoint, event_id="evt_1", event_type="booking.created", payload={}
        )
    )
    db.session.commit()
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    try:
        assert deliver_due() == (0, 1)
    finally:
        app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    delivery = db.session.scalar(sa.select(WebhookDelivery))
    assert delivery.last_error == (
        "refused: 127.0.0.1 resolves to the non-public address 127.0.0.1"
    )
    assert delivery.status == DeliveryStatus.PENDING and receiver.received == []
