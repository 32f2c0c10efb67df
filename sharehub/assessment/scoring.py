"""Points, grades and ranks from metric values: pure functions, so a scheme can be checked
by hand against a plain dict of figures.

Exact arithmetic throughout: the metric values come exact (Fractions from
sharehub.stats.metrics), scheme parameters are read as the decimals they were written as
(0.1 is one tenth, not the nearest binary float), and each indicator's points are rounded
once, half up, to 2 decimals. Group scores and the total are the sums of those points,
so the lines of a scorecard add up to its total and a total beside 60, 75 or 90 falls in
the band its points say."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from flask_babel import lazy_gettext as _l

# The sharing metrics a scheme may use (sharehub.stats.metrics.lab_metrics), and figures
# derived from them per unit, as the national scoring counts hours per instrument.
METRIC_LABELS = {
    "available_hours": _l("Available hours"),
    "booked_hours": _l("Booked hours"),
    "effective_hours": _l("Effective hours"),
    "external_hours": _l("External service hours"),
    "share_rate": _l("Share rate"),
    "utilisation_rated": _l("Utilisation against rated hours"),
    "utilisation_available": _l("Utilisation against available hours"),
    "orgs_served": _l("Organisations served"),
    "external_orgs_served": _l("External organisations served"),
    "sme_served": _l("SMEs served"),
    "users_served": _l("Users served"),
    "revenue_internal_fen": _l("Internal revenue (fen)"),
    "revenue_external_fen": _l("External revenue (fen)"),
    "revenue_rate": _l("Revenue rate"),
    "satisfaction": _l("Satisfaction (mean rating)"),
    "median_response_minutes": _l("Median response time (minutes)"),
    "cancellation_rate": _l("Cancellation rate"),
    "no_show_rate": _l("No-show rate"),
    "unit_count": _l("Units"),
    "orders": _l("Testing orders"),
    "samples_received": _l("Samples received"),
    "reports_issued": _l("Test reports issued"),
    "on_time_rate": _l("Share of test reports issued on time"),
    "testing_revenue_fen": _l("Testing income (fen)"),
    "effective_hours_per_unit": _l("Effective hours per unit"),
    "external_hours_per_unit": _l("External service hours per unit"),
}
PER_UNIT = {
    "effective_hours_per_unit": "effective_hours",
    "external_hours_per_unit": "external_hours",
}

DEFAULT_BANDS = [
    {"min": 90, "name": "优秀", "name_en": "Excellent"},
    {"min": 75, "name": "良好", "name_en": "Good"},
    {"min": 60, "name": "合格", "name_en": "Pass"},
    {"min": 0, "name": "较差", "name_en": "Poor"},
]


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    group: str
    cap: float
    weight: float = 0.0
    target: float = 1.0
    metric: str = ""
    qualitative: bool = False
    name_en: str = ""


ZERO = Decimal("0.00")


@dataclass
class Line:
    indicator: Indicator
    value: Fraction | None
    points: Decimal
    working: str


@dataclass
class Result:
    lines: list[Line] = field(default_factory=list)
    total: Decimal = ZERO
    groups: dict[str, Decimal] = field(default_factory=dict)


def exact(x) -> Fraction:
    """A number as a Fraction; a float is taken as the decimal it prints as (a scheme's
    0.1 or a stored 51.1), not as its binary approximation."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, float):
        return Fraction(Decimal(repr(x)))
    return Fraction(x)


def points_of(x) -> Decimal:
    """Points rounded once, half up, to 2 decimals."""
    from sharehub.stats.figures import round_half_up

    return round_half_up(exact(x), 2)


def _fmt(x) -> str:
    """A number for the working: at most 4 decimals (rounded half up), no trailing zeros."""
    from sharehub.stats.figures import round_half_up

    text = f"{round_half_up(exact(x), 4):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def metric_value(metrics: dict, name: str) -> Fraction | None:
    if name in PER_UNIT:
        total, units = metrics.get(PER_UNIT[name]), metrics.get("unit_count")
        if total is None or not units:
            return None
        return exact(total) / units
    value = metrics.get(name)
    return None if value is None else exact(value)


def metric_points(ind: Indicator, value) -> tuple[Decimal, str]:
    """points = min(cap, weight × value ÷ target), not below 0, to 2 decimals."""
    if value is None:
        return ZERO, "no value → 0"
    raw = exact(ind.weight) * exact(value) / exact(ind.target)
    points = points_of(max(Fraction(0), min(exact(ind.cap), raw)))
    return points, (
        f"min({_fmt(ind.cap)}, {_fmt(ind.weight)} × {_fmt(value)} ÷ {_fmt(ind.target)})"
        f" = {_fmt(points)}"
    )


def reviewed_points(ind: Indicator, scores: list[float]) -> tuple[Fraction | None, Decimal, str]:
    """The mean of the reviewers' points, capped; no review gives 0."""
    if not scores:
        return None, ZERO, "no review → 0"
    mean = sum((exact(s) for s in scores), Fraction(0)) / len(scores)
    points = points_of(max(Fraction(0), min(exact(ind.cap), mean)))
    shown = " + ".join(_fmt(s) for s in scores)
    return mean, points, f"({shown}) ÷ {len(scores)} = {_fmt(points)}"


def score(indicators: list[Indicator], metrics: dict, reviews: dict[str, list[float]]) -> Result:
    result = Result()
    for ind in indicators:
        if ind.qualitative:
            value, points, working = reviewed_points(ind, reviews.get(ind.code, []))
        else:
            value = metric_value(metrics, ind.metric)
            points, working = metric_points(ind, value)
        result.lines.append(Line(ind, value, points, working))
        result.groups[ind.group] = result.groups.get(ind.group, ZERO) + points
    result.total = sum((line.points for line in result.lines), ZERO)
    return result


def grade(bands: list[dict], total) -> dict:
    """The first band, highest minimum first, whose minimum the total reaches."""
    for band in sorted(bands, key=lambda b: exact(b["min"]), reverse=True):
        if exact(total) >= exact(band["min"]):
            return band
    return {"min": 0, "name": "—", "name_en": "—"}


def rank(entries: list[tuple[int, object, object]]) -> dict[int, int]:
    """Competition ranking (1, 2, 2, 4) of (lab id, total, tie-break score): higher total
    first, equal totals by the tie-break score; equal on both share the rank."""
    entries = [(lab_id, exact(total), exact(tie)) for lab_id, total, tie in entries]
    ordered = sorted(entries, key=lambda e: (-e[1], -e[2], e[0]))
    ranks: dict[int, int] = {}
    previous = None
    for position, (lab_id, total, tie) in enumerate(ordered, start=1):
        if previous is not None and (total, tie) == previous[1]:
            ranks[lab_id] = previous[0]
        else:
            ranks[lab_id] = position
            previous = (position, (total, tie))
    return ranks
