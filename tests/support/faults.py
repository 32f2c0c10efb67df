"""Helpers of the fault tests (tests/faults): table counts and the consistency check, an
issued invoice and signed Stripe events delivered to the app under gunicorn."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

import sqlalchemy as sa

WEBHOOK_SECRET = "whsec_faults"


def counts(db) -> dict:
    """Rows of the tables a booking or a payment writes to."""
    from sharehub.billing.models import GatewayEvent, Payment
    from sharehub.booking.models import Booking
    from sharehub.core.models import AuditEntry, Notification, OutboxMessage

    return {
        model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Booking, Notification, AuditEntry, OutboxMessage, Payment, GatewayEvent)
    }


def no_violations(db) -> None:
    from sharehub.admin.consistency import violations

    found = violations()
    assert not any(found.values()), found


def booking_at(db, listing_id: int, start: str):
    from datetime import datetime

    from sharehub.booking.models import Booking

    return db.session.scalar(
        sa.select(Booking).where(
            Booking.listing_id == listing_id,
            Booking.starts_dt == datetime.fromisoformat(start),
        )
    )


def issued_invoice(faulty) -> tuple[int, int]:
    """An issued invoice for a booking of a new slot; returns (id, gross total in fen)."""
    from datetime import datetime

    from sharehub.accounts.models import Organisation, User
    from sharehub.billing import services as billing
    from sharehub.booking import services as booking_services
    from sharehub.catalog.models import Listing

    start, minutes = faulty.next_slot()

    def write(db):
        from datetime import timedelta

        user = db.session.scalar(sa.select(User).where(User.email == faulty.customers[2]))
        firm = db.session.get(Organisation, faulty.firm_ids[2])
        manager = db.session.scalar(sa.select(User).where(User.email == faulty.manager))
        starts = datetime.fromisoformat(start)
        booking = booking_services.create_booking(
            user,
            firm,
            db.session.get(Listing, faulty.listing_id),
            booking_services.BookingRequest(
                starts_dt=starts, ends_dt=starts + timedelta(minutes=minutes)
            ),
        )
        invoice = billing.invoice_from_booking(manager, booking)
        billing.issue(manager, invoice)
        db.session.commit()
        return invoice.id, invoice.gross_total

    return faulty.read(write)


def pay_event(event_id: str, kind: str, invoice_id: int, amount: int) -> dict:
    intent = f"pi_faults_{invoice_id}"
    if kind == "payment_intent.succeeded":
        obj = {
            "id": intent,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": amount,
            "payment_method_types": ["alipay"],
            "metadata": {"invoice_id": str(invoice_id)},
        }
    else:
        obj = {
            "id": f"cs_faults_{invoice_id}",
            "object": "checkout.session",
            "payment_status": "paid",
            "payment_intent": intent,
            "amount_total": amount,
            "payment_method_types": ["wechat_pay"],
            "metadata": {"invoice_id": str(invoice_id)},
        }
    return {"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}


def deliver(faulty, event: dict, fault: str = "") -> tuple[int, dict]:
    """POST the event as Stripe does, signed with the webhook secret."""
    body = json.dumps(event).encode()
    stamp = int(time.time())
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    headers = {
        "Stripe-Signature": f"t={stamp},v1={mac.hexdigest()}",
        "Content-Type": "application/json",
    }
    if fault:
        headers["X-Fault"] = fault
    request = urllib.request.Request(f"{faulty.base}/webhooks/stripe", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {"body": error.read().decode(errors="replace")[:300]}
