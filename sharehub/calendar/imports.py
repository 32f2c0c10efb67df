"""External calendars: fetch or upload an ICS file, expand its recurrences (RRULE, EXDATE,
moved occurrences) with recurring-ical-events, and store the busy intervals that block
the unit. A bad file is refused with a message and the previous busy times stay."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

import recurring_ical_events
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from icalendar import Calendar

from sharehub.calendar.models import ExternalBusy, ExternalCalendar
from sharehub.catalog.models import Unit
from sharehub.core import audit
from sharehub.core.clock import LAB_TZ
from sharehub.core.db import utcnow
from sharehub.core.errors import PermissionDenied, ValidationError
from sharehub.core.net import FetchError, Limits, fetch_public
from sharehub.extensions import db

log = logging.getLogger(__name__)
MAX_ICS_BYTES = 2 * 1024 * 1024
WINDOW_PAST = timedelta(days=7)
WINDOW_AHEAD = timedelta(days=400)
MAX_EVENTS = 20_000


def _aware(value) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=LAB_TZ)
    if isinstance(value, date):  # all-day events block the whole local day
        return datetime.combine(value, time(), LAB_TZ)
    raise ValueError("not a date")


DENSE_FREQUENCIES = {"SECONDLY", "MINUTELY"}


def _refuse_dense_rules(calendar) -> None:
    """A rule repeating every second or minute expands to hundreds of thousands of
    occurrences in the window (the expansion ran for half a minute): refused up front."""
    for component in calendar.walk("VEVENT"):
        rules = component.get("RRULE")
        for rule in rules if isinstance(rules, list) else [rules] if rules else []:
            if {str(f).upper() for f in rule.get("FREQ", [])} & DENSE_FREQUENCIES:
                raise ValidationError(
                    _l(
                        "The calendar has events repeating every minute or second; "
                        "they are not imported."
                    )
                )


def parse_busy(data: bytes, now: datetime | None = None) -> list[tuple[datetime, datetime]]:
    """Busy intervals in the refresh window; transparent (free) events are skipped."""
    now = now or utcnow()
    try:
        calendar = Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise ValidationError(_l("The file is not a valid iCalendar (ICS) file.")) from exc
    if calendar.name != "VCALENDAR":
        raise ValidationError(_l("The file is not a valid iCalendar (ICS) file."))
    _refuse_dense_rules(calendar)
    try:
        events = recurring_ical_events.of(calendar).between(now - WINDOW_PAST, now + WINDOW_AHEAD)
    except Exception as exc:  # the library raises many kinds for malformed rules
        raise ValidationError(_l("The calendar's recurrence rules could not be read.")) from exc
    busy = []
    for event in events:
        if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        try:
            start = _aware(event.decoded("DTSTART"))
            end = (
                _aware(event.decoded("DTEND"))
                if "DTEND" in event
                else (
                    start
                    + (
                        event.decoded("DURATION")
                        if "DURATION" in event
                        else timedelta(days=1)
                        if not isinstance(event.decoded("DTSTART"), datetime)
                        else timedelta()
                    )
                )
            )
        except (KeyError, ValueError) as exc:
            raise ValidationError(_l("An event of the calendar has no valid start.")) from exc
        if end > start:
            busy.append((start, end))
        if len(busy) > MAX_EVENTS:
            raise ValidationError(_l("The calendar has too many events to import."))
    return busy


FETCH_LIMITS = Limits(max_bytes=MAX_ICS_BYTES, timeout=10, deadline=30, max_redirects=5)
FETCH_MESSAGES = {
    "address": _l("Give an http or https address of an ICS file."),
    "refused": _l(
        "This address cannot be imported: calendars are fetched only from public internet "
        "addresses."
    ),
    "too_large": _l("The calendar file is larger than 2 MB."),
    "timeout": _l("The calendar server took too long to answer. Try again later."),
    "status": _l("The calendar server did not give the file. Check the address."),
    "unreachable": _l("The calendar could not be fetched from this address. Check it."),
}


def fetch(url: str) -> bytes:
    """The ICS file at a user's address, under the public-address rule on every redirect
    (a lab manager must not make the platform read its own network); the user sees a plain
    message, the log the reason."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(FETCH_MESSAGES["address"], field="url")
    allow_private = bool(current_app.config.get("CALENDAR_IMPORT_ALLOW_PRIVATE", False))
    try:
        return fetch_public(url, FETCH_LIMITS, allow_private=allow_private)
    except FetchError as exc:
        log.warning("calendar import from %s failed: %s", url[:300], exc.reason)
        raise ValidationError(FETCH_MESSAGES[exc.kind], field="url") from exc


def replace_busy(calendar: ExternalCalendar, data: bytes) -> int:
    busy = parse_busy(data)  # raises before anything is deleted
    db.session.execute(sa.delete(ExternalBusy).where(ExternalBusy.calendar_id == calendar.id))
    db.session.add_all(
        [
            ExternalBusy(calendar_id=calendar.id, unit_id=calendar.unit_id, starts_dt=a, ends_dt=b)
            for a, b in busy
        ]
    )
    calendar.last_refreshed_dt, calendar.last_error = utcnow(), ""
    db.session.flush()
    return len(busy)


def add_calendar(
    actor, unit: Unit, *, name: str, url: str = "", data: bytes | None = None
) -> ExternalCalendar:
    if not actor.can_manage(unit.listing.lab):
        raise PermissionDenied(_l("Only managers of this laboratory may do this."))
    if not url and not data:
        raise ValidationError(_l("Give the address of the calendar or upload its file."))
    if url and data is None:
        data = fetch(url)
    calendar = ExternalCalendar(unit_id=unit.id, name=name.strip()[:100], url=url.strip())
    db.session.add(calendar)
    db.session.flush()
    count = replace_busy(calendar, data)
    audit.record(
        actor,
        "external_calendar.added",
        calendar,
        organisation=unit.listing.lab_id,
        unit=unit.id,
        events=count,
    )
    db.session.flush()
    return calendar


def refresh_all() -> tuple[int, int]:
    """Refetch every calendar with an address (CLI/cron). Failures keep the old busy times
    and are recorded on the calendar. Returns (refreshed, failed)."""
    refreshed = failed = 0
    for calendar in db.session.scalars(
        sa.select(ExternalCalendar).where(ExternalCalendar.url != "")
    ).all():
        try:
            with db.session.begin_nested():
                replace_busy(calendar, fetch(calendar.url))
            refreshed += 1
        except ValidationError as exc:
            calendar.last_error = str(exc.message)[:1000]
            failed += 1
    db.session.flush()
    return refreshed, failed
