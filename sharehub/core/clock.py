"""The one place the application reads the clock.

Business days are Asia/Shanghai days: a receipt dated "today" at 05:54 Beijing time is
dated by the Beijing calendar, not by the server's (often UTC) one. Every "now" and
"today" in the application comes from here, so the test suite can run at any instant.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

LAB_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """The present instant, aware, in UTC."""
    return datetime.now(UTC)


def local_now(zone: tzinfo = LAB_TZ) -> datetime:
    """The present instant in `zone` (Asia/Shanghai unless a viewer's zone is given)."""
    return datetime.now(zone)


def local_today(zone: tzinfo = LAB_TZ) -> date:
    """Today's date in `zone`: the business day, never the server's date."""
    return datetime.now(zone).date()


def local_date(moment: datetime, zone: tzinfo = LAB_TZ) -> date:
    """The Asia/Shanghai calendar day of an aware instant."""
    return moment.astimezone(zone).date()
