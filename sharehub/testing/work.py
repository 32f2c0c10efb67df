"""Running a testing order: test runs on the lab's units through the booking engine,
turnaround from receipt, late orders, and the statement billed from the order's lines.

Turnaround counts working days (Asia/Shanghai, the State Council's schedule) from the
receipt of the samples to the issue of the first report; an order is late when that day
has passed without a report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import User
from sharehub.billing.models import Invoice, InvoiceStatus
from sharehub.billing.services import draft_invoice
from sharehub.booking import services as booking_services
from sharehub.booking.models import Booking, BookingStatus
from sharehub.catalog.models import Unit
from sharehub.catalog.workdays import add_workdays, workdays_between
from sharehub.core import audit
from sharehub.core.clock import local_date, local_today
from sharehub.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from sharehub.extensions import db
from sharehub.testing.models import (
    TESTING_TAX_CODE,
    QuoteLine,
    RequestStatus,
    SampleStatus,
    TestingRequest,
)
from sharehub.testing.orders import surcharge_of
from sharehub.testing.report_models import Report, ReportStatus
from sharehub.testing.work_models import OrderStatement, TestRun

# An order's tests are scheduled from the receipt of its samples until its report is out.
SCHEDULABLE = (RequestStatus.RECEIVED, RequestStatus.IN_TESTING)
# A customer may cancel until the testing starts; billing follows the order's lines.
BILLABLE = (
    RequestStatus.RECEIVED,
    RequestStatus.IN_TESTING,
    RequestStatus.REPORTED,
    RequestStatus.COMPLETED,
)


def _require_manager(actor: User, order: TestingRequest) -> None:
    if not order.is_lab_manager(actor):
        raise PermissionDenied(_l("Only managers of this laboratory may do this."))


def _lock(order: TestingRequest) -> TestingRequest:
    """Write what is pending, then lock the order row and read it again, so a double
    submit acts one after the other and the second sees what the first did."""
    db.session.flush()
    db.session.refresh(order, with_for_update=True)
    return order


def order_units(order: TestingRequest) -> list[Unit]:
    """The units the order's services run on (active ones, the lab's own)."""
    seen: dict[int, Unit] = {}
    for item in order.items:
        for unit in item.service.units:
            if unit.is_active and unit.listing.lab_id == order.lab_id:
                seen.setdefault(unit.id, unit)
    return list(seen.values())


def schedule(
    actor: User, order: TestingRequest, unit: Unit, starts: datetime, ends: datetime, note=""
) -> TestRun:
    """Book `unit` for the order's tests; the first run starts the testing."""
    _require_manager(actor, order)
    _lock(order)
    if order.status not in SCHEDULABLE:
        raise Conflict(_l("Tests are scheduled once the samples are received."))
    if unit.id not in {u.id for u in order_units(order)}:
        raise ValidationError(_l("Choose one of the units this order's services run on."))
    note = (note or "").strip()[:300]
    booking = booking_services.create_lab_booking(
        actor,
        unit,
        order.customer_org,
        starts,
        ends,
        purpose=f"{order.reference} {order.title}".strip(),
        customer_user=order.created_by,
    )
    run = TestRun(order=order, booking=booking, note=note, created_by_id=actor.id)
    db.session.add(run)
    if order.status == RequestStatus.RECEIVED:
        from sharehub.testing.orders import transition

        transition(actor, order, "start_testing")
    audit.record(
        actor,
        "testing_request.scheduled",
        order,
        organisation=order.lab_id,
        booking=booking.id,
        unit=unit.id,
    )
    db.session.flush()
    return run


def unschedule(actor: User, run: TestRun) -> None:
    """Cancel a run that has not started (its booking is cancelled by the lab)."""
    order = run.order
    _require_manager(actor, order)
    _lock(order)
    if run.booking.status != BookingStatus.CONFIRMED:
        raise Conflict(_l("Only a run that has not started can be taken off the schedule."))
    booking_services.cancel(actor, run.booking, reason=str(_l("Taken off the schedule")))
    db.session.flush()


def runs_of(order: TestingRequest) -> list[TestRun]:
    return list(
        db.session.scalars(
            sa.select(TestRun)
            .join(Booking, Booking.id == TestRun.booking_id)
            .where(TestRun.order_id == order.id)
            .order_by(Booking.starts_dt, TestRun.id)
        )
    )


def get_run(run_id: int, order: TestingRequest) -> TestRun:
    run = db.session.get(TestRun, run_id)
    if run is None or run.order_id != order.id:
        raise NotFound(_l("No such run."))
    return run


# --- turnaround --------------------------------------------------------------------------


def due_date(order: TestingRequest) -> date | None:
    """The working day the report is due: turnaround days after the receipt."""
    if order.received_dt is None or not order.turnaround_days:
        return None
    return add_workdays(local_date(order.received_dt), order.turnaround_days)


def first_report_date(order: TestingRequest) -> date | None:
    """The issue date of the order's first report (amendments do not move it)."""
    return db.session.scalar(
        sa.select(sa.func.min(Report.issue_date)).where(
            Report.order_id == order.id, Report.status != ReportStatus.DRAFT
        )
    )


@dataclass(frozen=True)
class Turnaround:
    due: date | None
    reported: date | None
    days: int | None  # working days from receipt to the first report
    late: bool  # reported after the due day, or not reported and the due day has passed

    @property
    def on_time(self) -> bool | None:
        if self.reported is None or self.due is None:
            return None
        return self.reported <= self.due


def turnaround(order: TestingRequest, today: date | None = None) -> Turnaround:
    today = today or local_today()
    due, reported = due_date(order), first_report_date(order)
    days = None
    if reported is not None and order.received_dt is not None:
        days = workdays_between(local_date(order.received_dt), reported)
    if due is None:
        late = False
    elif reported is not None:
        late = reported > due
    else:
        late = order.status not in (RequestStatus.CANCELLED, RequestStatus.REFUSED) and today > due
    return Turnaround(due, reported, days, late)


def late_orders(lab_id: int, today: date | None = None) -> list[tuple[TestingRequest, date]]:
    """The lab's orders in hand whose report is overdue, with the day it was due."""
    today = today or local_today()
    orders = db.session.scalars(
        sa.select(TestingRequest)
        .where(
            TestingRequest.lab_id == lab_id,
            TestingRequest.status.in_((RequestStatus.RECEIVED, RequestStatus.IN_TESTING)),
        )
        .order_by(TestingRequest.received_dt)
    )
    late = []
    for order in orders:
        due = due_date(order)
        if due is not None and today > due:
            late.append((order, due))
    return late


# --- billing -----------------------------------------------------------------------------


def live_statement(order: TestingRequest) -> Invoice | None:
    return db.session.scalar(
        sa.select(Invoice)
        .join(OrderStatement, OrderStatement.invoice_id == Invoice.id)
        .where(
            OrderStatement.order_id == order.id,
            Invoice.is_credit_note.is_(False),
            Invoice.status != InvoiceStatus.VOID,
        )
    )


@dataclass(frozen=True)
class BilledLine:
    description: str
    quantity: int
    unit_price_fen: int
    fapiao: dict[str, str]  # the fapiao columns: tax_code, spec, unit

    @property
    def amount_fen(self) -> int:
        return self.quantity * self.unit_price_fen


def billed_samples(order: TestingRequest) -> tuple[int, int]:
    """(samples billed, samples of the order): a sample refused at receipt is not tested,
    so it is not billed."""
    total = len(order.samples)
    refused = sum(1 for s in order.samples if s.status == SampleStatus.REFUSED)
    return total - refused, total


def billed_lines(order: TestingRequest) -> list[BilledLine]:
    """The order's lines as billed: a line counted per sample (its quantity a multiple of
    the order's samples, as standard pricing writes it) loses the refused samples' share,
    and its expedited surcharge is taken again at the service's percent of what is left.
    Lines priced otherwise (a lump sum the lab quoted) are billed as agreed."""
    billed, total = billed_samples(order)
    scaled: dict[int, int] = {}  # service id → its service line's billed amount
    rows: list[tuple[QuoteLine, int, int]] = []
    for line in order.lines:
        quantity, unit_price = line.quantity, line.unit_price_fen
        if billed < total and line.kind == "service" and total and line.quantity % total == 0:
            quantity = line.quantity // total * billed
            if line.service_id is not None:
                scaled[line.service_id] = scaled.get(line.service_id, 0) + quantity * unit_price
        rows.append((line, quantity, unit_price))
    result = []
    for line, quantity, unit_price in rows:
        if line.kind == "surcharge" and line.service_id in scaled and line.service is not None:
            unit_price = surcharge_of(
                scaled[line.service_id], line.service.expedited_surcharge_percent
            )
            quantity = 1
        if quantity and (unit_price or line.unit_price_fen == 0):
            result.append(BilledLine(line.description, quantity, unit_price, line.fapiao_fields()))
    return result


def _statement(
    actor: User, order: TestingRequest, lines: list[BilledLine], note: str, by_terms=False
) -> Invoice:
    fields = {item.service.field.value for item in order.items}
    invoice = draft_invoice(
        actor,
        order.lab,
        order.customer_org,
        [
            (
                f"{order.reference} · {line.description}",
                str(line.quantity),
                line.unit_price_fen,
                line.amount_fen,
                line.fapiao,
            )
            for line in lines
        ],
        field=fields.pop() if len(fields) == 1 else None,
        note=note,
        by_terms=by_terms,
    )
    db.session.add(OrderStatement(order_id=order.id, invoice_id=invoice.id))
    audit.record(
        actor, "testing_request.billed", order, organisation=order.lab_id, invoice=invoice.id
    )
    db.session.flush()
    return invoice


def bill(actor: User, order: TestingRequest) -> Invoice:
    """Draft the order's statement from its lines (services, surcharges), VAT at the lab's
    rate; one live statement per order, also with two tabs or a double click. Samples
    refused at receipt are not billed; the statement says how many samples are."""
    _require_manager(actor, order)
    _lock(order)
    if order.status not in BILLABLE:
        raise Conflict(_l("An order is billed once its samples are received."))
    if live_statement(order) is not None:
        raise Conflict(_l("This order already has a statement."))
    billed, total = billed_samples(order)
    note = str(_l("Testing order %(ref)s", ref=order.reference))
    if billed < total:
        note += " · " + str(
            _l(
                "%(billed)s of %(total)s samples billed (%(refused)s refused at receipt)",
                billed=billed,
                total=total,
                refused=total - billed,
            )
        )
    else:
        note += " · " + str(_l("%(n)s samples billed", n=billed))
    return _statement(actor, order, billed_lines(order), note)


def bill_cancellation(actor: User, order: TestingRequest, fee_fen: int) -> Invoice:
    """The statement of a cancellation fee: one line, the fee (the order's own terms, so
    drafted whoever cancelled; the caller holds the order's lock)."""
    fapiao = {"tax_code": TESTING_TAX_CODE, "spec": "", "unit": "项"}
    line = BilledLine(str(_l("Cancellation fee")), 1, fee_fen, fapiao)
    note = str(_l("Testing order %(ref)s cancelled", ref=order.reference))
    return _statement(actor, order, [line], note, by_terms=True)


def order_of_statement(invoice: Invoice) -> TestingRequest | None:
    return db.session.scalar(
        sa.select(TestingRequest)
        .join(OrderStatement, OrderStatement.order_id == TestingRequest.id)
        .where(OrderStatement.invoice_id == invoice.id)
    )
