"""The suite's clock: every test runs at a fixed "today", whatever the real date.

SHAREHUB_TEST_NOW (an ISO 8601 instant with its offset) sets it; the default is a plain
working Wednesday morning in Beijing. `make test-dates` runs the date-sensitive tests at the
instants that broke things before (New Year's Eve, the eve of Spring Festival, a make-up
working Sunday, 29 February, 23:30 and 00:30 Beijing time when the UTC day differs).

The clock ticks from that instant, so durations and timeouts behave. Python processes the
suite starts follow the same clock (clockboot/sitecustomize.py). Tests that need the real
clock are marked `real_clock`.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import time_machine
from time_machine import escape_hatch

from sharehub.core.clock import LAB_TZ

DEFAULT_NOW = "2026-06-10T10:00:00+08:00"
BOOT_DIR = Path(__file__).with_name("clockboot")

_traveller: time_machine.travel | None = None


def suite_now() -> datetime:
    value = os.environ.get("SHAREHUB_TEST_NOW") or DEFAULT_NOW
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LAB_TZ)
    return moment


def start() -> datetime:
    """Travel to the suite's instant and put the suite's subprocesses there too."""
    global _traveller
    moment = suite_now()
    if _traveller is not None:
        return moment
    # A UTC instant: travelling to a ZoneInfo-aware one would also move the process's
    # zone (TZ), hiding the very mistakes the suite looks for (the server runs in UTC).
    _traveller = time_machine.travel(moment.astimezone(UTC), tick=True)
    _traveller.start()
    os.environ["SHAREHUB_TEST_CLOCK_OFFSET"] = repr(moment.timestamp() - escape_hatch.time.time())
    path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(BOOT_DIR) + (os.pathsep + path if path else "")
    return moment


def stop() -> None:
    global _traveller
    if _traveller is not None:
        _traveller.stop()
        _traveller = None


# --- dates for tests: always from the suite's "today" in Beijing, never the server's ---------


def today() -> date:
    """Today in Asia/Shanghai on the suite's clock."""
    return datetime.now(LAB_TZ).date()


def is_workday(day: date) -> bool:
    """A working day by the State Council schedule: weekdays that are not holidays, and
    make-up working weekends (调休)."""
    import holidays

    cn = holidays.China(years=[day.year])
    if day in cn:
        return False
    return day.weekday() < 5 or day in getattr(cn, "weekend_workdays", set())


def workday(offset_days: int = 10, weekday_only: bool = True) -> date:
    """The first working day at least `offset_days` after today. With `weekday_only`
    (the default) make-up weekends are skipped too, as lab opening hours are Mon–Fri."""
    day = today() + timedelta(days=offset_days)
    while not is_workday(day) or (weekday_only and day.weekday() >= 5):
        day += timedelta(days=1)
    return day


def workdays(count: int, offset_days: int = 10) -> list[date]:
    """`count` distinct consecutive working weekdays, the first at least `offset_days` ahead."""
    days = [workday(offset_days)]
    while len(days) < count:
        days.append(workday((days[-1] - today()).days + 1))
    return days


def weekly_workdays(count: int, offset_days: int = 10) -> date:
    """The first weekday at least `offset_days` ahead from which `count` weekly
    occurrences all fall on working weekdays."""
    day = workday(offset_days)
    while not all(is_workday(day + timedelta(weeks=k)) for k in range(count)):
        day = workday((day - today()).days + 1)
    return day


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), LAB_TZ)


def travel(moment: datetime, tick: bool = False) -> time_machine.travel:
    """Move the suite's clock to an instant, keeping the server's zone (UTC)."""
    return time_machine.travel(moment.astimezone(UTC), tick=tick)
