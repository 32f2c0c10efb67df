"""Sharing metrics (DOMAIN.md, "Hours and utilisation") by SQL aggregation.

Every figure is one grouped query over the facts of a period of local days [start, end):
- effective hours: prep + run + post minutes of usage records (booked or not); a record
  crossing a bound counts in proportion to its time inside; a record of no duration counts
  where it starts; records still open are left out;
- external hours: effective hours used by organisations other than the lab itself;
- booked hours: bookings that took the slot (confirmed, in progress, completed, no-show),
  clipped to the period;
- available hours: opening hours of active units on the days of the period (holidays
  closed, make-up working days open as the listing's own weekday or else Monday, as the
  availability engine does) minus outages inside those opening hours;
- rated hours: the yearly rated hours of each active unit's class, times days ÷ 365;
- revenue: net amounts of invoices issued in the period (credit notes count negative);
  internal when the customer is the lab itself. Below lab level (unit, listing, field)
  only invoices of a booking can be attributed;
- cancellation rate: cancelled ÷ bookings starting in the period, leaving out those the
  lab declined or that expired unanswered; no-show rate: no-shows ÷ bookings whose time
  came (completed, in progress, no-show);
- median response: minutes from request to the lab's decision, of bookings requested in
  the period (instantly confirmed ones answer in 0 minutes);
- satisfaction: mean rating given in the period.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.accounts.models import Organisation
from sharehub.billing.models import Invoice, InvoiceStatus
from sharehub.booking.models import Booking, BookingStatus, UsageRecord
from sharehub.catalog.models import Holiday, OpeningInterval, Outage
from sharehub.extensions import db
from sharehub.stats.models import RatedHours, Rating
from sharehub.stats.sql import (
    DAY,
    LAB_LEVELS,
    LEVELS,
    Dialect,
    Filters,
    Period,
    lab_scope,
    num,
    unit_scope,
)

DEFAULT_RATED_HOURS = 1400
BOOKED = (
    BookingStatus.CONFIRMED,
    BookingStatus.IN_PROGRESS,
    BookingStatus.COMPLETED,
    BookingStatus.NO_SHOW,
)
CAME = (BookingStatus.COMPLETED, BookingStatus.IN_PROGRESS, BookingStatus.NO_SHOW)
NOT_REQUESTED = (BookingStatus.DECLINED, BookingStatus.EXPIRED)
KEYS = (
    "available_hours",
    "booked_hours",
    "effective_hours",
    "external_hours",
    "internal_hours",
    "rated_hours",
    "share_rate",
    "utilisation_rated",
    "utilisation_available",
    "orgs_served",
    "external_orgs_served",
    "sme_served",
    "users_served",
    "revenue_internal_fen",
    "revenue_external_fen",
    "revenue_rate",
    "satisfaction",
    "rating_count",
    "median_response_minutes",
    "bookings",
    "cancelled",
    "no_shows",
    "cancellation_rate",
    "no_show_rate",
    "original_value_fen",
    "unit_count",
)

Metrics = dict[str, int | float | None]


def lab_metrics(start: date, end: date, lab_ids: Sequence[int] | None = None) -> dict[Any, Metrics]:
    """Figures per laboratory, keyed by lab id; every lab asked for is present."""
    result = metrics(start, end, "lab", Filters(lab_ids=lab_ids))
    for lab_id in lab_ids or ():
        result.setdefault(lab_id, empty(start, end))
    return result


def empty(start: date, end: date) -> Metrics:
    """The figures of something with no units and no activity."""
    return _finish({}, Period(start, end))


def metrics(
    start: date, end: date, level: str = "lab", filters: Filters | None = None
) -> dict[Any, Metrics]:
    """Figures per group of `level` (unit, listing, lab, cluster, region, field, or all
    in one group keyed 0) over the local days [start, end). Keys are ids (a Field value for
    `field`; None gathers labs without a cluster or region)."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    filters = filters or Filters()
    period = Period(start, end)
    sql = Dialect()
    if sql.pg:
        # The grouped aggregates over a year of usage records need more than the default
        # 4 MB to stay in memory; LOCAL ends with the transaction.
        db.session.execute(sa.text("SET LOCAL work_mem = '64MB'"))
    scope = unit_scope(level, filters)
    parts = [
        _units(scope, period),
        _available(scope, period, sql),
        _usage(scope, period, sql),
        _booked(scope, period, sql),
        _booking_counts(scope, period),
        _response(scope, period, sql),
        _ratings(scope, period),
        _revenue(level, filters, scope, period),
    ]
    if level in LAB_LEVELS:
        labs = lab_scope(level, filters)
        parts.append(db.session.execute(sa.select(labs.c.k).distinct()).all())
    raw: dict[Any, dict[str, Any]] = {}
    for rows in parts:
        for row in rows:
            values = row._asdict()
            raw.setdefault(values.pop("k"), {}).update(values)
    return {k: _finish(v, period) for k, v in raw.items()}


def _finish(v: dict[str, Any], period: Period) -> Metrics:
    """Hours from seconds/minutes, and the rates from the sums (None where undefined)."""

    def ratio(a, b, digits=4):
        return round(a / b, digits) if b else None

    effective_min = float(v.get("effective_min") or 0)
    external_min = float(v.get("external_min") or 0)
    available_s = max(0, int(v.get("opening_s") or 0) - int(v.get("outage_s") or 0))
    rated = int(v.get("rated_year") or 0) * period.days / 365
    rev_int, rev_ext = int(v.get("rev_int") or 0), int(v.get("rev_ext") or 0)
    original = int(v.get("original_value") or 0)
    bookings = int(v.get("requested") or 0)
    came = int(v.get("came") or 0)
    median = v.get("median_s")
    return {
        "available_hours": round(available_s / 3600, 2),
        "booked_hours": round(int(v.get("booked_s") or 0) / 3600, 2),
        "effective_hours": round(effective_min / 60, 2),
        "external_hours": round(external_min / 60, 2),
        "internal_hours": round((effective_min - external_min) / 60, 2),
        "rated_hours": round(rated, 2),
        "share_rate": ratio(external_min, effective_min),
        "utilisation_rated": ratio(effective_min / 60, rated),
        "utilisation_available": ratio(effective_min * 60, available_s),
        "orgs_served": int(v.get("orgs") or 0),
        "external_orgs_served": int(v.get("ext_orgs") or 0),
        "sme_served": int(v.get("smes") or 0),
        "users_served": int(v.get("users") or 0),
        "revenue_internal_fen": rev_int,
        "revenue_external_fen": rev_ext,
        "revenue_rate": ratio(rev_int + 1.5 * rev_ext, original),
        "satisfaction": round(float(v["score"]), 2) if v.get("score") is not None else None,
        "rating_count": int(v.get("ratings") or 0),
        "median_response_minutes": round(float(median) / 60, 1) if median is not None else None,
        "bookings": bookings,
        "cancelled": int(v.get("cancelled") or 0),
        "no_shows": int(v.get("no_shows") or 0),
        "cancellation_rate": ratio(int(v.get("cancelled") or 0), bookings),
        "no_show_rate": ratio(int(v.get("no_shows") or 0), came),
        "original_value_fen": original,
        "unit_count": int(v.get("unit_count") or 0),
    }


def _units(scope, period: Period):
    """Active units, their original value and their rated hours a year."""
    active = scope.c.is_active.is_(True)
    hours = sa.func.coalesce(RatedHours.hours, DEFAULT_RATED_HOURS)
    query = (
        sa.select(
            scope.c.k,
            sa.func.count().label("unit_count"),
            sa.func.sum(sa.func.coalesce(scope.c.original_value, 0)).label("original_value"),
            sa.func.sum(hours).label("rated_year"),
        )
        .select_from(scope)
        .outerjoin(RatedHours, RatedHours.usage_class == scope.c.usage_class)
        .where(active)
        .group_by(scope.c.k)
    )
    return db.session.execute(query).all()


def _days(period: Period, sql: Dialect, name: str = "day"):
    """The days of the period: index n from 0, weekday (0 = Monday) and `special`: NULL on
    ordinary days, false on holidays, true on make-up working days."""
    days = sa.select(sa.literal(0).label("n")).cte(f"{name}_n", recursive=True)
    days = days.union_all(sa.select((days.c.n + 1).label("n")).where(days.c.n < period.days - 1))
    special = (
        sa.select(sql.day_index(Holiday.day, period.start).label("n"), Holiday.is_workday)
        .where(Holiday.day >= period.start, Holiday.day < period.end)
        .subquery(f"{name}_special")
    )
    return (
        sa.select(
            days.c.n,
            ((days.c.n + period.start.weekday()) % 7).label("wd"),
            special.c.is_workday.label("special"),
        )
        .select_from(days)
        .outerjoin(special, special.c.n == days.c.n)
        .subquery(name)
    )


def _applies(wd, special):
    """Opening intervals that apply on a day: its weekday's on ordinary days, none on
    holidays, and on make-up working days the listing's hours of that weekday, or else
    Monday's (as the availability engine does)."""
    own = so.aliased(OpeningInterval, name="own")
    has_own_hours = (
        sa.select(own.id)
        .where(own.listing_id == OpeningInterval.listing_id, own.weekday == wd)
        .exists()
    )
    return sa.or_(
        sa.and_(special.is_(None), OpeningInterval.weekday == wd),
        sa.and_(
            special == sa.true(),
            OpeningInterval.weekday == sa.case((has_own_hours, wd), else_=0),
        ),
    )


def _interval_bounds(period: Period, n):
    base = num(period.start_epoch) + n * num(DAY)
    return (
        base + sa.cast(OpeningInterval.start_minute, sa.BigInteger) * 60,
        base + sa.cast(OpeningInterval.end_minute, sa.BigInteger) * 60,
    )


def _available(scope, period: Period, sql: Dialect):
    """Opening seconds of the listings in scope, and the seconds of them lost to outages.

    Opening: ordinary days count per weekday; the few make-up days go through
    `_applies`. Outages: each outage meets only the days it
    touches, then its listing's intervals of those days (index on listing_id), so the
    work follows the number of outages, not days × intervals × outages."""
    active = scope.c.is_active.is_(True)
    day = _days(period, sql)
    in_scope = OpeningInterval.listing_id.in_(sa.select(scope.c.listing_id))
    # Ordinary days: each weekday's intervals times the number of such days (7 rows of
    # day counts, not days × intervals); make-up days one by one (there are few).
    counts = (
        sa.select(day.c.wd, sa.func.count().label("days"))
        .where(day.c.special.is_(None))
        .group_by(day.c.wd)
        .subquery("weekdays")
    )
    length = sa.cast(OpeningInterval.end_minute - OpeningInterval.start_minute, sa.BigInteger)
    ordinary = (
        sa.select(OpeningInterval.listing_id, (length * 60 * counts.c.days).label("s"))
        .join(counts, OpeningInterval.weekday == counts.c.wd)
        .where(in_scope)
    )
    make_up = (
        sa.select(OpeningInterval.listing_id, (length * 60).label("s"))
        .join(day, day.c.special == sa.true())
        .where(_applies(day.c.wd, day.c.special), in_scope)
    )
    opening = sa.union_all(ordinary, make_up).subquery("opening")
    per_listing = (
        sa.select(opening.c.listing_id, sa.func.sum(opening.c.s).label("s"))
        .group_by(opening.c.listing_id)
        .subquery("per_listing")
    )
    opened = (
        sa.select(scope.c.k, sa.func.sum(per_listing.c.s).label("opening_s"))
        .select_from(scope)
        .join(per_listing, per_listing.c.listing_id == scope.c.listing_id)
        .where(active)
        .group_by(scope.c.k)
    )

    o_day = _days(period, sql, "o_day")
    o_start, o_end = sql.epoch(Outage.starts_dt), sql.epoch(Outage.ends_dt)
    day_start = num(period.start_epoch) + o_day.c.n * num(DAY)
    touched = (
        sa.select(
            scope.c.k,
            scope.c.listing_id,
            o_start.label("os"),
            o_end.label("oe"),
            o_day.c.n,
            o_day.c.wd,
            o_day.c.special,
        )
        .select_from(Outage)
        .join(scope, scope.c.unit_id == Outage.unit_id)
        .join(o_day, sa.and_(o_start < day_start + num(DAY), o_end > day_start))
        .where(active, Outage.starts_dt < period.end_dt, Outage.ends_dt > period.start_dt)
        .subquery("outage_day")
    )
    a, b = _interval_bounds(period, touched.c.n)
    lost = (
        sa.select(
            touched.c.k,
            sa.func.sum(sql.least(b, touched.c.oe) - sql.greatest(a, touched.c.os)).label(
                "outage_s"
            ),
        )
        .select_from(touched)
        .join(
            OpeningInterval,
            sa.and_(
                OpeningInterval.listing_id == touched.c.listing_id,
                _applies(touched.c.wd, touched.c.special),
                a < touched.c.oe,
                b > touched.c.os,
            ),
        )
        .group_by(touched.c.k)
    )
    return [*db.session.execute(opened).all(), *db.session.execute(lost).all()]


def _usage(scope, period: Period, sql: Dialect):
    """Effective and external minutes and the organisations served, in one pass over the
    usage records: minutes summed per (group, lab, organisation), then per (group,
    organisation), then per group — hash aggregates all the way, where COUNT(DISTINCT)
    would sort every record. Users served come from the records of a booking."""
    inside = _inside_minutes(period, sql)
    per_lab_org = (
        sa.select(
            scope.c.k,
            UsageRecord.user_org_id,
            sa.func.sum(inside).label("m"),
            sa.func.max(sa.case((UsageRecord.user_org_id != scope.c.lab_id, 1), else_=0)).label(
                "ext"
            ),
            sa.func.sum(
                sa.case((UsageRecord.user_org_id != scope.c.lab_id, inside), else_=0.0)
            ).label("ext_m"),
        )
        .select_from(UsageRecord)
        .join(scope, scope.c.unit_id == UsageRecord.unit_id)
        .where(*_usage_in(period))
        .group_by(scope.c.k, UsageRecord.user_org_id)
        .subquery("per_org")
    )
    user_org = so.aliased(Organisation, name="user_org")
    external = per_lab_org.c.ext == 1
    figures = (
        sa.select(
            per_lab_org.c.k,
            sa.func.sum(per_lab_org.c.m).label("effective_min"),
            sa.func.sum(per_lab_org.c.ext_m).label("external_min"),
            sa.func.count().label("orgs"),
            sa.func.sum(per_lab_org.c.ext).label("ext_orgs"),
            sa.func.sum(sa.case((sa.and_(external, user_org.is_sme.is_(True)), 1), else_=0)).label(
                "smes"
            ),
        )
        .join(user_org, user_org.id == per_lab_org.c.user_org_id)
        .group_by(per_lab_org.c.k)
    )
    per_user = (
        sa.select(scope.c.k, Booking.customer_user_id)
        .select_from(UsageRecord)
        .join(scope, scope.c.unit_id == UsageRecord.unit_id)
        .join(Booking, Booking.id == UsageRecord.booking_id)
        .where(*_usage_in(period), Booking.customer_user_id.is_not(None))
        .group_by(scope.c.k, Booking.customer_user_id)
        .subquery("per_user")
    )
    users = sa.select(per_user.c.k, sa.func.count().label("users")).group_by(per_user.c.k)
    return [*db.session.execute(figures), *db.session.execute(users)]


def _booked(scope, period: Period, sql: Dialect):
    start, end = sql.epoch(Booking.starts_dt), sql.epoch(Booking.ends_dt)
    clipped = sql.least(end, num(period.end_epoch)) - sql.greatest(start, num(period.start_epoch))
    query = (
        sa.select(scope.c.k, sa.func.sum(clipped).label("booked_s"))
        .select_from(Booking)
        .join(scope, scope.c.unit_id == Booking.unit_id)
        .where(
            Booking.status.in_(BOOKED),
            Booking.starts_dt < period.end_dt,
            Booking.ends_dt > period.start_dt,
        )
        .group_by(scope.c.k)
    )
    return db.session.execute(query).all()


def _booking_counts(scope, period: Period):
    def count_of(condition):
        return sa.func.sum(sa.case((condition, 1), else_=0))

    query = (
        sa.select(
            scope.c.k,
            count_of(Booking.status.not_in(NOT_REQUESTED)).label("requested"),
            count_of(Booking.status == BookingStatus.CANCELLED).label("cancelled"),
            count_of(Booking.status == BookingStatus.NO_SHOW).label("no_shows"),
            count_of(Booking.status.in_(CAME)).label("came"),
        )
        .select_from(Booking)
        .join(scope, scope.c.unit_id == Booking.unit_id)
        .where(Booking.starts_dt >= period.start_dt, Booking.starts_dt < period.end_dt)
        .group_by(scope.c.k)
    )
    return db.session.execute(query).all()


def _response(scope, period: Period, sql: Dialect):
    """The median by window functions (row number against count), which both databases
    have; PostgreSQL's percentile_cont has no SQLite counterpart."""
    seconds = sql.epoch(Booking.decided_dt) - sql.epoch(Booking.created_dt)
    ranked = (
        sa.select(
            scope.c.k,
            seconds.label("s"),
            sa.func.row_number().over(partition_by=scope.c.k, order_by=seconds).label("rn"),
            sa.func.count().over(partition_by=scope.c.k).label("n"),
        )
        .select_from(Booking)
        .join(scope, scope.c.unit_id == Booking.unit_id)
        .where(
            Booking.decided_dt.is_not(None),
            Booking.created_dt >= period.start_dt,
            Booking.created_dt < period.end_dt,
        )
        .subquery("ranked")
    )
    query = (
        sa.select(ranked.c.k, sa.func.avg(ranked.c.s * 1.0).label("median_s"))
        .where(ranked.c.rn * 2 >= ranked.c.n, ranked.c.rn * 2 <= ranked.c.n + 2)
        .group_by(ranked.c.k)
    )
    return db.session.execute(query).all()


def _ratings(scope, period: Period):
    query = (
        sa.select(
            scope.c.k,
            sa.func.avg(Rating.score * 1.0).label("score"),
            sa.func.count().label("ratings"),
        )
        .select_from(Rating)
        .join(Booking, Booking.id == Rating.booking_id)
        .join(scope, scope.c.unit_id == Booking.unit_id)
        .where(Rating.created_dt >= period.start_dt, Rating.created_dt < period.end_dt)
        .group_by(scope.c.k)
    )
    return db.session.execute(query).all()


def _revenue(level: str, filters: Filters, scope, period: Period):
    issued = sa.and_(
        Invoice.status != InvoiceStatus.DRAFT,
        Invoice.issued_dt >= period.start_dt,
        Invoice.issued_dt < period.end_dt,
    )
    if level in LAB_LEVELS and not filters.below_lab:
        labs = lab_scope(level, filters)
        query = sa.select(labs.c.k).select_from(Invoice).join(labs, labs.c.lab_id == Invoice.lab_id)
    else:
        # Only invoices of a booking belong to a unit; one row per unit keeps sums right.
        units = sa.select(scope.c.unit_id, scope.c.k).distinct().subquery("units")
        query = (
            sa.select(units.c.k)
            .select_from(Invoice)
            .join(Booking, Booking.id == Invoice.booking_id)
            .join(units, units.c.unit_id == Booking.unit_id)
        )
        labs = units
    internal = Invoice.customer_org_id == Invoice.lab_id
    query = (
        query.add_columns(
            sa.func.sum(sa.case((internal, Invoice.net_total), else_=0)).label("rev_int"),
            sa.func.sum(sa.case((internal, 0), else_=Invoice.net_total)).label("rev_ext"),
        )
        .where(issued)
        .group_by(labs.c.k)
    )
    return db.session.execute(query).all()


def served_by_cluster(start: date, end: date, filters: Filters | None = None) -> list:
    """Organisations served and their effective hours, by the cluster of the customer
    (None: customers outside any cluster)."""
    period, sql = Period(start, end), Dialect()
    scope = unit_scope("all", filters or Filters())
    user_org = so.aliased(Organisation, name="user_org")
    inside = _inside_minutes(period, sql)
    external = UsageRecord.user_org_id != scope.c.lab_id
    query = (
        sa.select(
            user_org.cluster_id,
            sa.func.count(sa.distinct(UsageRecord.user_org_id)).label("orgs"),
            sa.func.count(sa.distinct(sa.case((external, UsageRecord.user_org_id)))).label(
                "external_orgs"
            ),
            sa.func.count(
                sa.distinct(sa.case((sa.and_(external, user_org.is_sme.is_(True)), user_org.id)))
            ).label("smes"),
            sa.func.sum(inside).label("minutes"),
        )
        .select_from(UsageRecord)
        .join(scope, scope.c.unit_id == UsageRecord.unit_id)
        .join(user_org, user_org.id == UsageRecord.user_org_id)
        .where(*_usage_in(period))
        .group_by(user_org.cluster_id)
        .order_by(sa.desc("minutes"))
    )
    return db.session.execute(query).all()


def _usage_in(period: Period) -> list:
    return [
        UsageRecord.ended_dt.is_not(None),
        UsageRecord.started_dt < period.end_dt,
        sa.or_(
            UsageRecord.ended_dt > period.start_dt,
            sa.and_(
                UsageRecord.ended_dt == UsageRecord.started_dt,
                UsageRecord.started_dt >= period.start_dt,
            ),
        ),
    ]


def _inside_minutes(period: Period, sql: Dialect):
    """Effective minutes of a usage record inside the period, in proportion to its time
    inside; a record of no duration counts whole (it is only selected where it starts)."""
    start, end = sql.epoch(UsageRecord.started_dt), sql.epoch(UsageRecord.ended_dt)
    p0, p1 = num(period.start_epoch), num(period.end_epoch)
    minutes = sa.cast(
        UsageRecord.prep_minutes + UsageRecord.run_minutes + UsageRecord.post_minutes, sa.Float
    )
    return sa.case(
        (end > start, minutes * (sql.least(end, p1) - sql.greatest(start, p0)) / (end - start)),
        else_=minutes,
    )
