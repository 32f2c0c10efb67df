"""Figures of commissioned testing per group of laboratories: orders placed, samples
received, first reports issued, the share issued on time, the median turnaround in
working days from receipt to the first report, and the income billed from orders.

On time: the first report's issue day is no later than the receipt day plus the
order's turnaround in working days (testing.work.due_date). Amendments do not count
again. All exact (Fraction), rounded once for display."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sqlalchemy as sa

from sharehub.billing.models import Invoice, InvoiceStatus
from sharehub.catalog.workdays import add_workdays, workdays_between
from sharehub.core.clock import local_date
from sharehub.extensions import db
from sharehub.stats.sql import Filters, Period, lab_scope
from sharehub.testing.models import (
    RequestItem,
    Sample,
    SampleStatus,
    TestingRequest,
    TestingService,
)
from sharehub.testing.report_models import Report, ReportStatus
from sharehub.testing.work_models import OrderStatement

KEYS = ("orders", "samples_received", "reports_issued", "reports_on_time", "testing_revenue_fen")


def median(values: list[int]) -> Fraction | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return Fraction(ordered[middle])
    return Fraction(ordered[middle - 1] + ordered[middle], 2)


def _first_reports(period: Period, lab_filter):
    """(group key, order's service ids, received_dt, turnaround days, issue day) for every
    order whose first report was issued in the period."""
    first = (
        sa.select(Report.order_id, sa.func.min(Report.issue_date).label("issued"))
        .where(Report.status != ReportStatus.DRAFT)
        .group_by(Report.order_id)
        .subquery("first_report")
    )
    return db.session.execute(
        lab_filter(
            sa.select(
                TestingRequest.id,
                TestingRequest.received_dt,
                TestingRequest.turnaround_days,
                first.c.issued,
            )
            .join(first, first.c.order_id == TestingRequest.id)
            .where(first.c.issued >= period.start, first.c.issued < period.end)
        )
    ).all()


@dataclass(frozen=True)
class Turnarounds:
    issued: int
    on_time: int
    days: list[int]


def _turnarounds(rows) -> Turnarounds:
    on_time, days = 0, []
    for _id, received, turnaround, issued, *_ in rows:
        if received is None:
            continue
        day = local_date(received)
        if turnaround and issued <= add_workdays(day, turnaround):
            on_time += 1
        days.append(workdays_between(day, issued))
    return Turnarounds(len(rows), on_time, days)


def parts(level: str, filters: Filters, period: Period) -> list[dict[str, Any]]:
    """One dict per group key with the raw testing figures (see `finish`)."""
    labs = lab_scope(level, filters)
    groups: dict[Any, dict[str, Any]] = defaultdict(lambda: {"turnaround_days": []})

    def by_lab(query, lab_column):
        return query.join(labs, labs.c.lab_id == lab_column).add_columns(labs.c.k)

    for k, n in db.session.execute(
        sa.select(labs.c.k, sa.func.count(TestingRequest.id))
        .join(labs, labs.c.lab_id == TestingRequest.lab_id)
        .where(
            TestingRequest.accepted_dt >= period.start_dt,
            TestingRequest.accepted_dt < period.end_dt,
        )
        .group_by(labs.c.k)
    ):
        groups[k]["orders"] = n
    for k, n in db.session.execute(
        sa.select(labs.c.k, sa.func.count(Sample.id))
        .join(labs, labs.c.lab_id == Sample.lab_id)
        .where(
            Sample.received_dt >= period.start_dt,
            Sample.received_dt < period.end_dt,
            Sample.status != SampleStatus.REFUSED,
        )
        .group_by(labs.c.k)
    ):
        groups[k]["samples_received"] = n
    for k, n in db.session.execute(
        sa.select(labs.c.k, sa.func.sum(Invoice.net_total))
        .join(OrderStatement, OrderStatement.invoice_id == Invoice.id)
        .join(labs, labs.c.lab_id == Invoice.lab_id)
        .where(
            Invoice.status != InvoiceStatus.DRAFT,
            Invoice.status != InvoiceStatus.VOID,
            Invoice.issued_dt >= period.start_dt,
            Invoice.issued_dt < period.end_dt,
        )
        .group_by(labs.c.k)
    ):
        groups[k]["testing_revenue_fen"] = int(n or 0)
    rows = _first_reports(period, lambda q: by_lab(q, TestingRequest.lab_id))
    per_group: dict[Any, list] = defaultdict(list)
    for row in rows:
        per_group[row[-1]].append(row)
    for k, group_rows in per_group.items():
        t = _turnarounds(group_rows)
        groups[k].update(reports_issued=t.issued, reports_on_time=t.on_time)
        groups[k]["turnaround_days"] = t.days
    return [{"k": k, **values} for k, values in groups.items()]


def finish(v: dict[str, Any]) -> dict[str, Any]:
    issued = int(v.get("reports_issued") or 0)
    on_time = int(v.get("reports_on_time") or 0)
    return {
        "orders": int(v.get("orders") or 0),
        "samples_received": int(v.get("samples_received") or 0),
        "reports_issued": issued,
        "reports_on_time": on_time,
        "on_time_rate": Fraction(on_time, issued) if issued else None,
        "median_turnaround_days": median(v.get("turnaround_days") or []),
        "testing_revenue_fen": int(v.get("testing_revenue_fen") or 0),
    }


@dataclass(frozen=True)
class ServiceFigures:
    service: TestingService
    reports_issued: int
    on_time_rate: Fraction | None
    median_turnaround_days: Fraction | None


def by_service(lab_id: int, period: Period) -> list[ServiceFigures]:
    """Per testing service of the lab: first reports issued in the period, the share on
    time and the median turnaround (an order of several services counts for each)."""
    rows = _first_reports(
        period,
        lambda q: (
            q.join(RequestItem, RequestItem.request_id == TestingRequest.id)
            .add_columns(RequestItem.service_id)
            .where(TestingRequest.lab_id == lab_id)
        ),
    )
    per_service: dict[int, list] = defaultdict(list)
    for row in rows:
        per_service[row[-1]].append(row)
    services = {
        s.id: s
        for s in db.session.scalars(
            sa.select(TestingService).where(TestingService.id.in_(list(per_service)))
        )
    }
    result = []
    for service_id, service_rows in sorted(per_service.items()):
        t = _turnarounds(service_rows)
        result.append(
            ServiceFigures(
                services[service_id],
                t.issued,
                Fraction(t.on_time, t.issued) if t.issued else None,
                median(t.days),
            )
        )
    return result


def orders_per_unit(period: Period, unit_ids: list[int]) -> dict[int, int]:
    """Testing orders served on each unit: distinct orders with a run on it in the period
    (runs the lab cancelled or declined do not count)."""
    from sharehub.booking.models import Booking, BookingStatus
    from sharehub.testing.work_models import TestRun

    if not unit_ids:
        return {}
    rows = db.session.execute(
        sa.select(Booking.unit_id, sa.func.count(sa.distinct(TestRun.order_id)))
        .join(TestRun, TestRun.booking_id == Booking.id)
        .where(
            Booking.unit_id.in_(unit_ids),
            Booking.starts_dt >= period.start_dt,
            Booking.starts_dt < period.end_dt,
            Booking.status.not_in((BookingStatus.CANCELLED, BookingStatus.DECLINED)),
        )
        .group_by(Booking.unit_id)
    )
    return {unit_id: count for unit_id, count in rows}
