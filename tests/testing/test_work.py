"""Running a testing order: test runs booked on the lab's units (blocking self-service
customers, their use served to the order's customer), turnaround from receipt in working
days, late orders, and the statement billed from the order's lines."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tests.support import clock


@pytest.fixture
def chamber(make_listing, lab, salt_spray, db):
    """The lab's salt-spray chamber, the unit the service runs on."""
    listing = make_listing(lab, name="盐雾试验箱")
    salt_spray.units = [listing.units[0]]
    db.session.commit()
    return listing.units[0]


def _received(order, day: date):
    from sharehub.core.clock import LAB_TZ

    order.received_dt = datetime(day.year, day.month, day.day, 9, tzinfo=LAB_TZ)
    order.turnaround_days = 5
    return order


def test_a_run_books_the_unit_through_nights_and_starts_the_testing(
    db, order, chamber, lab_manager
):
    from sharehub.booking.models import BookingStatus
    from sharehub.testing import work
    from sharehub.testing.models import RequestStatus

    start = clock.at(clock.workday(), 17)
    run = work.schedule(lab_manager, order, chamber, start, start + timedelta(hours=96))
    db.session.commit()
    booking = run.booking
    assert booking.status == BookingStatus.CONFIRMED and booking.billed_elsewhere
    assert booking.customer_org_id == order.customer_org_id and booking.net_amount == 0
    assert not booking.is_invoiceable
    assert order.status == RequestStatus.IN_TESTING
    assert [r.id for r in work.runs_of(order)] == [run.id]


def test_a_self_service_customer_cannot_book_the_unit_during_a_run(
    db, order, chamber, lab_manager, make_org, make_user
):
    from sharehub.booking.services import BookingRequest, SlotTaken, create_booking
    from sharehub.testing import work

    day = clock.workday()
    work.schedule(lab_manager, order, chamber, clock.at(day, 9), clock.at(day, 17))
    db.session.commit()
    other = make_org(name="自助客户")
    with pytest.raises(SlotTaken):
        create_booking(
            make_user(other),
            other,
            chamber.listing,
            BookingRequest(starts_dt=clock.at(day, 9, 30), ends_dt=clock.at(day, 10, 30)),
        )


def test_runs_are_refused_before_receipt_on_other_units_by_others_and_over_other_bookings(
    db, make_order, chamber, lab_manager, make_listing, lab, make_org, make_user
):
    from sharehub.booking.models import Booking
    from sharehub.booking.services import SlotTaken
    from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
    from sharehub.testing import work
    from sharehub.testing.models import RequestStatus
    from sharehub.testing.work_models import TestRun

    day = clock.workday()
    slot = (clock.at(day, 9), clock.at(day, 12))
    waiting = make_order(status=RequestStatus.ACCEPTED)
    with pytest.raises(Conflict):
        work.schedule(lab_manager, waiting, chamber, *slot)
    order = make_order()
    elsewhere = make_listing(lab, name="拉力机").units[0]
    with pytest.raises(ValidationError):
        work.schedule(lab_manager, order, elsewhere, *slot)
    other_lab = make_org(name="别的实验室")
    with pytest.raises(PermissionDenied):
        work.schedule(make_user(other_lab), order, chamber, *slot)
    with pytest.raises(PermissionDenied):
        work.schedule(order.created_by, order, chamber, *slot)
    work.schedule(lab_manager, order, chamber, *slot)
    db.session.commit()
    with pytest.raises(SlotTaken):
        work.schedule(lab_manager, order, chamber, clock.at(day, 11), clock.at(day, 14))
    db.session.rollback()
    assert db.session.query(TestRun).count() == 1
    assert db.session.query(Booking).count() == 1


def test_check_in_and_out_make_usage_served_to_the_customer(db, order, chamber, lab_manager):
    from sharehub.booking import usage
    from sharehub.testing import work

    day = clock.workday()
    run = work.schedule(lab_manager, order, chamber, clock.at(day, 9), clock.at(day, 12))
    db.session.commit()
    with clock.travel(clock.at(day, 9)):
        usage.check_in(lab_manager, run.booking)
    with clock.travel(clock.at(day, 12)):
        record = usage.check_out(lab_manager, run.booking, samples=1)
    db.session.commit()
    assert record.user_org_id == order.customer_org_id
    assert record.run_minutes == 180


def test_a_run_not_started_comes_off_the_schedule(db, order, chamber, lab_manager):
    from sharehub.booking.models import BookingStatus
    from sharehub.testing import work

    day = clock.workday()
    run = work.schedule(lab_manager, order, chamber, clock.at(day, 9), clock.at(day, 12))
    db.session.commit()
    work.unschedule(lab_manager, run)
    db.session.commit()
    assert run.booking.status == BookingStatus.CANCELLED
    assert run.booking.cancel_fee == 0
    # The time is free again.
    again = work.schedule(lab_manager, order, chamber, clock.at(day, 9), clock.at(day, 12))
    assert again.booking.id != run.booking.id


def test_working_days_skip_weekends_and_public_holidays(db):
    from sharehub.catalog.workdays import add_workdays, workdays_between

    # Received on Friday 12 June 2026; Friday 19 June is the Dragon Boat Festival.
    assert add_workdays(date(2026, 6, 12), 5) == date(2026, 6, 22)
    assert workdays_between(date(2026, 6, 12), date(2026, 6, 22)) == 5
    # National Day week, with its make-up Sunday 20 September.
    assert add_workdays(date(2026, 9, 18), 1) == date(2026, 9, 20)
    # 1 to 7 October off (4 October a Sunday), Thursday 8 October back at work.
    assert add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert add_workdays(date(2026, 10, 9), 1) == date(2026, 10, 10)  # make-up Saturday


def test_turnaround_on_time_late_and_overdue(db, make_order, signers, cma):
    from sharehub.testing import work
    from tests.support.reports import issued_report

    reported = _received(make_order(), clock.today() - timedelta(days=3))
    db.session.commit()
    issued_report(db, reported, signers)
    assert work.turnaround(reported).on_time is True
    assert work.turnaround(reported).late is False

    overdue = _received(make_order(), clock.today() - timedelta(days=20))
    db.session.commit()
    t = work.turnaround(overdue)
    assert t.late and t.reported is None and t.due < clock.today()
    assert [o.id for o, _ in work.late_orders(overdue.lab_id)] == [overdue.id]

    late_report = _received(make_order(), clock.today() - timedelta(days=20))
    db.session.commit()
    issued_report(db, late_report, signers)
    t = work.turnaround(late_report)
    assert t.late and t.on_time is False and t.days > 5
    assert overdue.id in [o.id for o, _ in work.late_orders(overdue.lab_id)]
    assert late_report.id not in [o.id for o, _ in work.late_orders(overdue.lab_id)]


def test_the_statement_is_billed_from_the_order_lines_once(db, order, lab_manager):
    from sharehub.core.errors import Conflict
    from sharehub.testing import work
    from sharehub.testing.models import Quote, QuoteLine, QuoteStatus

    quote = Quote(
        request=order,
        status=QuoteStatus.ACCEPTED,
        valid_until=clock.today(),
        turnaround_days=7,
        total_fen=165000,
    )
    quote.lines = [
        QuoteLine(
            position=0,
            description="中性盐雾试验 × 2",
            quantity=2,
            unit_price_fen=80000,
            amount_fen=160000,
        ),
        QuoteLine(
            position=1,
            kind="surcharge",
            description="加急",
            quantity=1,
            unit_price_fen=5000,
            amount_fen=5000,
        ),
    ]
    db.session.add(quote)
    db.session.commit()
    statement = work.bill(lab_manager, order)
    db.session.commit()
    assert [line.net for line in statement.lines] == [160000, 5000]
    # Lines written before they carried the fapiao columns: the testing defaults.
    assert {(line.tax_code, line.unit) for line in statement.lines} == {
        ("3040105000000000000", "项")
    }
    # VAT at the lab's 6 %: 9600 + 300 fen.
    assert statement.vat_total == 9900 and statement.gross_total == 174900
    assert statement.field == "new_materials"
    assert work.order_of_statement(statement).id == order.id
    with pytest.raises(Conflict):
        work.bill(lab_manager, order)
    with pytest.raises(Exception) as refused:
        work.bill(order.created_by, order)
    assert refused.value.status == 403


def test_a_run_on_a_blocked_unit_whose_calibration_is_overdue_is_refused(
    db, english, order, chamber, lab_manager
):
    from sharehub.calibration import services as calibration
    from sharehub.calibration.models import CertificateKind, CertificateResult
    from sharehub.calibration.services import CertificateData
    from sharehub.core.errors import Conflict
    from sharehub.testing import work
    from sharehub.testing.work_models import TestRun
    from tests.support.files import pdf_bytes

    calibration.record_certificate(
        lab_manager,
        chamber,
        CertificateData(
            kind=CertificateKind.CALIBRATION,
            issuing_body="苏州市计量测试院",
            number="JZ-9",
            issued_date=clock.today() - timedelta(days=400),
            due_date=clock.today() - timedelta(days=1),
            result=CertificateResult.PASS,
        ),
        pdf_bytes(),
        "c.pdf",
    )
    calibration.set_policy(lab_manager, chamber.listing, block=True)
    db.session.commit()
    day = clock.workday()
    with pytest.raises(Conflict, match="calibration certificate is overdue"):
        work.schedule(lab_manager, order, chamber, clock.at(day, 9), clock.at(day, 12))
    db.session.rollback()
    assert db.session.query(TestRun).count() == 0


def test_the_statement_lines_carry_the_services_tax_code_spec_and_unit(
    db, order, salt_spray, lab_manager, storage_dir
):
    """From the service to the quote line, the statement line and the bulk-issue export:
    税收分类编码, 规格型号 (the standard unless the service names one) and 单位, with the
    lab's VAT rate; an expedited surcharge counts 项, a line of the lab's own the default."""
    import io

    from openpyxl import load_workbook

    from sharehub.fapiao.export import workbook
    from sharehub.fapiao.models import FapiaoRequest
    from sharehub.testing import orders, work
    from sharehub.testing.models import QuoteStatus

    salt_spray.tax_code = "3040105000000000000"
    salt_spray.expedited_surcharge_percent = 50
    order.expedited = True
    order.lab.vat_rate_bp = 300  # a small-scale taxpayer
    lines = orders.standard_lines(order) + [
        orders.LineInput(description="制样", quantity=1, unit_price_fen=2000, kind="other")
    ]
    quote = orders._write_quote(
        order, lines, valid_until=clock.today(), turnaround_days=5, issued_by=lab_manager
    )
    quote.status = QuoteStatus.ACCEPTED
    db.session.commit()
    assert [(q.tax_code, q.spec, q.unit) for q in quote.lines] == [
        ("3040105000000000000", "GB/T 10125-2021", "样品"),
        ("3040105000000000000", "GB/T 10125-2021", "项"),
        ("3040105000000000000", "", "项"),
    ]
    statement = work.bill(lab_manager, order)
    db.session.commit()
    assert [(s.tax_code, s.spec, s.unit, s.vat_rate_bp) for s in statement.lines] == [
        ("3040105000000000000", "GB/T 10125-2021", "样品", 300),
        ("3040105000000000000", "GB/T 10125-2021", "项", 300),
        ("3040105000000000000", "", "项", 300),
    ]
    request = FapiaoRequest(
        invoice=statement,
        lab_id=statement.lab_id,
        customer_org_id=statement.customer_org_id,
        buyer={"kind": "normal", "title": "委托企业", "tax_id": "91320500MA1XXXXXXX"},
        amount=statement.gross_total,
    )
    db.session.add(request)
    db.session.flush()
    detail = load_workbook(io.BytesIO(workbook([request])))["2-发票明细信息"]
    rows = [[c.value for c in row] for row in detail.iter_rows(min_row=4)]
    assert [(r[2], r[3], r[4], r[8]) for r in rows] == [
        ("3040105000000000000", "GB/T 10125-2021", "样品", "0.03"),
        ("3040105000000000000", "GB/T 10125-2021", "项", "0.03"),
        ("3040105000000000000", None, "项", "0.03"),
    ]
