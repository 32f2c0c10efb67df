"""Refunds: money received beyond what an invoice still counts for goes back to the customer.

A cancellation keeps the fee the listing's policy allows (none when the lab cancels), credits
the rest with a credit note and refunds what was paid beyond the fee. Voucher amounts go back
to the firm's quota: a voucher pays for a service delivered, never for a cancellation fee.

Online refunds are written as rows first and sent to the gateway after the commit, each with
its row id as the idempotency key; the gateway's answer (and later its webhooks) set the
status. A crash between the two steps leaves the row requested, and sending it again returns
the same refund from the gateway instead of paying twice. Bank-transfer refunds are paid by
the lab's bank and recorded by a lab manager.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import User
from sharehub.billing.models import (
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    Refund,
    RefundStatus,
)
from sharehub.billing.signals import invoice_annulled
from sharehub.core import audit
from sharehub.core.clock import local_today
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.mail import queue_mail
from sharehub.core.tx import after_commit
from sharehub.extensions import db

ONLINE = (PaymentMethod.CARD, PaymentMethod.ALIPAY, PaymentMethod.WECHAT_PAY)


def settle_status(invoice: Invoice) -> None:
    if invoice.status in (InvoiceStatus.ISSUED, InvoiceStatus.PAID):
        invoice.status = (
            InvoiceStatus.PAID
            if invoice.paid_amount and invoice.outstanding == 0
            else InvoiceStatus.ISSUED
        )


def reverse_voucher_payment(use, actor: User | None, reason: str) -> Refund | None:
    """Take a voucher's amount off what the invoice received (a refund row to the voucher,
    settled at once); the invoice is open again for that amount."""
    payment = db.session.get(Payment, use.payment_id) if use.payment_id else None
    if payment is None or not payment.refundable:
        return None
    refund = Refund(
        invoice=payment.invoice,
        payment=payment,
        method=PaymentMethod.VOUCHER,
        amount=min(use.amount, payment.refundable),
        status=RefundStatus.SUCCEEDED,
        reason=(reason or "").strip()[:300],
        recorded_by_id=getattr(actor, "id", None),
        completed_dt=utcnow(),
    )
    db.session.add(refund)
    db.session.flush()
    db.session.expire(payment.invoice, ["refunds"])
    db.session.expire(payment, ["refunds"])
    settle_status(payment.invoice)
    return refund


def reverse_vouchers(invoice: Invoice, actor: User | None) -> int:
    """Give the invoice's voucher amounts back to the quota and take them off what was
    received."""
    released = sum(given for _receiver, given in invoice_annulled.send(invoice, actor=actor))
    db.session.expire(invoice, ["refunds"])
    return released


def refund_overpayment(actor: User | None, invoice: Invoice, reason: str) -> list[Refund]:
    """Refund what was received beyond what the invoice still counts for, newest payment
    first, each back the way it came."""
    excess = invoice.overpaid
    created = []
    for payment in sorted(invoice.payments, key=lambda p: p.id, reverse=True):
        if excess <= 0:
            break
        if payment.method == PaymentMethod.VOUCHER:
            continue
        amount = min(excess, payment.refundable)
        if amount <= 0:
            continue
        refund = Refund(
            invoice=invoice,
            payment=payment,
            method=payment.method,
            amount=amount,
            reason=(reason or "").strip()[:300],
            recorded_by_id=getattr(actor, "id", None),
        )
        db.session.add(refund)
        created.append(refund)
        excess -= amount
        if payment.method in ONLINE and payment.provider_ref:
            after_commit("refunds", submit_refunds)
    db.session.flush()
    db.session.expire(invoice, ["refunds"])
    for refund in created:
        audit.record(
            actor,
            "refund.requested",
            refund,
            organisation=invoice.lab_id,
            invoice=invoice.number,
            method=refund.method.value,
            amount=refund.amount,
        )
    if created:
        _tell_customer(invoice, created)
    settle_status(invoice)
    db.session.flush()
    return created


def _tell_customer(invoice: Invoice, refunds: list[Refund]) -> None:
    for membership in invoice.customer_org.memberships:
        user = membership.user
        queue_mail(
            user.email,
            _l("Refund for invoice %(number)s", number=invoice.number),
            "mail/refund.txt",
            locale=user.locale,
            user=user,
            invoice=invoice,
            refunds=refunds,
        )


def record_refund_sent(actor: User, refund: Refund, sent: date, reference: str) -> None:
    """The lab's bank has paid a bank-transfer refund back."""
    if not actor.can_manage(refund.invoice.lab):
        raise PermissionDenied(_l("Only managers of this laboratory record refunds."))
    if refund.method != PaymentMethod.BANK_TRANSFER or refund.status != RefundStatus.REQUESTED:
        raise Conflict(_l("This refund is not waiting for a bank transfer."))
    if sent > local_today():
        raise ValidationError(_l("The date is in the future."), field="sent_date")
    if not (reference or "").strip():
        raise ValidationError(_l("Give the bank's reference for the transfer."), field="reference")
    refund.status, refund.completed_dt = RefundStatus.SUCCEEDED, utcnow()
    refund.reference = reference.strip()[:100]
    audit.record(
        actor,
        "refund.sent",
        refund,
        organisation=refund.invoice.lab_id,
        amount=refund.amount,
        reference=refund.reference,
        sent=sent.isoformat(),
    )
    db.session.flush()


def _apply_gateway_status(refund: Refund, status: str, failure: str = "") -> None:
    if status == "succeeded":
        refund.status, refund.completed_dt = RefundStatus.SUCCEEDED, utcnow()
    elif status in ("failed", "canceled"):
        refund.status, refund.failure = RefundStatus.FAILED, (failure or status)[:300]
        refund.completed_dt = utcnow()
        settle_status(refund.invoice)
    elif refund.status == RefundStatus.REQUESTED:
        refund.status = RefundStatus.SUBMITTED


def submit_refunds(limit: int = 20) -> int:
    """Send requested online refunds to the gateway (after the commit that wrote them, and
    from the `send-refunds` command). Safe on several machines at once: the idempotency key
    makes a second sending return the same refund, and only a row still requested is
    updated. Returns how many were sent."""
    from sharehub.billing.gateways import GatewayError, attempt_of_payment, refund_through_gateway
    from sharehub.billing.provider import gateway

    gw = gateway()
    ids = db.session.scalars(
        sa.select(Refund.id)
        .where(Refund.status == RefundStatus.REQUESTED, Refund.method.in_(ONLINE))
        .order_by(Refund.id)
        .limit(limit)
    ).all()
    db.session.commit()
    sent = 0
    for refund_id in ids:
        refund = db.session.get(Refund, refund_id)
        payment_ref, amount = refund.payment.provider_ref, refund.amount
        metadata = {"refund_id": str(refund.id), "invoice_id": str(refund.invoice_id)}
        # A payment into the lab's own merchant account goes back through that account.
        attempt = attempt_of_payment(refund.payment_id)
        if attempt is None and gw is None:
            db.session.commit()
            continue
        db.session.commit()  # no transaction (nor SQLite write lock) held over the network
        if attempt is not None:
            try:
                answer = refund_through_gateway(attempt, amount, refund_id)
            except GatewayError:
                current_app.logger.warning("refund %s not sent; it will be retried", refund_id)
                break
        else:
            try:
                answer = gw.refund(payment_ref, amount, f"sharehub-refund-{refund_id}", metadata)
            except gw.PermanentError as exc:
                answer = {"id": None, "status": "failed", "failure": str(exc)[:300]}
            except gw.TransientError:
                current_app.logger.warning("refund %s not sent; it will be retried", refund_id)
                break
        query = sa.select(Refund).where(Refund.id == refund_id)
        query = query.execution_options(populate_existing=True)
        if db.engine.dialect.name == "postgresql":
            query = query.with_for_update()
        refund = db.session.scalar(query)
        refund.attempts += 1
        if refund.status == RefundStatus.REQUESTED:
            if answer.get("id"):
                refund.provider_ref = answer["id"]
            _apply_gateway_status(refund, answer.get("status", ""), answer.get("failure", ""))
            audit.record(
                None,
                "refund.submitted",
                refund,
                organisation=refund.invoice.lab_id,
                status=refund.status.value,
                provider_ref=refund.provider_ref,
            )
            sent += 1
        db.session.commit()
    return sent


def handle_refund_object(obj: dict) -> str:
    """A refund the gateway tells us about (ours, or one made in its dashboard)."""
    refund = db.session.scalar(sa.select(Refund).where(Refund.provider_ref == obj.get("id")))
    if refund is None and (obj.get("metadata") or {}).get("refund_id", "").isdigit():
        refund = db.session.get(Refund, int(obj["metadata"]["refund_id"]))
        if refund is not None and refund.provider_ref not in (None, obj.get("id")):
            refund = None
        if refund is not None:
            refund.provider_ref = obj.get("id")
    if refund is None:
        payment = db.session.scalar(
            sa.select(Payment).where(Payment.provider_ref == obj.get("payment_intent"))
        )
        amount = int(obj.get("amount") or 0)
        if payment is None and obj.get("payment_intent"):
            # Its payment's event has not come yet; the event is kept and applied then.
            return "awaiting payment"
        if payment is None or amount <= 0 or amount > payment.refundable:
            return "unknown refund"
        refund = Refund(
            invoice=payment.invoice,
            payment=payment,
            method=payment.method,
            amount=amount,
            provider_ref=obj.get("id"),
            reason=str(_l("Refunded at the payment provider")),
        )
        db.session.add(refund)
        db.session.flush()
        _apply_gateway_status(refund, obj.get("status", ""), obj.get("failure_reason") or "")
        settle_status(payment.invoice)
        return "refund recorded"
    if refund.status in (RefundStatus.SUCCEEDED, RefundStatus.FAILED):
        return f"refund already {refund.status.value}"
    _apply_gateway_status(refund, obj.get("status", ""), obj.get("failure_reason") or "")
    return f"refund {refund.status.value}"
