"""Figures of commissioned testing, checked against a hand computation: orders placed,
samples received, first reports issued, the share on time, the median turnaround in
working days, testing income; per laboratory, per service, on the statistics page and as
assessment indicators."""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction

import pytest

from sharehub.core.clock import LAB_TZ
from tests.support.reports import good_rows, issued_report


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LAB_TZ)


@pytest.fixture
def june(db, make_order, signers, cma, lab_manager):
    """In June 2026 (the suite's today is Wednesday 10 June):
    - order A: accepted 1 June, two samples received Sunday 7 June (one refused),
      turnaround 5 working days, first report 10 June: 3 working days, on time;
    - order B: accepted 8 May, sample received Sunday 10 May, turnaround 5, first
      report 10 June: 23 working days (11 May to 10 June), late; then amended;
    - order C: accepted 2 June, nothing received yet.
    """
    from sharehub.testing import reports
    from sharehub.testing.models import SampleStatus

    a = make_order(samples=("样品一", "样品二"))
    a.accepted_dt, a.received_dt, a.turnaround_days = (
        _at(date(2026, 6, 1)),
        _at(date(2026, 6, 7)),
        5,
    )
    for sample in a.samples:
        sample.received_dt = a.received_dt
    a.samples[1].status = SampleStatus.REFUSED
    b = make_order()
    b.accepted_dt, b.received_dt, b.turnaround_days = (
        _at(date(2026, 5, 8)),
        _at(date(2026, 5, 10)),
        5,
    )
    b.samples[0].received_dt = b.received_dt
    c = make_order()
    c.accepted_dt = _at(date(2026, 6, 2))
    db.session.commit()
    issued_report(db, a, signers, [r for r in good_rows(a) if r.sample == a.samples[0].code])
    first_b = issued_report(db, b, signers)
    reports.amend(signers[2], first_b, "单位写错")
    db.session.commit()
    return a, b, c


def test_the_figures_match_the_hand_computation(db, june, lab):
    from sharehub.stats.metrics import lab_metrics

    figures = lab_metrics(date(2026, 6, 1), date(2026, 7, 1), [lab.id])[lab.id]
    assert figures["orders"] == 2  # A and C (B was placed in May)
    assert figures["samples_received"] == 1  # A's second sample was refused; B's came in May
    assert figures["reports_issued"] == 2  # first reports of A and B; B's amendment not again
    assert figures["reports_on_time"] == 1
    assert figures["on_time_rate"] == Fraction(1, 2)
    assert figures["median_turnaround_days"] == Fraction(3 + 23, 2)

    may = lab_metrics(date(2026, 5, 1), date(2026, 6, 1), [lab.id])[lab.id]
    assert may["orders"] == 1 and may["samples_received"] == 1 and may["reports_issued"] == 0
    assert may["on_time_rate"] is None and may["median_turnaround_days"] is None


def test_per_service_figures(db, june, lab, salt_spray):
    from sharehub.stats.sql import Period
    from sharehub.stats.testing import by_service

    (row,) = by_service(lab.id, Period(date(2026, 6, 1), date(2026, 7, 1)))
    assert row.service.id == salt_spray.id and row.reports_issued == 2
    assert row.on_time_rate == Fraction(1, 2) and row.median_turnaround_days == 13


def test_testing_income_counts_issued_order_statements(db, june, lab, lab_manager):
    from sharehub.billing.services import issue
    from sharehub.stats.metrics import lab_metrics
    from sharehub.testing import work
    from sharehub.testing.models import Quote, QuoteLine, QuoteStatus

    a = june[0]
    quote = Quote(
        request=a, status=QuoteStatus.ACCEPTED, valid_until=date(2026, 6, 30), turnaround_days=5
    )
    quote.lines = [
        QuoteLine(description="盐雾", quantity=2, unit_price_fen=80000, amount_fen=160000)
    ]
    db.session.add(quote)
    db.session.commit()
    statement = work.bill(lab_manager, a)
    before = lab_metrics(date(2026, 6, 1), date(2026, 7, 1), [lab.id])[lab.id]
    assert before["testing_revenue_fen"] == 0  # a draft is not income
    issue(lab_manager, statement)
    db.session.commit()
    after = lab_metrics(date(2026, 6, 1), date(2026, 7, 1), [lab.id])[lab.id]
    assert after["testing_revenue_fen"] == 80000  # order A's second sample was refused, not billed


def test_the_lab_statistics_page_and_its_export_show_them(
    db, client, login, june, lab, lab_manager, english
):
    login(lab_manager)
    page = client.get("/stats/lab", query_string={"period": "month", "year": 2026, "month": 6})
    if page.status_code == 302:
        page = client.get(page.location)
    assert "Reports on time" in page.text and "50.00%" in page.text
    assert "13.0" in page.text
    export = client.get(
        f"/stats/labs/{lab.id}/export.csv",
        query_string={"period": "month", "year": 2026, "month": 6},
    )
    assert "Median turnaround (working days)" in export.text


def test_the_on_time_share_is_an_assessment_indicator(db, june, lab):
    from sharehub.assessment.scoring import METRIC_LABELS, metric_value
    from sharehub.stats.metrics import lab_metrics

    figures = lab_metrics(date(2026, 6, 1), date(2026, 7, 1), [lab.id])[lab.id]
    assert "on_time_rate" in METRIC_LABELS
    assert metric_value(figures, "on_time_rate") == Fraction(1, 2)


def test_the_national_report_counts_the_testing_orders_run_on_each_instrument(
    db, make_order, make_listing, lab, salt_spray, lab_manager
):
    """An order with two runs on the chamber counts once there; a run the lab cancelled
    counts nowhere; the other instrument served none."""
    from sharehub.stats.exports import national_rows
    from sharehub.testing import work
    from tests.support import clock

    chamber, other = make_listing(lab, name="盐雾试验箱"), make_listing(lab, name="拉力试验机")
    salt_spray.units = [chamber.units[0], other.units[0]]
    db.session.commit()
    first, second = make_order(), make_order()
    day = clock.workday()
    work.schedule(lab_manager, first, chamber.units[0], clock.at(day, 9), clock.at(day, 11))
    work.schedule(lab_manager, first, chamber.units[0], clock.at(day, 13), clock.at(day, 15))
    dropped = work.schedule(
        lab_manager, second, other.units[0], clock.at(day, 9), clock.at(day, 11)
    )
    work.unschedule(lab_manager, dropped)
    db.session.commit()
    rows = {row["name"]: row for row in national_rows(day.year)}
    assert rows["盐雾试验箱"]["testing_orders"] == 1
    assert rows["拉力试验机"]["testing_orders"] == 0
