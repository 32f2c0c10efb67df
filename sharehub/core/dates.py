"""Dates and times as people of each language write them: one style per language.

Chinese: "12月7日 星期一 10:30", a month "2026年12月", a range "11月30日–12月6日"; the year is
written only when it is not the current one. English: Babel's medium date ("Dec 7, 2026") and
short time ("10:30 AM"). Values of inputs and exports stay ISO and do not come through here.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from babel.dates import format_date, format_interval, format_skeleton, format_time
from flask_babel import get_locale, gettext

from sharehub.core.clock import local_today


def _locale() -> str:
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh_CN"


def _local(value: datetime) -> datetime:
    """An aware instant in the viewer's zone (naive values are taken as already local)."""
    if value.tzinfo is None:
        return value
    from sharehub.core.i18n import user_zone

    try:
        return value.astimezone(user_zone())
    except RuntimeError:  # outside an application context
        return value


def _day(value: date | datetime) -> date:
    return _local(value).date() if isinstance(value, datetime) else value


def _zh_day(day: date, weekday: bool = False, year: bool | None = None) -> str:
    if year is None:
        year = day.year != local_today().year
    text = f"{day.year}年{day.month}月{day.day}日" if year else f"{day.month}月{day.day}日"
    if weekday:
        text += " " + format_date(day, "EEEE", locale="zh_CN")
    return text


def format_day(value: date | datetime | None, weekday: bool = False) -> str:
    """A calendar day: "12月7日 星期一" / "Mon, Dec 7, 2026"."""
    if value is None:
        return "—"
    day = _day(value)
    if _locale() == "zh_CN":
        return _zh_day(day, weekday)
    return format_skeleton("yMMMEd" if weekday else "yMMMd", day, locale="en")


def format_day_short(value: date | datetime | None) -> str:
    """A day in a calendar grid, without the year: "12月7日 周一" / "Mon, Dec 7"."""
    if value is None:
        return "—"
    day = _day(value)
    if _locale() == "zh_CN":
        return f"{day.month}月{day.day}日 " + format_date(day, "EEE", locale="zh_CN")
    return format_skeleton("MMMEd", day, locale="en")


def format_clock(value: datetime | time | None) -> str:
    """A time of day: "10:30" / "10:30 AM"."""
    if value is None:
        return "—"
    moment = _local(value) if isinstance(value, datetime) else value
    if _locale() == "zh_CN":
        return f"{moment.hour:02d}:{moment.minute:02d}"
    return format_time(moment, "short", locale="en")


def format_moment(value: datetime | None, weekday: bool = False) -> str:
    """A day and a time: "12月7日 星期一 10:30" / "Mon, Dec 7, 2026, 10:30 AM"."""
    if value is None:
        return "—"
    moment = _local(value)
    separator = " " if _locale() == "zh_CN" else ", "
    return format_day(moment.date(), weekday) + separator + format_clock(moment)


def format_month(value: date | datetime | None) -> str:
    """A month: "2026年12月" / "December 2026"."""
    if value is None:
        return "—"
    day = _day(value)
    if _locale() == "zh_CN":
        return f"{day.year}年{day.month}月"
    return format_skeleton("yMMMM", day, locale="en")


def format_day_range(start: date | datetime | None, end: date | datetime | None) -> str:
    """Two days as people write them: "11月30日–12月6日", "12月7日–13日"."""
    if start is None or end is None:
        return format_day(start or end)
    a, b = _day(start), _day(end)
    if a == b:
        return format_day(a)
    if _locale() == "zh_CN":
        this_year = local_today().year
        with_year = a.year != b.year or a.year != this_year
        left = _zh_day(a, year=with_year)
        if a.year == b.year and a.month == b.month:
            return f"{left}–{b.day}日"
        return f"{left}–{_zh_day(b, year=a.year != b.year)}"
    return format_interval(a, b, "yMMMd", locale="en")


def format_time_range(start: datetime | None, end: datetime | None, weekday: bool = True) -> str:
    """A booking's span: "12月7日 星期一 10:30–12:00" (the end's day only when it differs)."""
    if start is None:
        return "—"
    if end is None:
        return format_moment(start, weekday) + "–…"
    a, b = _local(start), _local(end)
    if a.date() == b.date():
        return f"{format_moment(a, weekday)}–{format_clock(b)}"
    return f"{format_moment(a, weekday)} – {format_moment(b, weekday)}"


_HOURS = re.compile(r"^(\d+(?:\.\d+)?) h$")
_TIMES = re.compile(r"^(\d+) × (\w+)$")


def format_quantity(value: str | None) -> str:
    """An invoice or price quantity as stored ("1.5 h", "2 × sample") in the page's language."""
    if not value:
        return value or ""
    if match := _HOURS.match(value):
        return gettext("%(n)s h", n=match.group(1))
    if match := _TIMES.match(value):
        units = {
            "sample": gettext("sample"),
            "half_day": gettext("half day"),
            "day": gettext("day"),
            "session": gettext("session"),
            "period": gettext("period"),
        }
        if match.group(2) in units:
            return f"{match.group(1)} × {units[match.group(2)]}"
    return value
