"""What the statistics pages show: the period chosen in the URL, its trend buckets, the
tables of figures with names and ranks, and the rows the exports stream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Cluster, Organisation, OrgKind, OrgStatus, Region
from sharehub.catalog.models import FIELD_LABELS, Field, Listing, Unit
from sharehub.extensions import db
from sharehub.stats.figures import shown
from sharehub.stats.metrics import empty, metrics, trend_series
from sharehub.stats.sql import Filters

PERIOD_KINDS = ("month", "quarter", "year", "range")
LEVEL_LABELS = {
    "lab": _l("Laboratory"),
    "cluster": _l("Industrial cluster"),
    "region": _l("Province"),
    "field": _l("Field"),
    "listing": _l("Listing"),
    "unit": _l("Unit"),
}

# (key, heading, format) — one list for the pages and the exports.
COLUMNS = [
    ("effective_hours", _l("Effective hours"), "hours"),
    ("external_hours", _l("External service hours"), "hours"),
    ("booked_hours", _l("Booked hours"), "hours"),
    ("available_hours", _l("Available hours"), "hours"),
    ("share_rate", _l("Share rate"), "rate"),
    ("utilisation_rated", _l("Utilisation (rated hours)"), "rate"),
    ("utilisation_available", _l("Utilisation (available hours)"), "rate"),
    ("orgs_served", _l("Organisations served"), "int"),
    ("external_orgs_served", _l("External organisations"), "int"),
    ("sme_served", _l("SMEs served"), "int"),
    ("users_served", _l("Users served"), "int"),
    ("revenue_internal_fen", _l("Internal revenue"), "money"),
    ("revenue_external_fen", _l("External revenue"), "money"),
    ("revenue_rate", _l("Revenue rate"), "rate"),
    ("satisfaction", _l("Satisfaction"), "score"),
    ("median_response_minutes", _l("Median response (min)"), "minutes"),
    ("cancellation_rate", _l("Cancellation rate"), "rate"),
    ("no_show_rate", _l("No-show rate"), "rate"),
    ("unit_count", _l("Units"), "int"),
    ("orders", _l("Testing orders"), "int"),
    ("samples_received", _l("Samples received"), "int"),
    ("reports_issued", _l("Reports issued"), "int"),
    ("on_time_rate", _l("Reports on time"), "rate"),
    ("median_turnaround_days", _l("Median turnaround (working days)"), "days"),
    ("testing_revenue_fen", _l("Testing income"), "money"),
]
SORTABLE = {key for key, _label, _fmt in COLUMNS}
# Commissioned testing is counted per laboratory (an order is not a unit's or a listing's).
TESTING_KEYS = frozenset(
    {
        "orders",
        "samples_received",
        "reports_issued",
        "on_time_rate",
        "median_turnaround_days",
        "testing_revenue_fen",
    }
)


def columns_for(level: str) -> list:
    """The table's columns at `level`: the testing figures only for whole laboratories."""
    if level in ("unit", "listing", "field"):
        return [c for c in COLUMNS if c[0] not in TESTING_KEYS]
    return COLUMNS


@dataclass
class PeriodChoice:
    """A month, quarter, year or range of local days [start, end) chosen in the URL."""

    kind: str
    start: date
    end: date
    errors: list = field(default_factory=list)

    @property
    def args(self) -> dict:
        if self.kind == "range":
            return {
                "period": "range",
                "from": self.start.isoformat(),
                "to": (self.end - timedelta(days=1)).isoformat(),
            }
        args: dict[str, Any] = {"period": self.kind, "year": self.start.year}
        if self.kind == "month":
            args["month"] = self.start.month
        if self.kind == "quarter":
            args["quarter"] = (self.start.month - 1) // 3 + 1
        return args

    @property
    def label(self) -> str:
        last = self.end - timedelta(days=1)
        if self.kind == "year":
            return str(self.start.year)
        if self.kind == "quarter":
            return f"{self.start.year} Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "month":
            return format_date(self.start, "yyyy-MM")
        return f"{self.start.isoformat()} – {last.isoformat()}"

    @classmethod
    def from_args(cls, args, today: date) -> PeriodChoice:
        """Read the period; a bad value is reported and the current year shown instead."""
        kind = args.get("period", "year")
        errors: list = []
        kind = kind if kind in PERIOD_KINDS else "year"
        year = args.get("year", today.year, type=int)
        if not 2000 <= year <= 2100:
            errors.append(_l("Choose a year between 2000 and 2100."))
            year = today.year
        if kind == "month":
            month = args.get("month", today.month, type=int)
            if not 1 <= month <= 12:
                errors.append(_l("A month is 1 to 12."))
                month = today.month
            start = date(year, month, 1)
            return cls(kind, start, _add_months(start, 1), errors)
        if kind == "quarter":
            quarter = args.get("quarter", (today.month - 1) // 3 + 1, type=int)
            if not 1 <= quarter <= 4:
                errors.append(_l("A quarter is 1 to 4."))
                quarter = 1
            start = date(year, 3 * quarter - 2, 1)
            return cls(kind, start, _add_months(start, 3), errors)
        if kind == "range":
            try:
                first = date.fromisoformat(args.get("from", ""))
                last = date.fromisoformat(args.get("to", ""))
            except ValueError:
                errors.append(_l("Dates are written as YYYY-MM-DD."))
            else:
                if last < first:
                    errors.append(_l("The end date is before the start date."))
                elif (last - first).days > 366 * 5:
                    errors.append(_l("A range covers at most five years."))
                else:
                    return cls(kind, first, last + timedelta(days=1), errors)
        return cls("year", date(year, 1, 1), date(year + 1, 1, 1), errors)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def buckets(choice: PeriodChoice) -> list[tuple[date, date]]:
    """Trend steps: months for periods over two months, else weeks (clipped)."""
    result = []
    if (choice.end - choice.start).days > 62:
        cursor = choice.start
        while cursor < choice.end:
            following = min(_add_months(cursor.replace(day=1), 1), choice.end)
            result.append((cursor, following))
            cursor = following
        return result
    cursor = choice.start
    while cursor < choice.end:
        following = min(cursor + timedelta(days=7 - cursor.weekday()), choice.end)
        result.append((cursor, following))
        cursor = following
    return result


def trend(choice: PeriodChoice, filters: Filters) -> list[dict]:
    """The figures of everything in `filters` per trend step, as shown."""
    points = []
    for start, end in buckets(choice):
        figures = metrics(start, end, "all", filters).get(0) or empty(start, end)
        points.append({"start": start, "end": end, **shown(figures)})
    return points


def chart_trend(choice: PeriodChoice, filters: Filters) -> list[dict]:
    """What the trend charts show per step (effective, external and available hours,
    utilisation against available hours), as `trend` gives them, in a few statements
    for all the steps rather than the whole set of figures step by step."""
    steps = buckets(choice)
    return [
        {"start": start, "end": end, **shown(figures)}
        for (start, end), figures in zip(steps, trend_series(steps, filters), strict=True)
    ]


def totals(choice: PeriodChoice, filters: Filters) -> dict:
    """The figures of everything in `filters` over the period, as shown."""
    return shown(
        metrics(choice.start, choice.end, "all", filters).get(0) or empty(choice.start, choice.end)
    )


def names(level: str, keys) -> dict:
    """Display names (both languages) of the groups of a level."""
    keys = [k for k in keys if k is not None]
    if level == "field":
        return {k: {"name": str(FIELD_LABELS[Field(k)]), "name_en": ""} for k in keys}
    if not keys:
        return {}
    if level == "unit":
        rows = db.session.execute(
            sa.select(Unit.id, Unit.name, Listing.name, Listing.name_en, Listing.lab_id)
            .join(Listing, Listing.id == Unit.listing_id)
            .where(Unit.id.in_(keys))
        )
        return {
            r[0]: {"name": f"{r[2]} {r[1]}", "name_en": f"{r[3] or r[2]} {r[1]}", "lab_id": r[4]}
            for r in rows
        }
    model = {"listing": Listing, "lab": Organisation, "cluster": Cluster, "region": Region}[level]
    rows = db.session.execute(
        sa.select(model.id, model.name, model.name_en).where(model.id.in_(keys))
    )
    return {r[0]: {"name": r[1], "name_en": r[2] or ""} for r in rows}


def table(
    choice: PeriodChoice, level: str, filters: Filters, sort: str = "effective_hours"
) -> list[dict]:
    """One row per group with its name and rank by `sort` (highest first, on the exact
    figures), its figures as shown."""
    figures = metrics(choice.start, choice.end, level, filters)
    labels = names(level, figures)
    sort = sort if sort in SORTABLE else "effective_hours"
    rows = [{"key": key, **labels.get(key, {}), **values} for key, values in figures.items()]
    rows.sort(key=lambda r: (r[sort] is None, -(r[sort] or 0), str(r.get("name", ""))))
    rows = [shown(row) for row in rows]
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows


def lab_ids(filters: Filters) -> list[int]:
    """Ids of the laboratories in scope (for exports that work a chunk of labs at a time)."""
    query = sa.select(Organisation.id).where(Organisation.kind == OrgKind.LAB)
    if filters.lab_ids is not None:
        query = query.where(Organisation.id.in_(list(filters.lab_ids)))
    else:
        query = query.where(Organisation.status.not_in((OrgStatus.PENDING, OrgStatus.REJECTED)))
    if filters.cluster_id:
        query = query.where(Organisation.cluster_id == filters.cluster_id)
    if filters.region_id:
        query = query.where(
            Organisation.region_id.in_(
                sa.select(Region.id).where(
                    sa.or_(Region.id == filters.region_id, Region.parent_id == filters.region_id)
                )
            )
        )
    return list(db.session.scalars(query.order_by(Organisation.id)))


def iter_table(
    choice: PeriodChoice, level: str, filters: Filters, chunk: int = 50
) -> Iterator[dict]:
    """The rows of `table` (as shown), unranked, a chunk of labs at a time for the levels below all
    labs, so an export of every unit never holds every unit's figures at once."""
    if level not in ("unit", "listing", "lab"):
        yield from table(choice, level, filters)
        return
    ids = lab_ids(filters)
    for n in range(0, len(ids), chunk):
        part = Filters(**{**filters.__dict__, "lab_ids": ids[n : n + chunk]})
        figures = metrics(choice.start, choice.end, level, part)
        labels = names(level, figures)
        for key in sorted(figures, key=lambda k: (k is None, k)):
            yield {"key": key, **labels.get(key, {}), **shown(figures[key])}
