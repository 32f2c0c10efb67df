"""Cancelling a testing order by the service's policy: free until the samples are
received, then the fee the order's terms fixed at acceptance (exact fen, one statement of
one line), refused once the testing started (a run checked in or a result recorded);
the lab stops an order with its reason, free. Runs not started are released, held
samples go back or are disposed of as agreed, the chain of custody records it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.testing import cancellation
from sharehub.testing.models import RequestStatus, SampleEvent, SampleStatus
from sharehub.testing.work_models import OrderStatement
from tests.support import clock


@pytest.fixture
def priced(lab, make_service):
    """80,001 fen a sample; cancelling after receipt costs 12.34 yuan + 33 %."""
    return make_service(lab, price_external=80001, cancel_fee_fen=1234, cancel_fee_percent=33)


@pytest.fixture
def chamber(make_listing, lab, salt_spray, db):
    listing = make_listing(lab, name="盐雾试验箱")
    salt_spray.units = [listing.units[0]]
    db.session.commit()
    return listing.units[0]


def _statements(db, order):
    return db.session.scalars(
        sa.select(OrderStatement).where(OrderStatement.order_id == order.id)
    ).all()


def test_the_fee_is_fixed_at_acceptance_exactly_and_named_in_the_terms(
    db, priced, firm, firm_user, make_request, english
):
    order = make_request(firm_user, firm, [priced], state="accepted", n_samples=3)
    assert order.total_fen == 240003
    # 1234 + 33 % of 240,003 fen (79,200.99 → 79,201, half up)
    assert order.cancel_fee_fen == 1234 + 79201
    assert "¥804.35" in order.terms and "can no longer be cancelled" in order.terms


def test_the_fee_never_exceeds_the_order(db, lab, make_service, firm, firm_user, make_request):
    service = make_service(lab, price_external=1000, cancel_fee_fen=5000, cancel_fee_percent=50)
    order = make_request(firm_user, firm, [service], state="accepted", n_samples=1)
    assert order.cancel_fee_fen == 1000


@pytest.mark.parametrize("state", ["quoted", "accepted", "samples_in_transit"])
def test_cancelling_before_receipt_is_free(
    db, priced, firm, firm_user, make_request, lab_manager, state
):
    order = make_request(firm_user, firm, [priced], state=state)
    assert cancellation.cancel(firm_user, order, "计划变更") is None
    db.session.commit()
    assert order.status == RequestStatus.CANCELLED and order.status_reason == "计划变更"
    assert _statements(db, order) == []
    assert cancellation.fee_now(order) == 0


def test_cancelling_after_receipt_bills_the_fee_on_one_line(
    db, lab, priced, firm, firm_user, make_request, lab_manager, english
):
    order = make_request(firm_user, firm, [priced], state="received", lab_user=lab_manager)
    assert cancellation.fee_now(order) == 1234 + (160002 * 33 + 50) // 100 == 54035
    invoice = cancellation.cancel(firm_user, order, "项目取消")
    db.session.commit()
    assert order.status == RequestStatus.CANCELLED and order.cancelled_by == "customer"
    assert order.cancel_fee_charged_fen == 54035
    assert [(line.quantity, line.unit_price, line.net) for line in invoice.lines] == [
        ("1", 54035, 54035)
    ]
    assert invoice.net_total == 54035 and "Cancellation fee" in invoice.lines[0].description
    assert [s.invoice_id for s in _statements(db, order)] == [invoice.id]
    # the held samples may go back at once, as the customer chose
    assert all(
        s.status == SampleStatus.RECEIVED and s.retain_until == clock.today() for s in order.samples
    )
    assert order.events[-1].kind == "cancelled" and order.events[-1].note == "项目取消"
    # no second statement: the order is no longer billable, nor cancellable
    with pytest.raises(Conflict):
        cancellation.cancel(firm_user, order)
    from sharehub.testing import work

    with pytest.raises(Conflict):
        work.bill(lab_manager, order)
    from sharehub.admin.consistency import cancellation_fees_off_statement

    assert cancellation_fees_off_statement() == []
    order.cancel_fee_charged_fen = 54036  # a fee that is not the statement's
    db.session.flush()
    assert [v["order_id"] for v in cancellation_fees_off_statement()] == [order.id]


def test_a_scheduled_run_not_started_is_released_and_the_fee_billed(
    db, make_order, chamber, lab_manager, english
):
    from sharehub.booking.models import BookingStatus
    from sharehub.testing import work

    order = make_order()
    order.cancel_fee_fen = 12345
    day = clock.workday()
    run = work.schedule(lab_manager, order, chamber, clock.at(day, 9), clock.at(day, 12))
    db.session.commit()
    assert order.status == RequestStatus.IN_TESTING
    invoice = cancellation.cancel(order.created_by, order, "")
    db.session.commit()
    assert run.booking.status == BookingStatus.CANCELLED
    assert invoice.net_total == 12345


def test_a_checked_in_run_ends_the_customers_cancellation(
    db, make_order, chamber, lab_manager, english
):
    from sharehub.booking import usage
    from sharehub.testing import work

    order = make_order()
    order.cancel_fee_fen = 12345
    day = clock.workday()
    run = work.schedule(lab_manager, order, chamber, clock.at(day, 9), clock.at(day, 12))
    with clock.travel(clock.at(day, 9)):
        usage.check_in(lab_manager, run.booking)
    db.session.commit()
    with pytest.raises(Conflict, match="testing of this order has started"):
        cancellation.cancel(order.created_by, order, "太晚了")
    db.session.rollback()
    assert order.status == RequestStatus.IN_TESTING and order.cancel_fee_charged_fen is None
    assert _statements(db, order) == []


def test_a_recorded_result_ends_the_customers_cancellation(
    db, order, signers, lab_manager, english
):
    from sharehub.testing import reports
    from tests.support.reports import good_rows

    report = reports.start_report(signers[0], order)
    db.session.commit()
    assert order.status == RequestStatus.IN_TESTING and not cancellation.has_started(order)
    reports.set_results(signers[0], report, good_rows(order))
    db.session.commit()
    with pytest.raises(Conflict, match="testing of this order has started"):
        cancellation.cancel(order.created_by, order)
    db.session.rollback()
    assert order.status == RequestStatus.IN_TESTING


def test_results_are_refused_on_a_cancelled_order(db, order, signers, english):
    from sharehub.testing import reports
    from tests.support.reports import good_rows

    report = reports.start_report(signers[0], order)
    db.session.commit()
    cancellation.cancel(order.created_by, order)
    db.session.commit()
    with pytest.raises(Conflict, match="cancelled"):
        reports.set_results(signers[0], report, good_rows(order))


def test_after_the_report_nobody_cancels(db, make_order, lab_manager, english):
    order = make_order(status=RequestStatus.REPORTED)
    with pytest.raises(Conflict, match="can no longer be cancelled"):
        cancellation.cancel(order.created_by, order)
    with pytest.raises(Conflict, match="can no longer be stopped"):
        cancellation.stop(lab_manager, order, "设备故障")


def test_the_lab_stops_an_order_free_with_its_reason(db, make_order, chamber, lab_manager, english):
    from sharehub.booking import usage
    from sharehub.booking.models import BookingStatus
    from sharehub.testing import work

    order = make_order(samples=("A", "B"))
    order.cancel_fee_fen = 12345
    day = clock.workday()
    started = work.schedule(lab_manager, order, chamber, clock.at(day, 9), clock.at(day, 12))
    later = work.schedule(lab_manager, order, chamber, clock.at(day, 13), clock.at(day, 15))
    with clock.travel(clock.at(day, 9)):
        usage.check_in(lab_manager, started.booking)
    db.session.commit()
    with pytest.raises(ValidationError, match="reason"):
        cancellation.stop(lab_manager, order, "  ")
    with pytest.raises(PermissionDenied):
        cancellation.stop(order.created_by, order, "客户不能停")
    cancellation.stop(lab_manager, order, "设备故障，无法在周期内完成")
    db.session.commit()
    assert order.status == RequestStatus.CANCELLED and order.cancelled_by == "lab"
    assert order.cancel_fee_charged_fen == 0 and _statements(db, order) == []
    assert later.booking.status == BookingStatus.CANCELLED
    assert started.booking.status == BookingStatus.IN_PROGRESS  # a run under way is not undone
    assert (
        db.session.scalars(
            sa.select(SampleEvent.kind).where(SampleEvent.request_id == order.id)
        ).all()[-1]
        == "stopped"
    )


def test_a_billed_order_is_not_cancelled_over_its_statement(db, make_order, lab_manager, english):
    from sharehub.testing import work
    from sharehub.testing.models import Quote, QuoteLine, QuoteStatus

    order = make_order()
    order.cancel_fee_fen = 500
    quote = Quote(
        request=order,
        status=QuoteStatus.ACCEPTED,
        valid_until=clock.today(),
        turnaround_days=7,
        total_fen=80000,
    )
    quote.lines = [
        QuoteLine(description="盐雾", quantity=1, unit_price_fen=80000, amount_fen=80000)
    ]
    db.session.add(quote)
    work.bill(lab_manager, order)
    db.session.commit()
    with pytest.raises(Conflict, match="statement already"):
        cancellation.cancel(order.created_by, order)
    db.session.rollback()
    assert order.status == RequestStatus.RECEIVED and len(_statements(db, order)) == 1


def test_the_cancellation_sends_the_order_cancelled_event(db, make_order, english):
    from sharehub.testing.report_signals import testing_event

    order = make_order()
    seen = []

    def receiver(sender, event):
        seen.append(event)

    testing_event.connect(receiver)
    try:
        cancellation.cancel(order.created_by, order)
    finally:
        testing_event.disconnect(receiver)
    assert seen == ["order.cancelled"]


def test_the_policy_is_checked_when_written(db, lab, lab_manager, english):
    from sharehub.testing.services import validate_service

    data = {
        "name": "盐雾",
        "standard_code": "GB/T 10125-2021",
        "field": "new_materials",
        "sample_quantity": 1,
        "standard_days": 5,
        "price_internal": 1,
        "price_external": 1,
    }
    assert (
        validate_service({**data, "cancel_fee_percent": 15, "cancel_fee_fen": 100})[
            "cancel_fee_percent"
        ]
        == 15
    )
    with pytest.raises(ValidationError, match="between 0 and 100"):
        validate_service({**data, "cancel_fee_percent": 101})
    with pytest.raises(ValidationError):
        validate_service({**data, "cancel_fee_fen": -1})


def test_orders_accepted_before_the_policy_cancel_free(db, make_order):
    order = make_order()
    assert order.cancel_fee_fen is None and cancellation.fee_now(order) == 0
    cancellation.cancel(order.created_by, order)
    assert order.cancel_fee_charged_fen == 0 and _statements(db, order) == []
