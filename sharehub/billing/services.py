"""Invoices from bookings, extra lines, issuing with a gapless number, voiding by credit note.

Numbers are taken from a per-lab, per-year counter row locked in the issuing transaction,
so a failed or rolled-back issue returns its number and concurrent issues queue up. Every
change of an existing invoice (a line, issuing, a credit note, a void) first locks the
invoice row and re-reads it, so two tabs or a double submit act one after the other and the
second sees what the first did (lock order: invoice, then counter or voucher quota). A
partial unique index keeps one live invoice per booking.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from sharehub.accounts.models import Organisation, User
from sharehub.billing import refunds
from sharehub.billing.models import Invoice, InvoiceCounter, InvoiceLine, InvoiceStatus
from sharehub.billing.signals import invoice_event
from sharehub.booking.availability import LAB_TZ
from sharehub.booking.models import AccessGrant, Booking, BookingStatus
from sharehub.booking.signals import booking_cancelled
from sharehub.catalog.models import DEFAULT_TAX_CODES, ListingKind
from sharehub.catalog.pricing import vat_of
from sharehub.core import audit
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.inputs import MAX_FEN, PRICE_LIMIT_TEXT, check_length
from sharehub.core.mail import queue_mail
from sharehub.extensions import db


def _require_lab(actor: User, lab: Organisation) -> None:
    if not actor.can_manage(lab):
        raise PermissionDenied(_l("Only managers of this laboratory may do this."))


def party(org: Organisation) -> dict:
    return {
        "name": org.name,
        "name_en": org.name_en,
        "credit_code": org.credit_code,
        "address": org.address,
        "contact": f"{org.contact_name} {org.contact_phone}".strip(),
        "bank_name": org.bank_name,
        "bank_account": org.bank_account,
        "bank_holder": org.bank_holder or org.name,
    }


def lock(invoice: Invoice) -> Invoice:
    """Write what is pending, then lock the invoice row and read it again (PostgreSQL;
    SQLite serializes writers from the start): whoever comes second waits here and then
    checks the state the first one left."""
    db.session.flush()
    db.session.refresh(invoice, with_for_update=True)
    return invoice


def _recompute(invoice: Invoice) -> None:
    invoice.net_total = sum(line.net for line in invoice.lines)
    invoice.vat_total = sum(line.vat for line in invoice.lines)
    invoice.gross_total = invoice.net_total + invoice.vat_total


def invoice_from_booking(actor: User, booking: Booking) -> Invoice:
    lab = booking.listing.lab
    _require_lab(actor, lab)
    if not booking.is_invoiceable:
        raise Conflict(_l("This booking cannot be billed in its present state."))
    existing = db.session.scalar(
        sa.select(Invoice.id).where(
            Invoice.booking_id == booking.id,
            Invoice.is_credit_note.is_(False),
            Invoice.status != InvoiceStatus.VOID,
        )
    )
    if existing is not None:
        raise Conflict(_l("This booking already has a statement."))
    invoice = Invoice(lab_id=lab.id, customer_org_id=booking.customer_org_id, booking=booking)
    invoice.lines.extend(booking_lines(booking))
    _recompute(invoice)
    try:
        # Another session drafting the same booking at once: the unique index lets one
        # through; the other waits for its commit, then fails here, inside the savepoint.
        with db.session.begin_nested():
            db.session.add(invoice)
            db.session.flush()
    except IntegrityError as exc:
        if not any(key in str(exc.orig) for key in ("uq_invoice_live_booking", "booking_id")):
            raise
        raise Conflict(_l("This booking already has a statement.")) from exc
    audit.record(actor, "invoice.drafted", invoice, organisation=lab.id, booking=booking.id)
    db.session.flush()
    return invoice


def draft_invoice(
    actor: User,
    lab: Organisation,
    customer: Organisation,
    lines: list[tuple[str, str, int, int, dict[str, str]]],
    *,
    field: str | None = None,
    note: str = "",
    by_terms: bool = False,
) -> Invoice:
    """A draft statement of `lab` to `customer` from lines (description, quantity as
    shown, unit price and net amount in fen, and the fapiao columns: tax_code, spec,
    unit), VAT at the lab's rate on each line. Used by work billed from its own lines (a
    testing order); the caller keeps one live statement per thing billed. `by_terms`: a
    charge the lab's own agreed terms impose whoever acts (a testing order's cancellation
    fee when the customer cancels), so `actor` need not manage the lab; the caller has
    checked the actor may take the action."""
    if not by_terms:
        _require_lab(actor, lab)
    if not lines:
        raise Conflict(_l("There is nothing to invoice."))
    rate = lab.vat_rate_bp
    invoice = Invoice(lab_id=lab.id, customer_org_id=customer.id, field=field, note=note)
    for position, (description, quantity, unit_price, net, fapiao) in enumerate(lines):
        invoice.lines.append(
            InvoiceLine(
                position=position,
                description=description[:300],
                quantity=quantity[:32],
                unit_price=unit_price,
                net=net,
                vat_rate_bp=rate,
                vat=vat_of(net, rate),
                tax_code=fapiao.get("tax_code", "")[:19],
                spec=fapiao.get("spec", "")[:200],
                unit=fapiao.get("unit", "")[:20],
            )
        )
    _recompute(invoice)
    db.session.add(invoice)
    db.session.flush()
    audit.record(actor, "invoice.drafted", invoice, organisation=lab.id)
    db.session.flush()
    return invoice


def booking_lines(booking: Booking) -> list[InvoiceLine]:
    """The lines a booking is invoiced with: the booked service (or the cancellation fee)
    and, once completed, what the usage records show beyond it."""
    lines: list[InvoiceLine] = []
    listing = booking.listing
    fapiao_fields = {
        "tax_code": listing.fapiao_tax_code,
        "spec": listing.model[:200],
        "unit": listing.fapiao_unit,
    }
    start = booking.starts_dt.astimezone(LAB_TZ)
    service = f"{booking.listing.name} · {booking.unit.name} · {start:%Y-%m-%d %H:%M}"
    if booking.status == BookingStatus.CANCELLED:
        if not booking.cancel_fee:
            raise Conflict(_l("A cancellation without fee is not billed."))
        net = (booking.cancel_fee * 10000 + (10000 + booking.vat_rate_bp) // 2) // (
            10000 + booking.vat_rate_bp
        )
        lines.append(
            InvoiceLine(
                position=0,
                description=f"{_l('Cancellation fee')}: {service}",
                quantity="1",
                unit_price=net,
                net=net,
                vat_rate_bp=booking.vat_rate_bp,
                vat=booking.cancel_fee - net,
                **(fapiao_fields | {"unit": "次"}),
            )
        )
    else:
        # An assisted booking shows the staff operator's time on its own line; the VAT of
        # the two lines adds up to the booking's.
        service_net = booking.net_amount - booking.assisted_amount
        service_vat = (
            vat_of(service_net, booking.vat_rate_bp)
            if booking.assisted_amount
            else booking.vat_amount
        )
        lines.append(
            InvoiceLine(
                position=0,
                description=service,
                quantity=f"{booking.minutes / 60:g} h",
                unit_price=service_net,
                net=service_net,
                vat_rate_bp=booking.vat_rate_bp,
                vat=service_vat,
                **fapiao_fields,
            )
        )
        if booking.assisted_amount:
            lines.append(
                InvoiceLine(
                    position=1,
                    description=f"{_l('Staff operator')}: {service}"[:300],
                    quantity=f"{booking.minutes / 60:g} h",
                    unit_price=booking.listing.assisted_rate,
                    net=booking.assisted_amount,
                    vat_rate_bp=booking.vat_rate_bp,
                    vat=booking.vat_amount - service_vat,
                    **(fapiao_fields | {"unit": "小时"}),
                )
            )
    if booking.status == BookingStatus.COMPLETED:
        for line in _usage_lines(booking):
            line.position = len(lines)
            lines.append(line)
    account = booking.funding_account
    if account is not None:  # every line is charged to the booking's funding account
        for line in lines:
            line.funding_account_id, line.funding_label = account.id, account.label[:300]
    return lines


def _usage_lines(booking: Booking) -> list[InvoiceLine]:
    """What the usage records show beyond what was booked: run time over the booked time
    for listings priced by the hour, samples over the booked number for listings priced
    per sample, at the booking's price tier (no second minimum charge)."""
    from sharehub.catalog.models import PriceUnit
    from sharehub.catalog.pricing import tier_for

    listing = booking.listing
    run = sum(u.run_minutes for u in booking.current_usage)
    samples = sum(u.samples for u in booking.current_usage)
    price = listing.price_for(tier_for(listing, booking.customer_org))
    lines = []
    if listing.price_unit == PriceUnit.HOUR and run > booking.minutes:
        extra = run - booking.minutes
        net = (price * extra + 30) // 60
        lines.append((str(_l("Time used beyond the booking")), f"{extra / 60:g} h", net))
    if listing.price_unit == PriceUnit.SAMPLE and samples > max(booking.sample_count, 1):
        extra = samples - max(booking.sample_count, 1)
        lines.append((str(_l("Samples beyond the booking")), f"{extra} × sample", price * extra))
    return [
        InvoiceLine(
            description=description,
            quantity=quantity,
            unit_price=price,
            net=net,
            vat_rate_bp=booking.vat_rate_bp,
            vat=vat_of(net, booking.vat_rate_bp),
            tax_code=listing.fapiao_tax_code,
            spec=listing.model[:200],
            unit=listing.fapiao_unit,
        )
        for description, quantity, net in lines
        if net > 0
    ]


QUANTITY = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,6})?")


def add_line(
    actor: User, invoice: Invoice, description: str, quantity: str, unit_price: int
) -> InvoiceLine:
    """An extra line (sample preparation, reports...); VAT at the lab's rate."""
    _require_lab(actor, invoice.lab)
    lock(invoice)  # never a line on an invoice another session has just issued
    if not invoice.is_draft:
        raise Conflict(_l("An issued statement never changes; void it with a credit note."))
    description = (description or "").strip()
    if not description:
        raise ValidationError(_l("Describe the line."), field="description")
    check_length(description, 300, _l("The description of a line"), "description")
    try:
        if not QUANTITY.fullmatch(quantity.strip()):  # no 1e999990, NaN or Infinity
            raise InvalidOperation
        amount = Decimal(quantity.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise ValidationError(_l("The quantity is a number."), field="quantity") from exc
    if unit_price > MAX_FEN:
        raise ValidationError(PRICE_LIMIT_TEXT, field="unit_price")
    if amount <= 0 or amount > 100000 or unit_price < 0:
        raise ValidationError(
            _l("Quantities are positive and prices not negative."), field="quantity"
        )
    net = int((amount * unit_price).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    rate = invoice.lab.vat_rate_bp
    first = invoice.lines[0] if invoice.lines else None
    line = InvoiceLine(
        position=len(invoice.lines),
        description=description,
        quantity=f"{amount.normalize():f}",
        unit_price=unit_price,
        net=net,
        vat_rate_bp=rate,
        vat=vat_of(net, rate),
        # An extra line of the same service: its tax classification (the lab may differ).
        tax_code=first.tax_code if first else DEFAULT_TAX_CODES[ListingKind.EQUIPMENT],
        unit="项",
    )
    invoice.lines.append(line)
    _recompute(invoice)
    audit.record(
        actor,
        "invoice.line_added",
        invoice,
        organisation=invoice.lab_id,
        description=line.description,
        net=net,
    )
    db.session.flush()
    return line


def _next_number(lab_id: int, year: int) -> int:
    """Lock the counter row (creating it once) and take the next number."""
    query = (
        sa.select(InvoiceCounter)
        .where(InvoiceCounter.lab_id == lab_id, InvoiceCounter.year == year)
        .execution_options(populate_existing=True)  # the locked row, never a cached copy
    )
    counter: InvoiceCounter | None
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        db.session.execute(
            insert(InvoiceCounter)
            .values(lab_id=lab_id, year=year, last_number=0)
            .on_conflict_do_nothing()
        )
        counter = db.session.execute(query.with_for_update()).scalar_one()
    else:  # SQLite: the transaction already holds the write lock (BEGIN IMMEDIATE)
        counter = db.session.scalar(query)
        if counter is None:
            counter = InvoiceCounter(lab_id=lab_id, year=year, last_number=0)
            db.session.add(counter)
    counter.last_number += 1
    db.session.flush()
    return counter.last_number


def _number(invoice: Invoice, when: datetime) -> None:
    invoice.year = when.astimezone(LAB_TZ).year
    invoice.sequence = _next_number(invoice.lab_id, invoice.year)
    invoice.number = f"SH{invoice.lab_id:04d}-{invoice.year}-{invoice.sequence:06d}"


def issue(actor: User, invoice: Invoice) -> None:
    """Number the draft and send it. Issued twice at once (two tabs, a double submit), the
    second waits for the first and is refused: it takes no number and mails nothing."""
    _require_lab(actor, invoice.lab)
    lock(invoice)
    if not invoice.is_draft:
        raise Conflict(_l("This statement has already been issued."))
    if not invoice.lines:
        raise ValidationError(_l("A statement needs at least one line."))
    now = utcnow()
    _number(invoice, now)
    invoice.status, invoice.issued_dt = InvoiceStatus.ISSUED, now
    invoice.seller, invoice.buyer = party(invoice.lab), party(invoice.customer_org)
    audit.record(
        actor,
        "invoice.issued",
        invoice,
        organisation=invoice.lab_id,
        number=invoice.number,
        gross=invoice.gross_total,
    )
    invoice_event.send(invoice, event_type="invoice.issued")
    for membership in invoice.customer_org.memberships:
        user = membership.user
        queue_mail(
            user.email,
            _l("Statement %(number)s from %(lab)s", number=invoice.number, lab=invoice.lab.name),
            "mail/invoice_issued.txt",
            locale=user.locale,
            user=user,
            invoice=invoice,
        )
    db.session.flush()


def _split_by_rate(invoice: Invoice, amount: int) -> list[tuple[int, int]]:
    """Share a gross amount over the invoice's VAT rates in proportion to their gross, the
    rounding remainder on the largest share: [(rate_bp, gross), ...]."""
    by_rate: dict[int, int] = {}
    for line in invoice.lines:
        by_rate[line.vat_rate_bp] = by_rate.get(line.vat_rate_bp, 0) + line.net + line.vat
    total = sum(by_rate.values())
    if total <= 0:
        return [(invoice.lab.vat_rate_bp, amount)]
    shares = [(rate, amount * gross // total) for rate, gross in by_rate.items()]
    shares.sort(key=lambda share: share[1], reverse=True)
    remainder = amount - sum(gross for _, gross in shares)
    shares[0] = (shares[0][0], shares[0][1] + remainder)
    return [share for share in shares if share[1]]


def credit(actor: User | None, invoice: Invoice, amount: int, reason: str) -> Invoice:
    """Issue a credit note (红字发票) for `amount` fen of what the invoice still counts for;
    the whole of it copies the lines, a part is shared over the VAT rates. Permission is
    the caller's: a lab's void, or a cancellation the booking rules allowed."""
    lock(invoice)
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.PAID) or invoice.is_credit_note:
        raise Conflict(_l("Only an issued statement can be corrected."))
    if not (reason or "").strip():
        raise ValidationError(_l("Give the reason for the correction."), field="reason")
    if not 0 < amount <= invoice.effective_total:
        raise ValidationError(
            _l("A credit note cannot exceed what the statement still counts for.")
        )
    credit_note = Invoice(
        lab_id=invoice.lab_id,
        customer_org_id=invoice.customer_org_id,
        booking_id=invoice.booking_id,
        credit_for_id=invoice.id,
        is_credit_note=True,
        note=reason.strip()[:2000],
    )
    lines_gross = sum(line.net + line.vat for line in invoice.lines)
    if amount == invoice.gross_total == lines_gross:
        for line in invoice.lines:
            credit_note.lines.append(
                InvoiceLine(
                    position=line.position,
                    description=line.description,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    net=-line.net,
                    vat_rate_bp=line.vat_rate_bp,
                    vat=-line.vat,
                    tax_code=line.tax_code,
                    spec=line.spec,
                    unit=line.unit,
                )
            )
    else:
        for position, (rate, gross) in enumerate(_split_by_rate(invoice, amount)):
            net = (gross * 10000 + (10000 + rate) // 2) // (10000 + rate)
            credit_note.lines.append(
                InvoiceLine(
                    position=position,
                    description=f"{_l('Credit')}: {reason.strip()[:280]}",
                    quantity="1",
                    unit_price=net,
                    net=-net,
                    vat_rate_bp=rate,
                    vat=-(gross - net),
                    tax_code=invoice.lines[0].tax_code if invoice.lines else "",
                )
            )
    _recompute(credit_note)
    if credit_note.gross_total != -amount:  # never a credit note for another amount
        raise Conflict(
            _l("The statement's lines do not add up to its total; it cannot be credited.")
        )
    db.session.add(credit_note)
    now = utcnow()
    _number(credit_note, now)
    credit_note.status, credit_note.issued_dt = InvoiceStatus.ISSUED, now
    credit_note.seller = invoice.seller or party(invoice.lab)
    credit_note.buyer = invoice.buyer or party(invoice.customer_org)
    db.session.flush()
    db.session.expire(invoice, ["credit_notes"])
    if invoice.effective_total == 0:
        invoice.status = InvoiceStatus.VOID
    audit.record(
        actor,
        "invoice.credited",
        invoice,
        organisation=invoice.lab_id,
        credit_note=credit_note.number,
        amount=amount,
        reason=credit_note.note,
    )
    db.session.flush()
    return credit_note


def void(actor: User, invoice: Invoice, reason: str) -> Invoice:
    """Void an issued invoice: it stays as issued, marked void, and a credit note with the
    opposite amounts and its own number records the correction. Voucher amounts go back to
    the firm's quota and money received is refunded. Voided twice at once, the second
    waits for the first and is refused: one credit note, one refund."""
    _require_lab(actor, invoice.lab)
    lock(invoice)
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.PAID) or invoice.is_credit_note:
        raise Conflict(_l("Only an issued statement can be voided."))
    if not (reason or "").strip():
        raise ValidationError(_l("Give the reason for the correction."), field="reason")
    refunds.reverse_vouchers(invoice, actor)
    credit_note = credit(actor, invoice, invoice.effective_total, reason)
    refunds.refund_overpayment(actor, invoice, reason)
    audit.record(
        actor,
        "invoice.voided",
        invoice,
        organisation=invoice.lab_id,
        credit_note=credit_note.number,
        reason=credit_note.note,
    )
    db.session.flush()
    return credit_note


def invoice_from_access_grant(actor: User, grant: AccessGrant) -> Invoice:
    """A dataset access grant with a price is invoiced like a booking once it was granted
    (approved, or active at once): a draft with one line at the grant's price tier and VAT,
    which the lab issues and the customer pays as any other invoice."""
    lab = grant.listing.lab
    _require_lab(actor, lab)
    if grant.starts_dt is None or grant.ends_dt is None:  # both are set when access is granted
        raise Conflict(_l("Access is billed once it has been granted."))
    if not grant.gross_amount:
        raise Conflict(_l("Free access is not billed."))
    if live_access_invoice(grant) is not None:
        raise Conflict(_l("This access already has a statement."))
    invoice = Invoice(lab_id=lab.id, customer_org_id=grant.customer_org_id, access_grant=grant)
    start, end = grant.starts_dt.astimezone(LAB_TZ), grant.ends_dt.astimezone(LAB_TZ)
    invoice.lines.append(
        InvoiceLine(
            position=0,
            description=(
                f"{grant.listing.name} · {_l('Dataset access')} · {start:%Y-%m-%d} – {end:%Y-%m-%d}"
            )[:300],
            quantity="1",
            unit_price=grant.net_amount,
            net=grant.net_amount,
            vat_rate_bp=grant.vat_rate_bp,
            vat=grant.vat_amount,
            tax_code=grant.listing.fapiao_tax_code,
            unit=grant.listing.fapiao_unit,
        )
    )
    _recompute(invoice)
    db.session.add(invoice)
    db.session.flush()
    audit.record(actor, "invoice.drafted", invoice, organisation=lab.id, access_grant=grant.id)
    db.session.flush()
    return invoice


def live_access_invoice(grant: AccessGrant) -> Invoice | None:
    """The grant's invoice that is not void (nor a credit note), if any."""
    return db.session.scalar(
        sa.select(Invoice).where(
            Invoice.access_grant_id == grant.id,
            Invoice.is_credit_note.is_(False),
            Invoice.status != InvoiceStatus.VOID,
        )
    )


def live_invoice(booking) -> Invoice | None:
    return db.session.scalar(
        sa.select(Invoice).where(
            Invoice.booking_id == booking.id,
            Invoice.is_credit_note.is_(False),
            Invoice.status.in_((InvoiceStatus.ISSUED, InvoiceStatus.PAID)),
        )
    )


@booking_cancelled.connect
def settle_cancellation(booking, actor: User, fee: int) -> Invoice | None:
    """After a cancellation the booking's permission rules allowed: discard drafts, keep
    the fee, credit and refund the rest. Returns the credit note, if one was needed."""
    for draft in db.session.scalars(
        sa.select(Invoice).where(
            Invoice.booking_id == booking.id, Invoice.status == InvoiceStatus.DRAFT
        )
    ):
        audit.record(
            actor, "invoice.draft_discarded", draft, organisation=draft.lab_id, booking=booking.id
        )
        db.session.delete(draft)
    invoice = live_invoice(booking)
    if invoice is None:
        db.session.flush()
        return None
    reason = str(
        _l("Booking #%(id)s cancelled; fee kept: %(fee)s", id=booking.id, fee=f"{fee / 100:.2f}")
    )
    refunds.reverse_vouchers(invoice, actor)
    kept = min(fee, invoice.effective_total)
    credit_note = None
    if invoice.effective_total - kept > 0:
        credit_note = credit(actor, invoice, invoice.effective_total - kept, reason)
    refunds.refund_overpayment(actor, invoice, reason)
    refunds.settle_status(invoice)
    db.session.flush()
    return credit_note
