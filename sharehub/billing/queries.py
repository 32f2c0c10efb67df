"""Reads over invoices and money: the customer's monthly statement, the lab's reconciliation,
and bank statements matched to open invoices."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from sharehub.billing.models import (
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    Refund,
    RefundStatus,
)
from sharehub.booking.availability import LAB_TZ
from sharehub.booking.models import Booking
from sharehub.catalog.models import Listing
from sharehub.core.errors import ValidationError
from sharehub.extensions import db


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """A calendar month in the labs' time zone, as aware datetimes [start, end)."""
    start = datetime.combine(date(year, month, 1), time(), LAB_TZ)
    following = date(year + month // 12, month % 12 + 1, 1)
    return start, datetime.combine(following, time(), LAB_TZ)


def _sum(column, condition=None):
    value = column if condition is None else sa.case((condition, column), else_=0)
    return sa.func.coalesce(sa.func.sum(value), 0)


def statement(org_id: int, year: int, month: int) -> list[dict]:
    """Every order (booking) the organisation placed for the month, with what was invoiced
    (less credit notes), paid by voucher and otherwise (less refunds) and what is still open
    (negative: money to come back). One statement with grouped subqueries."""
    start, end = month_bounds(year, month)
    invoiced = (
        sa.select(Invoice.booking_id, _sum(Invoice.gross_total).label("invoiced"))
        .where(Invoice.status != InvoiceStatus.DRAFT, Invoice.booking_id.is_not(None))
        .group_by(Invoice.booking_id)
        .subquery()
    )
    is_voucher = Payment.method == PaymentMethod.VOUCHER
    paid = (
        sa.select(
            Invoice.booking_id,
            _sum(Payment.amount, is_voucher).label("voucher"),
            _sum(Payment.amount, ~is_voucher).label("cash"),
        )
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .group_by(Invoice.booking_id)
        .subquery()
    )
    refund_is_voucher = Refund.method == PaymentMethod.VOUCHER
    returned = (
        sa.select(
            Invoice.booking_id,
            _sum(Refund.amount, refund_is_voucher).label("voucher_back"),
            _sum(Refund.amount, ~refund_is_voucher).label("cash_back"),
        )
        .join(Invoice, Invoice.id == Refund.invoice_id)
        .where(Refund.status != RefundStatus.FAILED)
        .group_by(Invoice.booking_id)
        .subquery()
    )
    numbers = (
        sa.select(Invoice.booking_id, sa.func.max(Invoice.number).label("number"))
        .where(Invoice.is_credit_note.is_(False), Invoice.number.is_not(None))
        .group_by(Invoice.booking_id)
        .subquery()
    )
    query = (
        sa.select(
            Booking.id,
            Booking.starts_dt,
            Booking.status,
            Booking.gross_amount,
            Booking.cancel_fee,
            Listing.name,
            Listing.name_en,
            numbers.c.number,
            sa.func.coalesce(invoiced.c.invoiced, 0),
            sa.func.coalesce(paid.c.voucher, 0) - sa.func.coalesce(returned.c.voucher_back, 0),
            sa.func.coalesce(paid.c.cash, 0) - sa.func.coalesce(returned.c.cash_back, 0),
        )
        .join(Listing, Listing.id == Booking.listing_id)
        .outerjoin(invoiced, invoiced.c.booking_id == Booking.id)
        .outerjoin(paid, paid.c.booking_id == Booking.id)
        .outerjoin(returned, returned.c.booking_id == Booking.id)
        .outerjoin(numbers, numbers.c.booking_id == Booking.id)
        .where(
            Booking.customer_org_id == org_id,
            Booking.starts_dt >= start,
            Booking.starts_dt < end,
        )
        .order_by(Booking.starts_dt, Booking.id)
    )
    rows = []
    for (
        booking_id,
        starts,
        status,
        amount,
        fee,
        name,
        name_en,
        number,
        invoiced_total,
        voucher,
        cash,
    ) in db.session.execute(query):
        rows.append(
            {
                "booking_id": booking_id,
                "starts_dt": starts,
                "status": status,
                "listing": name,
                "listing_en": name_en or name,
                "amount": int(amount),
                "cancel_fee": int(fee or 0),
                "invoice_number": number or "",
                "invoiced": int(invoiced_total),
                "voucher": int(voucher),
                "paid": int(cash),
                "open": int(invoiced_total) - int(voucher) - int(cash),
            }
        )
    return rows


def lab_money(lab_id: int, year: int, month: int) -> dict:
    """The lab's month for reconciliation: payments and refunds that came in or went out,
    totals per method, and what is still to be matched."""
    start, end = month_bounds(year, month)
    payments = db.session.scalars(
        sa.select(Payment)
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Invoice.lab_id == lab_id, Payment.created_dt >= start, Payment.created_dt < end)
        .order_by(Payment.created_dt, Payment.id)
    ).all()
    refunds = db.session.scalars(
        sa.select(Refund)
        .join(Invoice, Invoice.id == Refund.invoice_id)
        .where(Invoice.lab_id == lab_id, Refund.created_dt >= start, Refund.created_dt < end)
        .order_by(Refund.created_dt, Refund.id)
    ).all()
    by_method = dict(
        db.session.execute(
            sa.select(Payment.method, sa.func.sum(Payment.amount))
            .join(Invoice, Invoice.id == Payment.invoice_id)
            .where(Invoice.lab_id == lab_id, Payment.created_dt >= start, Payment.created_dt < end)
            .group_by(Payment.method)
        ).all()
    )
    open_invoices = db.session.scalars(
        sa.select(Invoice)
        .where(
            Invoice.lab_id == lab_id,
            Invoice.status == InvoiceStatus.ISSUED,
            Invoice.is_credit_note.is_(False),
        )
        .order_by(Invoice.issued_dt)
        # what each one still owes, read for all at once rather than invoice by invoice
        .options(
            so.selectinload(Invoice.payments),
            so.selectinload(Invoice.refunds),
            so.selectinload(Invoice.credit_notes),
        )
    ).all()
    to_refund = db.session.scalars(
        sa.select(Refund)
        .join(Invoice, Invoice.id == Refund.invoice_id)
        .where(
            Invoice.lab_id == lab_id,
            Refund.status.in_((RefundStatus.REQUESTED, RefundStatus.FAILED)),
        )
        .order_by(Refund.id)
    ).all()
    return {
        "payments": payments,
        "refunds": refunds,
        "by_method": {PaymentMethod(k): int(v) for k, v in by_method.items()},
        "open_invoices": [i for i in open_invoices if i.outstanding],
        "to_refund": to_refund,
    }


# Bank statements -------------------------------------------------------------------------

HEADERS = {
    "date": ("date", "日期", "交易日期", "记账日期", "入账日期"),
    "amount": ("amount", "金额", "收入金额", "贷方金额", "交易金额"),
    "reference": ("reference", "附言", "摘要", "用途", "备注", "交易附言"),
    "payer": ("payer", "付款人", "对方户名", "付款方", "对方账户名称"),
}
REFERENCE = re.compile(r"SH(\d{8})", re.IGNORECASE)
MAX_LINES = 5000


@dataclass
class StatementLine:
    row: int
    paid_date: date
    amount: int
    reference: str
    payer: str
    invoice: Invoice | None = None
    outcome: str = ""  # matched / recorded / unmatched / too_much
    notes: list[str] = field(default_factory=list)

    @property
    def matchable(self) -> bool:
        return self.outcome == "matched"


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(_l("The file is neither UTF-8 nor GBK text."), field="statement")


def parse_bank_statement(data: bytes) -> list[StatementLine]:
    """Receipts from a bank's CSV export (columns named in Chinese or English). One bad
    line refuses the whole file, naming the line, so nothing is half-read."""
    reader = csv.reader(io.StringIO(_decode(data)))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration as exc:
        raise ValidationError(_l("The file is empty."), field="statement") from exc
    columns = {}
    for key, names in HEADERS.items():
        found = next((header.index(n) for n in names if n in header), None)
        if found is None and key != "payer":
            raise ValidationError(
                _l(
                    "The file needs a column named %(names)s.",
                    names=" / ".join(names[:3]),
                ),
                field="statement",
            )
        columns[key] = found
    lines = []
    for number, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(lines) >= MAX_LINES:
            raise ValidationError(
                _l("At most %(n)s lines per file.", n=MAX_LINES), field="statement"
            )
        try:
            raw_date = record[columns["date"]].strip().replace("/", "-").replace(".", "-")
            paid = date.fromisoformat(raw_date[:10])
            text = record[columns["amount"]].strip().replace(",", "").replace("¥", "")
            amount = int((Decimal(text) * 100).to_integral_value())
        except (IndexError, ValueError, InvalidOperation) as exc:
            raise ValidationError(
                _l(
                    "Line %(n)s: give the date as YYYY-MM-DD and the amount in yuan.",
                    n=number,
                ),
                field="statement",
            ) from exc
        payer = record[columns["payer"]].strip() if columns["payer"] is not None else ""
        lines.append(
            StatementLine(
                number, paid, amount, record[columns["reference"]].strip()[:100], payer[:100]
            )
        )
    return lines


def match_statement(lab_id: int, lines: list[StatementLine]) -> list[StatementLine]:
    """Match receipts to the lab's open invoices by payment reference. A line already
    recorded (same invoice, amount, date and reference) is shown, never recorded twice."""
    ids = {int(m.group(1)) for line in lines for m in REFERENCE.finditer(line.reference)}
    invoices = {
        i.id: i
        for i in db.session.scalars(
            sa.select(Invoice).where(Invoice.id.in_(ids), Invoice.lab_id == lab_id)
        )
    }
    recorded = set(
        db.session.execute(
            sa.select(
                Payment.invoice_id, Payment.amount, Payment.paid_date, Payment.payer_reference
            ).where(Payment.invoice_id.in_(invoices), Payment.method == PaymentMethod.BANK_TRANSFER)
        ).all()
    )
    for line in lines:
        found = {invoices.get(int(m.group(1))) for m in REFERENCE.finditer(line.reference)}
        found = [i for i in found if i is not None]
        if line.amount <= 0:
            line.outcome = "outgoing"
        elif len(found) != 1:
            line.outcome = "unmatched"
        else:
            line.invoice = invoice = found[0]
            key = (invoice.id, line.amount, line.paid_date, line.reference)
            if key in recorded:
                line.outcome = "recorded"
            elif invoice.status != InvoiceStatus.ISSUED or line.amount > invoice.outstanding:
                line.outcome = "too_much"
            else:
                line.outcome = "matched"
    return lines
