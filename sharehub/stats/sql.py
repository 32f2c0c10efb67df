"""SQL building blocks the metrics share: the few expressions SQLite and PostgreSQL spell
differently, the local-day bounds of a period, and the scope of units being measured."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.accounts.models import Organisation, OrgKind, OrgStatus, Region
from sharehub.catalog.models import Listing, ListingKind, Unit
from sharehub.core.clock import LAB_TZ
from sharehub.extensions import db

# China has kept UTC+8 without daylight saving since 1991, so a local day is always
# 86,400 s long and starts at 16:00 UTC the day before.
DAY = 86_400
LEVELS = ("unit", "listing", "lab", "cluster", "region", "field", "all")
LAB_LEVELS = ("lab", "cluster", "region", "all")  # whole laboratories
HOURLY_KINDS = (ListingKind.EQUIPMENT, ListingKind.EXPERT)


@dataclass(frozen=True)
class Filters:
    """What to measure. `region_id` may be a province or a city; `field` a Field value."""

    lab_ids: Sequence[int] | None = None
    cluster_id: int | None = None
    region_id: int | None = None
    field: str | None = None
    listing_id: int | None = None
    unit_id: int | None = None

    @property
    def below_lab(self) -> bool:
        """Filters that pick part of a lab: invoices not tied to a booking cannot follow."""
        return bool(self.field or self.listing_id or self.unit_id)


@dataclass(frozen=True)
class Period:
    """Local days [start, end) in Asia/Shanghai, with their UTC bounds."""

    start: date
    end: date

    def __post_init__(self):
        if self.end <= self.start:
            raise ValueError("a period ends after it starts")

    @property
    def start_dt(self) -> datetime:
        return datetime.combine(self.start, time(), LAB_TZ).astimezone(UTC)

    @property
    def end_dt(self) -> datetime:
        return datetime.combine(self.end, time(), LAB_TZ).astimezone(UTC)

    @property
    def start_epoch(self) -> int:
        return int(self.start_dt.timestamp())

    @property
    def end_epoch(self) -> int:
        return int(self.end_dt.timestamp())

    @property
    def days(self) -> int:
        return (self.end - self.start).days


class Dialect:
    """Expressions written once for both databases."""

    def __init__(self):
        self.pg = db.session.get_bind().dialect.name == "postgresql"

    def epoch(self, column):
        """Seconds since 1970 of a UTC datetime column, as a float. PostgreSQL's
        date_part gives double precision (EXTRACT gives numeric, several times slower over
        a million rows); whole seconds are exact in a double either way."""
        if self.pg:
            return sa.func.date_part("epoch", column, type_=sa.Float)
        return sa.cast(sa.func.strftime("%s", column), sa.Float)

    def least(self, a, b):
        return sa.func.least(a, b) if self.pg else sa.func.min(a, b)

    def greatest(self, a, b):
        return sa.func.greatest(a, b) if self.pg else sa.func.max(a, b)

    def day_index(self, column, start: date):
        """Days from `start` to a DATE column."""
        if self.pg:
            return column - sa.literal(start, sa.Date)
        return sa.cast(sa.func.julianday(column) - sa.func.julianday(start.isoformat()), sa.Integer)


def internal_to(org, lab_id, host_id):
    """SQL: use by `org` (an Organisation alias) counts as internal for the lab `lab_id`
    whose host is `host_id`: the lab itself, its host, or another unit of that host."""
    return sa.or_(
        org.id == lab_id,
        sa.and_(host_id.is_not(None), sa.or_(org.id == host_id, org.host_org_id == host_id)),
    )


def one_of(column, values) -> sa.ColumnElement:
    """`column IN (values)` for a few fixed values, written as comparisons: an IN list is
    an expanding parameter, which makes every execution re-render the statement's SQL
    (milliseconds for the long statements of the metrics)."""
    return sa.or_(*(column == value for value in values))


def none_of(column, values) -> sa.ColumnElement:
    return sa.and_(*(column != value for value in values))


def num(value: int) -> sa.ColumnElement:
    return sa.literal(value, sa.BigInteger)


def _lab_key(level: str, lab, region):
    return {
        "lab": lab.id,
        "cluster": lab.cluster_id,
        "region": sa.func.coalesce(region.parent_id, region.id),
        "all": sa.literal(0),
    }[level]


def _lab_filters(query, filters: Filters, lab, region):
    if filters.lab_ids is not None:
        # Ids alone: adding kind = 'lab' would only make PostgreSQL multiply two
        # selectivities and expect a handful of rows (then choose nested loops).
        query = query.where(lab.id.in_(list(filters.lab_ids)))
    else:  # admitted labs (active, rectifying, suspended or revoked: their history stays)
        query = query.where(
            lab.kind == OrgKind.LAB, none_of(lab.status, (OrgStatus.PENDING, OrgStatus.REJECTED))
        )
    if filters.cluster_id:
        query = query.where(lab.cluster_id == filters.cluster_id)
    if filters.region_id:
        query = query.where(
            sa.or_(region.id == filters.region_id, region.parent_id == filters.region_id)
        )
    return query


def unit_scope(level: str, filters: Filters) -> sa.CTE:
    """Units of hourly listings (equipment, expert time) in scope, with the group key `k`."""
    lab = so.aliased(Organisation, name="scope_lab")
    region = so.aliased(Region, name="scope_region")
    keys = {"unit": Unit.id, "listing": Listing.id, "field": Listing.field}
    key = keys[level] if level in keys else _lab_key(level, lab, region)
    query = (
        sa.select(
            Unit.id.label("unit_id"),
            Unit.listing_id.label("listing_id"),
            Listing.lab_id.label("lab_id"),
            lab.host_org_id.label("host_id"),
            Unit.is_active.label("is_active"),
            Listing.kind.label("kind"),
            Listing.original_value.label("original_value"),
            Listing.usage_class.label("usage_class"),
            key.label("k"),
        )
        .join(Listing, Listing.id == Unit.listing_id)
        .join(lab, lab.id == Listing.lab_id)
        .outerjoin(region, region.id == lab.region_id)
        .where(one_of(Listing.kind, HOURLY_KINDS))
    )
    query = _lab_filters(query, filters, lab, region)
    if filters.field:
        query = query.where(Listing.field == filters.field)
    if filters.listing_id:
        query = query.where(Listing.id == filters.listing_id)
    if filters.unit_id:
        query = query.where(Unit.id == filters.unit_id)
    return query.cte("scope")


def lab_scope(level: str, filters: Filters) -> sa.CTE:
    """Laboratories in scope with the group key `k` (levels lab, cluster, region, all)."""
    lab = so.aliased(Organisation, name="scope_lab")
    region = so.aliased(Region, name="scope_region")
    query = sa.select(
        lab.id.label("lab_id"),
        lab.host_org_id.label("host_id"),
        _lab_key(level, lab, region).label("k"),
    ).outerjoin(region, region.id == lab.region_id)
    return _lab_filters(query, filters, lab, region).cte("lab_scope")
