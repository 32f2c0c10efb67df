"""Outgoing webhooks through an outbox.

`emit` writes one delivery row per subscribed endpoint in the transaction of the event,
so an event that rolls back sends nothing and a crash loses nothing. Deliveries are sent
right after the request that made them commits (`core.tx.after_commit`) and by
`flask sharehub send-webhooks` (cron), which claims rows with SKIP LOCKED on PostgreSQL,
so several machines never send one delivery twice. A failed delivery is retried after
1, 2, 4 ... minutes (capped at 12 hours) and given up after MAX_ATTEMPTS.

Each request carries `ShareHub-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<body>" with the endpoint's secret>` (Stripe's scheme): receivers recompute it and
refuse old timestamps to stop replays.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, has_request_context

from sharehub.api.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from sharehub.billing.signals import invoice_event
from sharehub.booking.signals import booking_event
from sharehub.core.db import utcnow
from sharehub.core.tx import after_commit
from sharehub.extensions import db
from sharehub.testing.report_signals import testing_event

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10
MAX_BACKOFF = timedelta(hours=12)
TIMEOUT_SECONDS = 10
REQUEST_TIMEOUT_SECONDS = 3  # sending right after a request keeps its answer waiting
SIGNATURE_HEADER = "ShareHub-Signature"
WAITING_KEY = "sharehub.webhook_ids"  # deliveries written by this transaction
BOOKING_EVENTS = {
    "created": "booking.created",
    "confirmed": "booking.confirmed",
    "declined": "booking.declined",
    "cancelled": "booking.cancelled",
    "rescheduled": "booking.rescheduled",
    "completed": "booking.completed",
}


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300, now=None) -> bool:
    """What a receiver does (used by the tests, and documented for integrators)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    now = int(now if now is not None else time.time())
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def emit(event_type: str, organisation_ids, data: dict) -> list[WebhookDelivery]:
    """Queue the event for every active endpoint of these organisations that wants it."""
    org_ids = sorted({i for i in organisation_ids if i is not None})
    endpoints = db.session.scalars(
        sa.select(WebhookEndpoint).where(
            WebhookEndpoint.organisation_id.in_(org_ids), WebhookEndpoint.is_active.is_(True)
        )
    ).all()
    endpoints = [e for e in endpoints if event_type in (e.events or [])]
    if not endpoints:
        return []
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = {
        "id": event_id,
        "type": event_type,
        "created_at": utcnow().isoformat(),
        "data": data,
    }
    deliveries = [
        WebhookDelivery(
            endpoint=endpoint, event_id=event_id, event_type=event_type, payload=payload
        )
        for endpoint in endpoints
    ]
    db.session.add_all(deliveries)
    db.session.flush()
    send_after_request([d.id for d in deliveries])
    return deliveries


@booking_event.connect
def emit_booking(booking, event: str) -> None:
    """Every booking event (booking/notify.py) that integrators subscribe to."""
    event_type = BOOKING_EVENTS.get(event)
    if event_type is None:
        return
    from sharehub.api.schemas import BookingSchema

    emit(
        event_type,
        [booking.customer_org_id, booking.listing.lab_id],
        BookingSchema().dump(booking),
    )


@invoice_event.connect
def emit_invoice(invoice, event_type: str) -> None:
    """invoice.issued / invoice.paid, to the lab and to the customer."""
    if invoice.is_credit_note:
        return
    from sharehub.api.schemas import InvoiceSchema

    emit(event_type, [invoice.lab_id, invoice.customer_org_id], InvoiceSchema().dump(invoice))


@testing_event.connect
def emit_testing(sender, event: str) -> None:
    """order.* (every change of a testing order's state) and report.issued /
    report.withdrawn, to the lab and to the customer."""
    from sharehub.api.models import EVENTS

    if event not in EVENTS:
        return
    from sharehub.api.testing_schemas import OrderSchema, ReportSchema

    if event.startswith("order."):
        emit(event, [sender.customer_org_id, sender.lab_id], OrderSchema().dump(sender))
    else:
        emit(event, [sender.order.customer_org_id, sender.lab_id], ReportSchema().dump(sender))


def send_after_request(delivery_ids: list[int]) -> None:
    """Send these once the current request has committed (a request that rolled back
    leaves no rows, so nothing goes out). Outside a request, cron sends them."""
    if not delivery_ids or not has_request_context():
        return
    if not current_app.config.get("WEBHOOK_SEND_AFTER_COMMIT", True):
        return
    waiting = db.session.info.setdefault(WAITING_KEY, [])
    waiting.extend(delivery_ids)

    def send() -> None:
        ids = db.session.info.pop(WAITING_KEY, [])
        try:
            deliver_due(limit=len(ids), only_ids=ids, timeout=REQUEST_TIMEOUT_SECONDS)
        except Exception:  # sending must never break or undo the committed request
            db.session.rollback()
            log.exception("webhook delivery after the request failed; cron retries")

    after_commit("webhooks", send)


def _refused_address(url: str) -> str:
    """In production an endpoint may not point into the platform's own network (loopback,
    private, link-local addresses): a webhook must not become a way to probe it."""
    if current_app.config.get("WEBHOOK_ALLOW_PRIVATE", False):
        return ""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError as exc:
        return f"cannot resolve {host}: {exc}"[:500]
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global:
            return f"refused: {host} resolves to the non-public address {ip}"
    return ""


def _post(
    endpoint: WebhookEndpoint, delivery: WebhookDelivery, timeout: float
) -> tuple[int | None, str]:
    refused = _refused_address(endpoint.url)
    if refused:
        return None, refused
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "ShareHub-Webhooks/1",
            "ShareHub-Event": delivery.event_type,
            "ShareHub-Event-Id": delivery.event_id,
            "ShareHub-Delivery": str(delivery.id),
            SIGNATURE_HEADER: sign(endpoint.secret, timestamp, body),
        },
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return None, str(exc)[:500] or exc.__class__.__name__


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery: the receiver must take the POST itself."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def deliver_due(
    limit: int = 100, only_ids: list[int] | None = None, timeout: float = TIMEOUT_SECONDS
) -> tuple[int, int]:
    """Send due deliveries; returns (delivered, failed). Commits each row on its own."""
    delivered = failed = 0
    for _ in range(limit):
        query = (
            sa.select(WebhookDelivery)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_dt <= utcnow(),
            )
            .order_by(WebhookDelivery.id)
            .limit(1)
        )
        if only_ids is not None:
            query = query.where(WebhookDelivery.id.in_(only_ids))
        if db.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        delivery = db.session.scalar(query)
        if delivery is None:
            break
        endpoint = delivery.endpoint
        code, error = (None, "endpoint disabled") if not endpoint.is_active else (None, "")
        if endpoint.is_active:
            code, error = _post(endpoint, delivery, timeout)
        now = utcnow()
        delivery.attempts += 1
        delivery.last_attempt_dt, delivery.last_status_code = now, code
        if code is not None and 200 <= code < 300:
            delivery.status, delivery.delivered_dt, delivery.last_error = (
                DeliveryStatus.DELIVERED,
                now,
                "",
            )
            delivered += 1
        else:
            delivery.last_error = error or f"HTTP {code}"
            if delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = DeliveryStatus.FAILED
            else:
                delivery.next_attempt_dt = now + min(
                    timedelta(minutes=2 ** (delivery.attempts - 1)), MAX_BACKOFF
                )
            failed += 1
        db.session.commit()
    return delivered, failed
