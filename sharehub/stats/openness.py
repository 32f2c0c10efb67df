"""Open in fact: how open a lab's units really are to outsiders, beside the declared
opening hours.

Per group (lab or unit) over the local days [start, end):
- open share: of the declared opening time (opening hours of active units, holidays and
  make-up days as in the sharing metrics), the part outsiders could book: minus outages
  inside the opening hours and minus the time internal users' bookings held (pending,
  confirmed, in progress, completed, no-show), clipped to the period. Internal bookings that
  fall on an outage are subtracted once each, so the share errs low, never high; it never
  goes below 0.
- declined share: of the booking requests of external organisations made in the period,
  those the lab declined.
- median wait: of those external requests, the time from the request to the start of the
  slot booked (the first free slot the customer took), as the median (the mean of the two
  middle ones for an even count).

Exact (seconds as integers, shares and the median as Fractions); rounded once for display
by `shown`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.accounts.models import Organisation
from sharehub.booking.models import Booking, BookingStatus
from sharehub.extensions import db
from sharehub.stats.figures import round_half_up
from sharehub.stats.metrics import BOOKED, _available
from sharehub.stats.sql import Dialect, Filters, Period, internal_to, num, unit_scope

HELD = (BookingStatus.PENDING, *BOOKED)
LEVELS = ("lab", "unit")


@dataclass(frozen=True)
class Openness:
    opening_s: int
    outage_s: int
    internal_s: int
    external_requests: int
    declined: int
    waits_s: tuple[int, ...]

    @property
    def open_s(self) -> int:
        return max(0, self.opening_s - self.outage_s - self.internal_s)

    @property
    def open_share(self) -> Fraction | None:
        return Fraction(self.open_s, self.opening_s) if self.opening_s else None

    @property
    def declined_share(self) -> Fraction | None:
        if not self.external_requests:
            return None
        return Fraction(self.declined, self.external_requests)

    @property
    def median_wait_hours(self) -> Fraction | None:
        waits = sorted(self.waits_s)
        if not waits:
            return None
        middle = len(waits) // 2
        seconds = (
            Fraction(waits[middle])
            if len(waits) % 2
            else Fraction(waits[middle - 1] + waits[middle], 2)
        )
        return seconds / 3600

    def shown(self) -> dict[str, Any]:
        """Rounded once: percentages to 1 decimal, hours to 1 decimal."""

        def pct(value):
            return None if value is None else round_half_up(value * 100, 1)

        wait = self.median_wait_hours
        return {
            "opening_hours": round_half_up(Fraction(self.opening_s, 3600), 1),
            "open_hours": round_half_up(Fraction(self.open_s, 3600), 1),
            "open_percent": pct(self.open_share),
            "external_requests": self.external_requests,
            "declined": self.declined,
            "declined_percent": pct(self.declined_share),
            "median_wait_hours": None if wait is None else round_half_up(wait, 1),
        }


def open_in_fact(
    start: date, end: date, level: str = "lab", filters: Filters | None = None
) -> dict[Any, Openness]:
    """The figures per lab or unit (keyed by id) over the local days [start, end)."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    period, sql = Period(start, end), Dialect()
    scope = unit_scope(level, filters or Filters())
    raw: dict[Any, dict[str, Any]] = {}
    for row in _available(scope, period, sql):
        values = row._asdict()
        raw.setdefault(values.pop("k"), {}).update(values)

    customer = so.aliased(Organisation, name="customer")
    internal = internal_to(customer, scope.c.lab_id, scope.c.host_id)
    start_s, end_s = sql.epoch(Booking.starts_dt), sql.epoch(Booking.ends_dt)
    clipped = sql.least(end_s, num(period.end_epoch)) - sql.greatest(
        start_s, num(period.start_epoch)
    )
    held = (
        sa.select(scope.c.k, sa.func.sum(clipped).label("internal_s"))
        .select_from(Booking)
        .join(scope, scope.c.unit_id == Booking.unit_id)
        .join(customer, customer.id == Booking.customer_org_id)
        .where(
            scope.c.is_active.is_(True),
            internal,
            Booking.status.in_(HELD),
            Booking.starts_dt < period.end_dt,
            Booking.ends_dt > period.start_dt,
        )
        .group_by(scope.c.k)
    )
    for k, seconds in db.session.execute(held):
        raw.setdefault(k, {})["internal_s"] = seconds

    wait = sql.epoch(Booking.starts_dt) - sql.epoch(Booking.created_dt)
    requests = (
        sa.select(scope.c.k, Booking.status, wait.label("wait"))
        .select_from(Booking)
        .join(scope, scope.c.unit_id == Booking.unit_id)
        .join(customer, customer.id == Booking.customer_org_id)
        .where(
            sa.case((internal, 0), else_=1) == 1,  # NULL-safe: the host may be unknown
            Booking.created_dt >= period.start_dt,
            Booking.created_dt < period.end_dt,
        )
    )
    waits: dict[Any, list[int]] = {}
    for k, status, seconds in db.session.execute(requests):
        values = raw.setdefault(k, {})
        values["external_requests"] = values.get("external_requests", 0) + 1
        if status == BookingStatus.DECLINED:
            values["declined"] = values.get("declined", 0) + 1
        waits.setdefault(k, []).append(max(0, int(seconds)))
    return {
        k: Openness(
            opening_s=int(v.get("opening_s") or 0),
            outage_s=int(v.get("outage_s") or 0),
            internal_s=int(v.get("internal_s") or 0),
            external_requests=int(v.get("external_requests") or 0),
            declined=int(v.get("declined") or 0),
            waits_s=tuple(waits.get(k, ())),
        )
        for k, v in raw.items()
    }
