"""Rounding the exact figures once, for display.

The metrics are exact (integer minutes, seconds and fen; ratios as Fractions). Pages, the
API and the exports all show the figures rounded here, once, half up: hours to 2 decimals,
rates as fractions to 4 decimals (percentages to 2), mean ratings to 2 decimals and the
median response to 1 decimal. A part shown beside its total is the total minus the other
part, so internal + external hours add up to the effective hours on every page and file.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

HOURS = ("available_hours", "booked_hours", "effective_hours", "external_hours", "rated_hours")
RATES = (
    "share_rate",
    "utilisation_rated",
    "utilisation_available",
    "revenue_rate",
    "cancellation_rate",
    "no_show_rate",
    "on_time_rate",
)
PLACES = {**dict.fromkeys(HOURS, 2), **dict.fromkeys(RATES, 4)}
PLACES.update(satisfaction=2, median_response_minutes=1, median_turnaround_days=1)


def exact(value) -> Fraction:
    """A number as a Fraction without loss (floats only ever hold whole seconds here)."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, Decimal | int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(value)
    return Fraction(str(value))


def round_half_up(value, places: int) -> Decimal:
    """`value` rounded half away from zero to `places` decimals, in integer arithmetic."""
    q = exact(value) * 10**places
    sign = -1 if q < 0 else 1
    q = abs(q)
    n = (2 * q.numerator + q.denominator) // (2 * q.denominator)
    return Decimal(sign * n).scaleb(-places)


def shown(figures: dict) -> dict:
    """The figures as shown: every fractional figure rounded once (None stays None);
    internal hours are the shown effective hours minus the shown external hours."""
    out = dict(figures)
    for key, places in PLACES.items():
        if out.get(key) is not None:
            out[key] = round_half_up(out[key], places)
    if "effective_hours" in out and "external_hours" in out:
        out["internal_hours"] = out["effective_hours"] - out["external_hours"]
    return out


def hours(minutes) -> Decimal:
    """Minutes as hours to 2 decimals."""
    return round_half_up(exact(minutes) / 60, 2)
