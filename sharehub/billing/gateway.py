"""Online payment through a gateway interface; Stripe is the implementation (card, Alipay,
WeChat Pay). Without keys in the environment online payment is hidden and bank transfer
remains. Payments are recorded only from verified webhook events, stored by event id."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.billing.models import GatewayEvent, Invoice, InvoiceStatus, Payment, PaymentMethod
from sharehub.billing.payments import apply_payment, settle_overpayment
from sharehub.billing.provider import gateway
from sharehub.core.errors import Conflict, DomainError, ValidationError
from sharehub.extensions import db

ONLINE_METHODS = (PaymentMethod.CARD, PaymentMethod.ALIPAY, PaymentMethod.WECHAT_PAY)


def start_online_payment(
    invoice: Invoice, method: PaymentMethod, success_url: str, cancel_url: str
) -> str:
    gw = gateway()
    if gw is None:
        raise Conflict(_l("Online payment is not available; pay by bank transfer."))
    if method not in ONLINE_METHODS:
        raise ValidationError(_l("Choose card, Alipay or WeChat Pay."))
    if invoice.status != InvoiceStatus.ISSUED or not invoice.outstanding:
        raise Conflict(_l("Only an issued, unpaid statement takes payments."))
    return gw.start_checkout(invoice, method, success_url, cancel_url)


REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")


def _lock_payment_ref(payment_ref: str | None) -> None:
    """Events of one payment wait for each other (PostgreSQL; SQLite writes one at a time
    anyway): a refund event that finds no payment and the payment event that records it
    must not pass each other unseen, or the refund would wait for ever."""
    if payment_ref and db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"gateway-payment:{payment_ref}"},
        )


def _record(invoice_id, provider_ref: str, amount: int, methods: list[str]) -> str:
    """Money the gateway took is recorded, whatever has happened to the invoice meanwhile
    (paid by bank transfer, voided, paid in part): what goes beyond what the invoice is owed
    is refunded through the gateway after the commit, in sight on the invoice page."""
    _lock_payment_ref(provider_ref)
    # Locked and read fresh: a bank transfer or the twin event of this payment may be
    # committing at this moment; the checks below then see its outcome.
    invoice = db.session.get(
        Invoice, int(invoice_id or 0), with_for_update=True, populate_existing=True
    )
    if invoice is None:
        return "unknown invoice"
    if db.session.scalar(sa.select(Payment.id).where(Payment.provider_ref == provider_ref)):
        return "already recorded"
    if amount <= 0:
        return "no amount"
    method = next((m for m in ONLINE_METHODS if m.value in methods), PaymentMethod.CARD)
    try:
        apply_payment(
            invoice,
            method,
            amount,
            provider_ref=provider_ref,
            payer_reference=provider_ref,
            arrived=True,
        )
    except DomainError:  # a draft or a credit note never takes a checkout
        return f"invoice {invoice.status.value}"
    # Refunds that reached us before this payment are applied first: the excess below is
    # what is left after them.
    _apply_awaiting_refunds(provider_ref)
    excess = settle_overpayment(None, invoice)
    return f"recorded; {excess} overpaid, refunding" if excess else "recorded"


def _refund(event: dict) -> str:
    from sharehub.billing.refunds import handle_refund_object

    kind, obj = event.get("type"), event.get("data", {}).get("object", {})
    if kind in REFUND_EVENTS:
        return handle_refund_object(obj)
    outcomes = [
        handle_refund_object({"payment_intent": obj.get("payment_intent"), **refund})
        for refund in (obj.get("refunds") or {}).get("data", [])
    ]
    return "; ".join(outcomes) or "ignored"


def _apply_awaiting_refunds(payment_ref: str) -> None:
    for stored in db.session.scalars(
        sa.select(GatewayEvent)
        .where(GatewayEvent.payment_ref == payment_ref, GatewayEvent.awaiting_payment)
        .order_by(GatewayEvent.received_dt, GatewayEvent.id)
    ).all():
        stored.awaiting_payment = False
        stored.outcome = f"{_refund(stored.payload)} (after its payment)"[:200]
    db.session.flush()


def handle_event(event: dict) -> str:
    """Apply a verified event once. Unknown, replayed and stale events are stored and
    acknowledged without effect, so the gateway stops retrying.

    A refund event can arrive before the event of its payment (Stripe does not keep the
    order). It is stored as awaiting that payment and applied when the payment is
    recorded, rather than refused so that Stripe retries: Stripe gives up after three
    days and disables an endpoint that keeps failing, while a stored event is never lost
    and stays in sight of the consistency check until its payment comes."""
    if db.session.get(GatewayEvent, event["id"]) is not None:
        return "duplicate"
    outcome, payment_ref, awaiting = "ignored", None, False
    kind, obj = event.get("type"), event.get("data", {}).get("object", {})
    if kind == "payment_intent.succeeded":
        payment_ref = obj["id"]
        outcome = _record(
            obj.get("metadata", {}).get("invoice_id"),
            payment_ref,
            int(obj.get("amount_received") or obj.get("amount") or 0),
            obj.get("payment_method_types", []),
        )
    elif kind == "checkout.session.completed" and obj.get("payment_status") == "paid":
        # The same payment as its payment intent: recorded once under the intent's id.
        payment_ref = obj.get("payment_intent") or obj["id"]
        outcome = _record(
            obj.get("metadata", {}).get("invoice_id"),
            payment_ref,
            int(obj.get("amount_total") or 0),
            obj.get("payment_method_types", []),
        )
    elif kind in REFUND_EVENTS or kind == "charge.refunded":
        payment_ref = obj.get("payment_intent") or None
        _lock_payment_ref(payment_ref)
        if db.session.get(GatewayEvent, event["id"]) is not None:
            return "duplicate"  # delivered twice at once: the other one held the lock
        outcome = _refund(event)
        awaiting = payment_ref is not None and "awaiting payment" in outcome
    db.session.add(
        GatewayEvent(
            id=event["id"],
            type=str(event.get("type", ""))[:100],
            payload=event,
            outcome=outcome[:200],
            payment_ref=(payment_ref or None) and str(payment_ref)[:100],
            awaiting_payment=awaiting,
        )
    )
    db.session.flush()
    return outcome
