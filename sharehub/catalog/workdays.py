"""Working days of mainland China: Monday to Friday, less the State Council's days off,
plus its make-up working days (调休), as kept in the holiday table."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from sharehub.catalog.models import Holiday
from sharehub.extensions import db


def _special_days(first: date, last: date) -> dict[date, bool]:
    rows = db.session.execute(
        sa.select(Holiday.day, Holiday.is_workday).where(Holiday.day.between(first, last))
    ).all()
    return {day: is_workday for day, is_workday in rows}


def is_workday(day: date, special: dict[date, bool] | None = None) -> bool:
    if special is None:
        special = _special_days(day, day)
    if day in special:
        return special[day]
    return day.weekday() < 5


def add_workdays(day: date, count: int) -> date:
    """The working day `count` working days after `day` (`day` itself not counted):
    a turnaround of 5 working days from a Friday receipt ends on the next Friday."""
    if count <= 0:
        return day
    special = _special_days(day, day + timedelta(days=count * 2 + 40))
    current, left = day, count
    while left:
        current += timedelta(days=1)
        if is_workday(current, special):
            left -= 1
    return current


def workdays_between(first: date, last: date) -> int:
    """Working days after `first` up to and including `last` (0 when last <= first)."""
    if last <= first:
        return 0
    special = _special_days(first, last)
    return sum(
        1
        for n in range(1, (last - first).days + 1)
        if is_workday(first + timedelta(days=n), special)
    )
