"""Payments against invoices. Bank transfer (对公转账) is always available: the customer
pays the lab's account with the invoice's payment reference and the lab records the
receipt. Online gateways plug in here through the same `apply_payment`."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import User
from sharehub.billing.models import Invoice, InvoiceStatus, Payment, PaymentMethod
from sharehub.billing.signals import invoice_event
from sharehub.core import audit
from sharehub.core.clock import local_date, local_today
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.mail import queue_mail
from sharehub.extensions import db


def apply_payment(
    invoice: Invoice,
    method: PaymentMethod,
    amount: int,
    *,
    actor=None,
    payer_reference: str = "",
    provider_ref: str | None = None,
    paid_date: date | None = None,
    arrived: bool = False,
    seen_outstanding: int | None = None,
) -> Payment:
    """Record money received; the invoice is paid once the payments cover its total.

    The invoice row is locked and re-read first, so two payments recorded at once (a
    bank transfer and a webhook, two clerks) are judged one after the other.

    A typed amount beyond what is open, or for an invoice no longer open, is refused as a
    mistake. Money known to have arrived is recorded whatever the invoice's state, because
    refusing it would leave it in the account and nowhere in the books: `arrived` for a
    payment the gateway confirmed, and `seen_outstanding` for a transfer the lab records
    against what the invoice page showed open (another payment came in meanwhile). The
    caller then refunds the excess with `settle_overpayment`."""
    db.session.refresh(invoice, with_for_update=True)
    if invoice.is_credit_note or invoice.status == InvoiceStatus.DRAFT:
        raise Conflict(_l("Only an issued, unpaid statement takes payments."))
    if amount <= 0:
        raise ValidationError(_l("The amount is positive."), field="amount")
    if seen_outstanding is not None and amount <= seen_outstanding:
        # What the lab saw open is no longer open: the transfer is real money all the same.
        arrived = arrived or invoice.outstanding < seen_outstanding
    if not arrived:
        if invoice.status != InvoiceStatus.ISSUED:
            raise Conflict(_l("Only an issued, unpaid statement takes payments."))
        if amount > invoice.outstanding:
            raise ValidationError(
                _l(
                    "The amount is more than the %(amount)s still open.",
                    amount=f"{invoice.outstanding / 100:.2f}",
                ),
                field="amount",
            )
    was_open = invoice.status == InvoiceStatus.ISSUED
    payment = Payment(
        invoice=invoice,
        method=method,
        amount=amount,
        payer_reference=payer_reference.strip()[:100],
        provider_ref=provider_ref,
        paid_date=paid_date,
        recorded_by_id=getattr(actor, "id", None),
    )
    db.session.add(payment)
    db.session.flush()
    if was_open and invoice.outstanding == 0:
        invoice.status = InvoiceStatus.PAID
        invoice_event.send(invoice, event_type="invoice.paid")
    audit.record(
        actor,
        "payment.recorded",
        payment,
        organisation=invoice.lab_id,
        invoice=invoice.number,
        method=method.value,
        amount=amount,
        overpaid=invoice.overpaid,
    )
    for membership in invoice.customer_org.memberships:
        user = membership.user
        queue_mail(
            user.email,
            _l("Payment received for statement %(number)s", number=invoice.number),
            "mail/payment_received.txt",
            locale=user.locale,
            user=user,
            invoice=invoice,
            payment=payment,
        )
    db.session.flush()
    return payment


def settle_overpayment(actor: User | None, invoice: Invoice) -> int:
    """Refund what the invoice received beyond what it counts for (the newest payments
    first, each back the way it came: online through the gateway after the commit, a bank
    transfer by the lab, listed as to be refunded). Returns the amount put to refund."""
    if not invoice.overpaid:
        return 0
    from sharehub.billing.refunds import refund_overpayment

    created = refund_overpayment(actor, invoice, str(_l("Paid beyond what the statement is owed")))
    return sum(refund.amount for refund in created)


def record_bank_transfer(
    actor: User,
    invoice: Invoice,
    amount: int,
    paid_date: date,
    payer_reference: str,
    seen_outstanding: int | None = None,
) -> Payment:
    """A transfer the lab received. `seen_outstanding` is what the invoice page showed open
    when the lab typed the amount: if another payment has arrived since, the transfer is
    recorded all the same and the excess put to refund (see `apply_payment`)."""
    if not actor.can_manage(invoice.lab):
        raise PermissionDenied(_l("Only managers of this laboratory record receipts."))
    if paid_date > local_today():
        raise ValidationError(_l("The payment date is in the future."), field="paid_date")
    payment = apply_payment(
        invoice,
        PaymentMethod.BANK_TRANSFER,
        amount,
        actor=actor,
        payer_reference=payer_reference,
        paid_date=paid_date,
        seen_outstanding=seen_outstanding,
    )
    settle_overpayment(actor, invoice)
    return payment


def revenue_by_month(lab_id: int, year: int) -> list[dict]:
    """Invoiced (less credit notes), paid (less refunds) and outstanding amounts per month,
    internal and external (SQL sums). Months are Beijing months, as the invoice's year is:
    an invoice issued at 00:30 on 1 January counts in January of the new year."""
    from sharehub.accounts.models import Organisation
    from sharehub.billing.models import Payment as P

    # The lab, its host organisation and the host's other units are internal customers.
    internal = Invoice.customer_org_id.in_(Organisation.internal_ids(lab_id))
    invoiced = db.session.execute(
        sa.select(
            Invoice.issued_dt,
            internal.label("internal"),
            sa.func.sum(Invoice.gross_total),
        )
        .where(
            Invoice.lab_id == lab_id, Invoice.year == year, Invoice.status != InvoiceStatus.DRAFT
        )
        .group_by(Invoice.issued_dt, "internal")
    ).all()
    paid = db.session.execute(
        sa.select(
            Invoice.issued_dt,
            internal.label("internal"),
            sa.func.sum(P.amount),
        )
        .join(P, P.invoice_id == Invoice.id)
        .where(Invoice.lab_id == lab_id, Invoice.year == year)
        .group_by(Invoice.issued_dt, "internal")
    ).all()
    from sharehub.billing.models import Refund, RefundStatus

    refunded = db.session.execute(
        sa.select(
            Invoice.issued_dt,
            internal.label("internal"),
            sa.func.sum(Refund.amount),
        )
        .join(Refund, Refund.invoice_id == Invoice.id)
        .where(
            Invoice.lab_id == lab_id,
            Invoice.year == year,
            Refund.status != RefundStatus.FAILED,
        )
        .group_by(Invoice.issued_dt, "internal")
    ).all()
    rows = {
        m: {
            "month": m,
            "internal_invoiced": 0,
            "external_invoiced": 0,
            "internal_paid": 0,
            "external_paid": 0,
        }
        for m in range(1, 13)
    }
    for issued, internal, total in invoiced:
        row = rows[local_date(issued).month]
        row["internal_invoiced" if internal else "external_invoiced"] += int(total)
    for issued, internal, total in paid:
        rows[local_date(issued).month]["internal_paid" if internal else "external_paid"] += int(
            total
        )
    for issued, internal, total in refunded:
        rows[local_date(issued).month]["internal_paid" if internal else "external_paid"] -= int(
            total
        )
    for row in rows.values():
        row["outstanding"] = (
            row["internal_invoiced"]
            + row["external_invoiced"]
            - row["internal_paid"]
            - row["external_paid"]
        )
    return list(rows.values())
