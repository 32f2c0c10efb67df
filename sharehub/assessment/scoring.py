"""Points, grades and ranks from metric values: pure functions, so a scheme can be checked
by hand against a plain dict of figures."""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass
class Line:
    indicator: Indicator
    value: float | None
    points: float
    working: str


@dataclass
class Result:
    lines: list[Line] = field(default_factory=list)
    total: float = 0.0
    groups: dict[str, float] = field(default_factory=dict)


def _fmt(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def metric_value(metrics: dict, name: str) -> float | None:
    if name in PER_UNIT:
        total, units = metrics.get(PER_UNIT[name]), metrics.get("unit_count")
        if total is None or not units:
            return None
        return total / units
    value = metrics.get(name)
    return None if value is None else float(value)


def metric_points(ind: Indicator, value: float | None) -> tuple[float, str]:
    """points = min(cap, weight × value ÷ target), not below 0, to 2 decimals."""
    if value is None:
        return 0.0, "no value → 0"
    raw = ind.weight * value / ind.target
    points = round(max(0.0, min(ind.cap, raw)), 2)
    return points, (
        f"min({_fmt(ind.cap)}, {_fmt(ind.weight)} × {_fmt(round(value, 4))} ÷ {_fmt(ind.target)})"
        f" = {_fmt(points)}"
    )


def reviewed_points(ind: Indicator, scores: list[float]) -> tuple[float | None, float, str]:
    """The mean of the reviewers' points, capped; no review gives 0."""
    if not scores:
        return None, 0.0, "no review → 0"
    mean = sum(scores) / len(scores)
    points = round(max(0.0, min(ind.cap, mean)), 2)
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
        result.groups[ind.group] = round(result.groups.get(ind.group, 0.0) + points, 2)
    result.total = round(sum(line.points for line in result.lines), 2)
    return result


def grade(bands: list[dict], total: float) -> dict:
    """The first band, highest minimum first, whose minimum the total reaches."""
    for band in sorted(bands, key=lambda b: b["min"], reverse=True):
        if total >= band["min"]:
            return band
    return {"min": 0, "name": "—", "name_en": "—"}


def rank(entries: list[tuple[int, float, float]]) -> dict[int, int]:
    """Competition ranking (1, 2, 2, 4) of (lab id, total, tie-break score): higher total
    first, equal totals by the tie-break score; equal on both share the rank."""
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
