"""Cancelling a testing order: by the customer until the testing starts, at the fee the
order's terms name once the samples are received; stopped by the lab, with its reason,
until the report is issued, free.

The testing has started once a run of the order is checked in or a result is recorded.
The order row is locked first, then the bookings of its runs, so a double click cancels
once and a cancellation racing a check-in (which locks its booking, booking.usage) or a
result (testing.reports.set_results locks the order) lets exactly one of them through.
A fee is billed on a statement of its own (one line), never with the order's lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.billing.models import Invoice
from sharehub.booking import services as booking_services
from sharehub.booking.models import Booking, BookingStatus
from sharehub.core.clock import local_today
from sharehub.core.errors import Conflict, ValidationError
from sharehub.extensions import db
from sharehub.testing import notify, orders, work
from sharehub.testing.models import (
    RequestStatus,
    SampleEvent,
    SampleStatus,
    TestingRequest,
)
from sharehub.testing.report_models import Report, ReportResult
from sharehub.testing.work_models import TestRun

if TYPE_CHECKING:
    from sharehub.accounts.models import User

STARTED = (BookingStatus.IN_PROGRESS, BookingStatus.COMPLETED)
TOO_LATE = _l(
    "The testing of this order has started; it can no longer be cancelled. Contact the laboratory."
)


def _run_bookings(order: TestingRequest, lock: bool = False) -> list[Booking]:
    query = (
        sa.select(Booking)
        .join(TestRun, TestRun.booking_id == Booking.id)
        .where(TestRun.order_id == order.id)
        .order_by(Booking.id)
        .execution_options(populate_existing=True)
    )
    if lock:
        query = query.with_for_update(of=Booking)
    return list(db.session.scalars(query))


def has_started(order: TestingRequest, bookings: list[Booking] | None = None) -> bool:
    """A run checked in (in progress or done) or a result recorded on a report."""
    if bookings is None:
        bookings = _run_bookings(order)
    if any(b.status in STARTED for b in bookings):
        return True
    return (
        db.session.scalar(
            sa.select(ReportResult.id)
            .join(Report, Report.id == ReportResult.report_id)
            .where(Report.order_id == order.id)
            .limit(1)
        )
        is not None
    )


def fee_now(order: TestingRequest) -> int:
    """What the customer's cancellation costs now (fen, net): free until the samples are
    received, then the fee fixed at acceptance."""
    if order.status in (RequestStatus.RECEIVED, RequestStatus.IN_TESTING):
        return order.cancel_fee_fen or 0
    return 0


def cancel(actor: User, order: TestingRequest, reason: str = "") -> Invoice | None:
    """The customer cancels the request or order; returns the fee's statement, if any."""
    work._lock(order)
    refusal = order.refusal("cancel", actor)
    if refusal is not None:
        raise refusal
    if not order.is_order:  # a request: nothing was agreed, nothing to release
        orders.transition(actor, order, "cancel", (reason or "").strip()[:2000])
        orders._close_quotes(order)
        order.cancelled_by = "customer"
        notify.cancelled(order)
        db.session.flush()
        return None
    bookings = _run_bookings(order, lock=True)
    if has_started(order, bookings):
        raise Conflict(TOO_LATE)
    _refuse_if_billed(order)
    return _end(actor, order, "cancel", reason, fee_now(order), bookings)


def stop(actor: User, order: TestingRequest, reason: str) -> None:
    """The lab stops an order with its reason: no fee; runs not started are released."""
    work._lock(order)
    refusal = order.refusal("stop", actor)
    if refusal is not None:
        raise refusal
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_l("Give the reason for stopping the order."), field="reason")
    _refuse_if_billed(order)
    bookings = _run_bookings(order, lock=True)
    _end(actor, order, "stop", reason, 0, bookings)


def _refuse_if_billed(order: TestingRequest) -> None:
    """An order billed already keeps its statement: the lab voids it (or credits it)
    before the order ends, so the customer never holds the order's and a fee's."""
    if work.live_statement(order) is not None:
        raise Conflict(
            _l(
                "This order has a statement already; the laboratory voids it before the "
                "order can be cancelled."
            )
        )


def _end(
    actor: User,
    order: TestingRequest,
    action: str,
    reason: str,
    fee: int,
    bookings: list[Booking],
) -> Invoice | None:
    reason = (reason or "").strip()[:2000]
    orders.transition(actor, order, action, reason)
    orders._close_quotes(order)
    order.cancelled_by = "lab" if action == "stop" else "customer"
    order.cancel_fee_charged_fen = fee
    for booking in bookings:  # runs not started free their unit
        if booking.status in (BookingStatus.PENDING, BookingStatus.CONFIRMED):
            booking_services.cancel(actor, booking, reason=str(_l("The testing order ended")))
    today = local_today()
    for sample in order.samples:  # held samples go back or are disposed of, as agreed
        if sample.status == SampleStatus.RECEIVED:
            sample.retain_until = today
    order.events.append(
        SampleEvent(
            kind="cancelled" if action == "cancel" else "stopped",
            actor_id=actor.id,
            from_party=order.customer_org.name if action == "cancel" else order.lab.name,
            note=reason,
        )
    )
    invoice = work.bill_cancellation(actor, order, fee) if fee else None
    notify.cancelled(order)
    db.session.flush()
    return invoice
