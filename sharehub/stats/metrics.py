"""Sharing metrics (DOMAIN.md, "Hours and utilisation") by SQL aggregation.

Every figure is one grouped query over the facts of a period of local days [start, end):
- effective hours: prep + run + post minutes of usage records (booked or not); a record
  crossing a bound counts in proportion to its time inside; a record of no duration counts
  where it starts; records still open are left out;
- external hours: effective hours used by organisations other than the lab itself, its
  host organisation and the host's other units (DOMAIN.md, "Who counts as internal");
- booked hours: bookings that took the slot (confirmed, in progress, completed, no-show),
  clipped to the period;
- available hours: opening hours of active units on the days of the period (holidays
  closed, make-up working days open as the listing's own weekday or else Monday, as the
  availability engine does) minus outages inside those opening hours;
- rated hours: the yearly rated hours of each active unit's class, times days ÷ 365;
- revenue: net amounts of invoices issued in the period (credit notes count negative);
  internal when the customer is the lab, its host or one of the host's units. Below lab
  level (unit, listing, field)
  only invoices of a booking can be attributed;
- cancellation rate: cancelled ÷ bookings starting in the period, leaving out those the
  lab declined or that expired unanswered; no-show rate: no-shows ÷ bookings whose time
  came (completed, in progress, no-show);
- median response: minutes from request to the lab's decision, of bookings requested in
  the period (instantly confirmed ones answer in 0 minutes);
- satisfaction: mean rating given in the period;
- organisations and users served: those named on usage records (by the booking, or on use
  logged without one), never the lab itself; external organisations leave out the host
  side too.

The figures are exact: minutes, seconds and fen are integers, hours and ratios Fractions
(a record crossing a bound adds the Fraction of its minutes inside). They are rounded once,
for display, by sharehub.stats.figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.accounts.models import Organisation
from sharehub.billing.models import Invoice, InvoiceStatus
from sharehub.booking.models import Booking, BookingStatus, UsageRecord
from sharehub.catalog.models import Holiday, OpeningInterval, Outage
from sharehub.extensions import db
from sharehub.stats import testing as testing_figures
from sharehub.stats.models import RatedHours, Rating, UsageDay
from sharehub.stats.sql import (
    DAY,
    LAB_LEVELS,
    LEVELS,
    Dialect,
    Filters,
    Period,
    internal_to,
    lab_scope,
    none_of,
    num,
    one_of,
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

Metrics = dict[str, int | Fraction | None]


def lab_metrics(
    start: date, end: date, lab_ids: Sequence[int] | None = None, raw: bool = False
) -> dict[Any, Metrics]:
    """Figures per laboratory, keyed by lab id; every lab asked for is present."""
    result = metrics(start, end, "lab", Filters(lab_ids=lab_ids), raw=raw)
    for lab_id in lab_ids or ():
        result.setdefault(lab_id, empty(start, end))
    return result


def empty(start: date, end: date) -> Metrics:
    """The figures of something with no units and no activity."""
    return _finish({}, Period(start, end))


def metrics(
    start: date,
    end: date,
    level: str = "lab",
    filters: Filters | None = None,
    raw: bool = False,
) -> dict[Any, Metrics]:
    """Figures per group of `level` (unit, listing, lab, cluster, region, field, or all
    in one group keyed 0) over the local days [start, end). Keys are ids (a Field value for
    `field`; None gathers labs without a cluster or region). The usage figures come from the
    daily rollup (stats/rollups.py); `raw` reads the usage records themselves, the
    reference the rollup is tested against."""
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
        _usage(scope, period, sql) if raw else _usage_rollup(scope, period, sql),
        _booked(scope, period, sql),
        _booking_counts(scope, period),
        _response(scope, period, sql),
        _ratings(scope, period),
        _revenue(level, filters, scope, period),
    ]
    if level in LAB_LEVELS:
        labs = lab_scope(level, filters)
        parts.append(db.session.execute(sa.select(labs.c.k).distinct()).all())
        if not filters.below_lab:
            parts.append(testing_figures.parts(level, filters, period))
    raw: dict[Any, dict[str, Any]] = {}
    for rows in parts:
        for row in rows:
            values = dict(row) if isinstance(row, dict) else row._asdict()
            raw.setdefault(values.pop("k"), {}).update(values)
    return {k: _finish(v, period) for k, v in raw.items()}


def _finish(v: dict[str, Any], period: Period) -> Metrics:
    """Hours from seconds/minutes, and the rates from the sums (None where undefined),
    all exact."""

    def ratio(a, b):
        return Fraction(a) / Fraction(b) if b else None

    effective_min = Fraction(v.get("effective_min") or 0)
    external_min = Fraction(v.get("external_min") or 0)
    available_s = max(0, int(v.get("opening_s") or 0) - int(v.get("outage_s") or 0))
    rated = Fraction(int(v.get("rated_year") or 0) * period.days, 365)
    rev_int, rev_ext = int(v.get("rev_int") or 0), int(v.get("rev_ext") or 0)
    original = int(v.get("original_value") or 0)
    bookings = int(v.get("requested") or 0)
    came = int(v.get("came") or 0)
    ratings = int(v.get("ratings") or 0)
    responses = int(v.get("responses") or 0)
    return {
        "available_hours": Fraction(available_s, 3600),
        "booked_hours": Fraction(int(v.get("booked_s") or 0), 3600),
        "effective_hours": effective_min / 60,
        "external_hours": external_min / 60,
        "internal_hours": (effective_min - external_min) / 60,
        "rated_hours": rated,
        "share_rate": ratio(external_min, effective_min),
        "utilisation_rated": ratio(effective_min / 60, rated),
        "utilisation_available": ratio(effective_min * 60, available_s),
        "orgs_served": int(v.get("orgs") or 0),
        "external_orgs_served": int(v.get("ext_orgs") or 0),
        "sme_served": int(v.get("smes") or 0),
        "users_served": int(v.get("users") or 0),
        "revenue_internal_fen": rev_int,
        "revenue_external_fen": rev_ext,
        "revenue_rate": ratio(rev_int + Fraction(3, 2) * rev_ext, original),
        "satisfaction": ratio(int(v.get("score_sum") or 0), ratings),
        "rating_count": ratings,
        "median_response_minutes": (
            ratio(Fraction(v.get("response_s") or 0), responses * 60) if responses else None
        ),
        "bookings": bookings,
        "cancelled": int(v.get("cancelled") or 0),
        "no_shows": int(v.get("no_shows") or 0),
        "cancellation_rate": ratio(int(v.get("cancelled") or 0), bookings),
        "no_show_rate": ratio(int(v.get("no_shows") or 0), came),
        "original_value_fen": original,
        "unit_count": int(v.get("unit_count") or 0),
        **testing_figures.finish(v),
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


def _day_counts(period: Period) -> tuple[dict[int, int], dict[int, int]]:
    """Ordinary days of the period per weekday (0 = Monday) and make-up working days per
    weekday; holidays are neither."""
    special = dict(
        db.session.execute(
            sa.select(Holiday.day, Holiday.is_workday).where(
                Holiday.day >= period.start, Holiday.day < period.end
            )
        ).all()
    )
    ordinary = dict.fromkeys(range(7), 0)
    make_up = dict.fromkeys(range(7), 0)
    for n in range(period.days):
        day = period.start + timedelta(days=n)
        kind = special.get(day)
        if kind is None:
            ordinary[day.weekday()] += 1
        elif kind:
            make_up[day.weekday()] += 1
    return ordinary, {wd: n for wd, n in make_up.items() if n}


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
    ordinary, make_up = _day_counts(period)
    in_scope = OpeningInterval.listing_id.in_(sa.select(scope.c.listing_id))
    # Minutes open per listing and weekday (a few rows per listing), then per listing:
    # each weekday's minutes times the number of ordinary such days, plus on each make-up
    # day the minutes of its own weekday, or else Monday's (as `_applies` says). The days
    # are counted in Python from the few holidays of the period: a recursive calendar of
    # the period's days costs SQLite a second a year.
    length = sa.cast(OpeningInterval.end_minute - OpeningInterval.start_minute, sa.BigInteger)
    per_day = (
        sa.select(
            OpeningInterval.listing_id,
            OpeningInterval.weekday.label("wd"),
            sa.func.sum(length).label("m"),
        )
        .where(in_scope)
        .group_by(OpeningInterval.listing_id, OpeningInterval.weekday)
        .subquery("per_day")
    )

    def minutes_on(wd: int):
        return sa.func.max(sa.case((per_day.c.wd == wd, per_day.c.m)))

    factor = sa.case({wd: num(n) for wd, n in ordinary.items()}, value=per_day.c.wd, else_=num(0))
    opening_min = sa.func.sum(per_day.c.m * factor)
    for wd, n in sorted(make_up.items()):
        opening_min = opening_min + num(n) * sa.func.coalesce(minutes_on(wd), minutes_on(0), num(0))
    per_listing = (
        sa.select(per_day.c.listing_id, (opening_min * 60).label("s"))
        .group_by(per_day.c.listing_id)
        .subquery("per_listing")
    )
    opened = (
        sa.select(scope.c.k, sa.func.sum(per_listing.c.s).label("opening_s"))
        .select_from(scope)
        .join(per_listing, per_listing.c.listing_id == scope.c.listing_id)
        .where(active)
        .group_by(scope.c.k)
    )

    return [*db.session.execute(opened).all(), *db.session.execute(_lost(scope, period, sql))]


def _lost(scope, period: Period, sql: Dialect, by_day: bool = False):
    """Opening seconds lost to outages per group (or per day index `n` of the period)."""
    active = scope.c.is_active.is_(True)
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
    key = touched.c.n if by_day else touched.c.k
    return (
        sa.select(
            key,
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
        .group_by(key)
    )


def trend_series(
    steps: Sequence[tuple[date, date]], filters: Filters | None = None
) -> list[Metrics]:
    """Effective, external and available hours and the utilisation against available
    hours of everything in `filters`, per step [start, end) of consecutive steps, as
    `metrics(start, end, "all", filters)` gives them, in a few statements for all steps
    (the trend charts): minutes from the daily rollup by day, opening hours per weekday,
    outages by day."""
    period = Period(steps[0][0], steps[-1][1])
    sql, filters = Dialect(), filters or Filters()
    scope = unit_scope("all", filters)
    user_org = so.aliased(Organisation, name="user_org")
    ext = sa.case((internal_to(user_org, scope.c.lab_id, scope.c.host_id), 0), else_=1)
    base = (
        sa.select()
        .select_from(UsageDay)
        .join(scope, scope.c.unit_id == UsageDay.unit_id)
        .join(user_org, user_org.id == UsageDay.user_org_id)
        .where(UsageDay.day < period.end, UsageDay.last_day >= period.start)
    )
    minutes = {i: [Fraction(0), Fraction(0)] for i in range(len(steps))}
    index = {}
    for i, (start, end) in enumerate(steps):
        for n in range((end - start).days):
            index[start + timedelta(days=n)] = i
    one_day = base.add_columns(
        UsageDay.day,
        sa.func.sum(UsageDay.minutes).label("m"),
        sa.func.sum(sa.case((ext == 1, UsageDay.minutes), else_=0)).label("ext_m"),
    ).where(UsageDay.last_day == UsageDay.day)
    for row in db.session.execute(one_day.group_by(UsageDay.day)):
        sums = minutes[index[row.day]]
        sums[0] += int(row.m or 0)
        sums[1] += int(row.ext_m or 0)
    crossing = base.add_columns(
        UsageDay.minutes.label("m"),
        ext.label("ext"),
        sql.epoch(UsageDay.started_dt).label("s"),
        sql.epoch(UsageDay.ended_dt).label("e"),
    ).where(UsageDay.last_day > UsageDay.day)
    bounds = [(Period(a, b).start_epoch, Period(a, b).end_epoch) for a, b in steps]
    for row in db.session.execute(crossing):
        start, end = Fraction(row.s), Fraction(row.e)
        for i, (p0, p1) in enumerate(bounds):
            if start < p1 and end > p0:
                inside = int(row.m) * (min(end, p1) - max(start, p0)) / (end - start)
                minutes[i][0] += inside
                if row.ext == 1:
                    minutes[i][1] += inside
    opening = _opening_by_day(scope, period)
    lost: dict[int, int] = {i: 0 for i in range(len(steps))}
    for n, seconds in db.session.execute(_lost(scope, period, sql, by_day=True)):
        lost[index[period.start + timedelta(days=int(n))]] += int(seconds or 0)
    result = []
    for i, (start, end) in enumerate(steps):
        opened = sum(opening[start + timedelta(days=n)] for n in range((end - start).days))
        available = max(0, opened - lost[i])
        effective, external = minutes[i]
        result.append(
            {
                "effective_hours": effective / 60,
                "external_hours": external / 60,
                "internal_hours": (effective - external) / 60,
                "available_hours": Fraction(available, 3600),
                "utilisation_available": (
                    Fraction(effective * 60) / available if available else None
                ),
            }
        )
    return result


def _opening_by_day(scope, period: Period) -> dict[date, int]:
    """Opening seconds of the active units in scope on each day of the period."""
    units = (
        sa.select(scope.c.listing_id, sa.func.count().label("units"))
        .where(scope.c.is_active.is_(True))
        .group_by(scope.c.listing_id)
        .subquery("active_units")
    )
    length = sa.cast(OpeningInterval.end_minute - OpeningInterval.start_minute, sa.BigInteger)
    rows = db.session.execute(
        sa.select(
            OpeningInterval.listing_id,
            OpeningInterval.weekday,
            sa.func.sum(length).label("m"),
            sa.func.max(units.c.units).label("units"),
        )
        .join(units, units.c.listing_id == OpeningInterval.listing_id)
        .group_by(OpeningInterval.listing_id, OpeningInterval.weekday)
    ).all()
    per_listing: dict[int, dict[int, int]] = {}
    count: dict[int, int] = {}
    for listing_id, weekday, m, n in rows:
        per_listing.setdefault(listing_id, {})[weekday] = int(m or 0)
        count[listing_id] = int(n)
    ordinary = dict.fromkeys(range(7), 0)
    make_up = dict.fromkeys(range(7), 0)
    for listing_id, days in per_listing.items():
        for wd in range(7):
            ordinary[wd] += days.get(wd, 0) * 60 * count[listing_id]
            own = days.get(wd, days.get(0, 0))
            make_up[wd] += own * 60 * count[listing_id]
    special = dict(
        db.session.execute(
            sa.select(Holiday.day, Holiday.is_workday).where(
                Holiday.day >= period.start, Holiday.day < period.end
            )
        ).all()
    )
    result = {}
    for n in range(period.days):
        day = period.start + timedelta(days=n)
        kind = special.get(day)
        wd = day.weekday()
        result[day] = ordinary[wd] if kind is None else make_up[wd] if kind else 0
    return result


def _usage(scope, period: Period, sql: Dialect):
    """Effective and external minutes, and the organisations and users served.

    Organisations: one pass over the usage records, summed per (group, organisation) then
    per group — hash aggregates all the way, where COUNT(DISTINCT) would sort every
    record. An organisation is served when it is not the lab itself, external when it is
    not on the lab's host side either. Users: the person a record names, or else its
    booking's customer, on records of organisations served."""
    user_org = so.aliased(Organisation, name="user_org")
    internal = internal_to(user_org, scope.c.lab_id, scope.c.host_id)
    served = UsageRecord.user_org_id != scope.c.lab_id
    per_org = (
        sa.select(
            scope.c.k,
            UsageRecord.user_org_id,
            sa.func.max(sa.case((served, 1), else_=0)).label("served"),
            sa.func.max(sa.case((internal, 0), else_=1)).label("ext"),
            sa.func.max(sa.case((user_org.is_sme.is_(True), 1), else_=0)).label("sme"),
        )
        .select_from(UsageRecord)
        .join(scope, scope.c.unit_id == UsageRecord.unit_id)
        .join(user_org, user_org.id == UsageRecord.user_org_id)
        .where(*_usage_in(period))
        .group_by(scope.c.k, UsageRecord.user_org_id)
        .subquery("per_org")
    )
    external = per_org.c.ext == 1
    figures = sa.select(
        per_org.c.k,
        sa.func.sum(per_org.c.served).label("orgs"),
        sa.func.sum(per_org.c.ext).label("ext_orgs"),
        sa.func.sum(sa.case((sa.and_(external, per_org.c.sme == 1), 1), else_=0)).label("smes"),
    ).group_by(per_org.c.k)
    person = sa.func.coalesce(UsageRecord.user_id, Booking.customer_user_id)
    per_user = (
        sa.select(scope.c.k, person.label("user_id"))
        .select_from(UsageRecord)
        .join(scope, scope.c.unit_id == UsageRecord.unit_id)
        .outerjoin(Booking, Booking.id == UsageRecord.booking_id)
        .where(*_usage_in(period), served, person.is_not(None))
        .group_by(scope.c.k, person)
        .subquery("per_user")
    )
    users = sa.select(per_user.c.k, sa.func.count().label("users")).group_by(per_user.c.k)
    minutes = _exact_minutes(
        scope.c.k, scope, period, sql, user_org, sa.case((internal, 0), else_=1)
    )
    return [
        *db.session.execute(figures),
        *db.session.execute(users),
        *({"k": k, "effective_min": m[0], "external_min": m[1]} for k, m in minutes.items()),
    ]


def _usage_rollup(scope, period: Period, sql: Dialect):
    """What `_usage` gives, from the daily rollup: rows of the period's days, and the rows
    of records crossing a bound of the period counted in proportion to their time inside."""
    user_org = so.aliased(Organisation, name="user_org")
    internal = internal_to(user_org, scope.c.lab_id, scope.c.host_id)
    served = UsageDay.user_org_id != scope.c.lab_id
    overlaps = (UsageDay.day < period.end, UsageDay.last_day >= period.start)

    def base(*columns):
        return (
            sa.select(*columns)
            .select_from(UsageDay)
            .join(scope, scope.c.unit_id == UsageDay.unit_id)
            .join(user_org, user_org.id == UsageDay.user_org_id)
            .where(*overlaps)
        )

    per_org = (
        base(
            scope.c.k,
            UsageDay.user_org_id,
            sa.func.max(sa.case((served, 1), else_=0)).label("served"),
            sa.func.max(sa.case((internal, 0), else_=1)).label("ext"),
            sa.func.max(sa.case((user_org.is_sme.is_(True), 1), else_=0)).label("sme"),
        )
        .group_by(scope.c.k, UsageDay.user_org_id)
        .subquery("per_org")
    )
    external = per_org.c.ext == 1
    figures = sa.select(
        per_org.c.k,
        sa.func.sum(per_org.c.served).label("orgs"),
        sa.func.sum(per_org.c.ext).label("ext_orgs"),
        sa.func.sum(sa.case((sa.and_(external, per_org.c.sme == 1), 1), else_=0)).label("smes"),
    ).group_by(per_org.c.k)
    per_user = (
        sa.select(scope.c.k, UsageDay.person_id)
        .select_from(UsageDay)
        .join(scope, scope.c.unit_id == UsageDay.unit_id)
        .where(*overlaps, served, UsageDay.person_id.is_not(None))
        .group_by(scope.c.k, UsageDay.person_id)
        .subquery("per_user")
    )
    users = sa.select(per_user.c.k, sa.func.count().label("users")).group_by(per_user.c.k)
    ext = sa.case((internal, 0), else_=1)
    whole = sa.and_(UsageDay.day >= period.start, UsageDay.last_day < period.end)
    result: dict[Any, list[Fraction]] = {}
    summed = base(
        scope.c.k.label("key"),
        sa.func.sum(UsageDay.minutes).label("m"),
        sa.func.sum(sa.case((ext == 1, UsageDay.minutes), else_=0)).label("ext_m"),
    ).where(whole)
    for row in db.session.execute(summed.group_by(scope.c.k)):
        result[row.key] = [Fraction(int(row.m or 0)), Fraction(int(row.ext_m or 0))]
    crossing = base(
        scope.c.k.label("key"),
        UsageDay.minutes.label("m"),
        ext.label("ext"),
        sql.epoch(UsageDay.started_dt).label("s"),
        sql.epoch(UsageDay.ended_dt).label("e"),
    ).where(sa.not_(whole))
    p0, p1 = period.start_epoch, period.end_epoch
    for row in db.session.execute(crossing):
        start, end = Fraction(row.s), Fraction(row.e)
        inside = int(row.m) * (min(end, p1) - max(start, p0)) / (end - start)
        sums = result.setdefault(row.key, [Fraction(0), Fraction(0)])
        sums[0] += inside
        if row.ext == 1:
            sums[1] += inside
    return [
        *db.session.execute(figures),
        *db.session.execute(users),
        *({"k": k, "effective_min": m[0], "external_min": m[1]} for k, m in result.items()),
    ]


def _exact_minutes(key, scope, period: Period, sql: Dialect, user_org, ext) -> dict:
    """Effective and external minutes per `key`, exactly: records wholly inside the
    period are summed in SQL (integers); the few crossing a bound are read one by one and
    add the Fraction of their minutes inside (in proportion to their time inside)."""
    minutes = UsageRecord.prep_minutes + UsageRecord.run_minutes + UsageRecord.post_minutes
    whole = sa.and_(
        UsageRecord.started_dt >= period.start_dt, UsageRecord.ended_dt <= period.end_dt
    )

    def base(*columns):
        return (
            sa.select(key.label("key"), *columns)
            .select_from(UsageRecord)
            .join(scope, scope.c.unit_id == UsageRecord.unit_id)
            .join(user_org, user_org.id == UsageRecord.user_org_id)
            .where(*_usage_in(period))
        )

    result: dict[Any, list[Fraction]] = {}
    summed = base(
        sa.func.sum(minutes).label("m"),
        sa.func.sum(sa.case((ext == 1, minutes), else_=0)).label("ext_m"),
    ).where(whole)
    for row in db.session.execute(summed.group_by(key)):
        result[row.key] = [Fraction(int(row.m or 0)), Fraction(int(row.ext_m or 0))]
    crossing = base(
        minutes.label("m"),
        ext.label("ext"),
        sql.epoch(UsageRecord.started_dt).label("s"),
        sql.epoch(UsageRecord.ended_dt).label("e"),
    ).where(sa.not_(whole))
    p0, p1 = period.start_epoch, period.end_epoch
    for row in db.session.execute(crossing):
        start, end = Fraction(row.s), Fraction(row.e)
        inside = int(row.m) * (min(end, p1) - max(start, p0)) / (end - start)
        sums = result.setdefault(row.key, [Fraction(0), Fraction(0)])
        sums[0] += inside
        if row.ext == 1:
            sums[1] += inside
    return result


def _booked(scope, period: Period, sql: Dialect):
    start, end = sql.epoch(Booking.starts_dt), sql.epoch(Booking.ends_dt)
    clipped = sql.least(end, num(period.end_epoch)) - sql.greatest(start, num(period.start_epoch))
    query = (
        sa.select(scope.c.k, sa.func.sum(clipped).label("booked_s"))
        .select_from(Booking)
        .join(scope, scope.c.unit_id == Booking.unit_id)
        .where(
            one_of(Booking.status, BOOKED),
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
            count_of(none_of(Booking.status, NOT_REQUESTED)).label("requested"),
            count_of(Booking.status == BookingStatus.CANCELLED).label("cancelled"),
            count_of(Booking.status == BookingStatus.NO_SHOW).label("no_shows"),
            count_of(one_of(Booking.status, CAME)).label("came"),
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
        sa.select(
            ranked.c.k,
            sa.func.sum(ranked.c.s).label("response_s"),
            sa.func.count().label("responses"),
        )
        .where(ranked.c.rn * 2 >= ranked.c.n, ranked.c.rn * 2 <= ranked.c.n + 2)
        .group_by(ranked.c.k)
    )
    return db.session.execute(query).all()


def _ratings(scope, period: Period):
    query = (
        sa.select(
            scope.c.k,
            sa.func.sum(Rating.score).label("score_sum"),
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
    lab, customer = so.aliased(Organisation, name="inv_lab"), so.aliased(Organisation)
    internal = internal_to(customer, Invoice.lab_id, lab.host_org_id)
    query = (
        query.join(lab, lab.id == Invoice.lab_id)
        .join(customer, customer.id == Invoice.customer_org_id)
        .add_columns(
            sa.func.sum(sa.case((internal, Invoice.net_total), else_=0)).label("rev_int"),
            sa.func.sum(sa.case((internal, 0), else_=Invoice.net_total)).label("rev_ext"),
        )
        .where(issued)
        .group_by(labs.c.k)
    )
    return db.session.execute(query).all()


@dataclass(frozen=True)
class Served:
    """Organisations served from one cluster of customers, and their exact minutes."""

    cluster_id: int | None
    orgs: int
    external_orgs: int
    smes: int
    minutes: Fraction

    @property
    def hours(self):
        from sharehub.stats.figures import hours

        return hours(self.minutes)


def served_by_cluster(start: date, end: date, filters: Filters | None = None) -> list[Served]:
    """Organisations served (never the lab itself; external: not on the lab's host side
    either) and their effective minutes, by the cluster of the customer (None: customers
    outside any cluster), most minutes first."""
    period, sql = Period(start, end), Dialect()
    scope = unit_scope("all", filters or Filters())
    user_org = so.aliased(Organisation, name="user_org")
    internal = internal_to(user_org, scope.c.lab_id, scope.c.host_id)
    served = UsageRecord.user_org_id != scope.c.lab_id
    external = sa.and_(served, sa.case((internal, 0), else_=1) == 1)
    query = (
        sa.select(
            user_org.cluster_id,
            sa.func.count(sa.distinct(sa.case((served, UsageRecord.user_org_id)))).label("orgs"),
            sa.func.count(sa.distinct(sa.case((external, UsageRecord.user_org_id)))).label(
                "external_orgs"
            ),
            sa.func.count(
                sa.distinct(sa.case((sa.and_(external, user_org.is_sme.is_(True)), user_org.id)))
            ).label("smes"),
        )
        .select_from(UsageRecord)
        .join(scope, scope.c.unit_id == UsageRecord.unit_id)
        .join(user_org, user_org.id == UsageRecord.user_org_id)
        .where(*_usage_in(period))
        .group_by(user_org.cluster_id)
    )
    minutes = _exact_minutes(
        user_org.cluster_id, scope, period, sql, user_org, sa.case((internal, 0), else_=1)
    )
    rows = [
        Served(r.cluster_id, r.orgs, r.external_orgs, r.smes, minutes.get(r.cluster_id, [0])[0])
        for r in db.session.execute(query)
    ]
    rows.sort(key=lambda r: (-r.minutes, r.cluster_id is None, r.cluster_id or 0))
    return rows


def _usage_in(period: Period) -> list:
    """Complete records of the period that count: a corrected record gives way to the
    latest record of its line of corrections."""
    return [
        UsageRecord.is_current(),
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
