"""iCalendar output: invites (REQUEST/CANCEL with SEQUENCE) and subscribable feeds.

Times are written in Asia/Shanghai with its VTIMEZONE, which every calendar client
understands; UTC instants are kept exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from icalendar import Calendar, Event, Timezone, TimezoneStandard, vCalAddress, vText

from sharehub.core.clock import LAB_TZ
from sharehub.core.db import utcnow

PRODID = "-//ShareHub//Open sharing of quality-testing resources//ZH"


def _shanghai_vtimezone() -> Timezone:
    tz = Timezone()
    tz.add("tzid", "Asia/Shanghai")
    standard = TimezoneStandard()
    standard.add("dtstart", datetime(1970, 1, 1))
    standard.add("tzoffsetfrom", LAB_TZ.utcoffset(datetime(2000, 1, 1)))
    standard.add("tzoffsetto", LAB_TZ.utcoffset(datetime(2000, 1, 1)))
    standard.add("tzname", "CST")
    tz.add_component(standard)
    return tz


def new_calendar(method: str | None = None, name: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    if name:
        # An X- property has no value type of its own: as vText the library escapes line
        # breaks, commas and semicolons, so a name cannot add lines to the calendar.
        cal.add("x-wr-calname", vText(name))
        cal.add("x-wr-timezone", "Asia/Shanghai")
    cal.add_component(_shanghai_vtimezone())
    return cal


BUSY_SUMMARY = "Busy / 已预约"
BUSY_CALENDAR_NAME = "ShareHub busy times / 已预约时段"


def busy_event(booking) -> Event:
    """What a public feed may show of a booking: when the slot is taken, nothing else
    (no listing, customer, purpose or place; none of it is typed by the public's eyes)."""
    event = Event()
    event.add("uid", booking.uid)
    event.add("dtstamp", utcnow())
    event.add("dtstart", booking.starts_dt.astimezone(LAB_TZ))
    event.add("dtend", booking.ends_dt.astimezone(LAB_TZ))
    event.add("sequence", booking.sequence)
    event.add("summary", BUSY_SUMMARY)
    event.add("transp", "OPAQUE")
    return event


def booking_event(booking, *, cancelled: bool = False, busy_only: bool = False) -> Event:
    if busy_only:
        return busy_event(booking)
    event = Event()
    event.add("uid", booking.uid)
    event.add("dtstamp", utcnow())
    event.add("dtstart", booking.starts_dt.astimezone(LAB_TZ))
    event.add("dtend", booking.ends_dt.astimezone(LAB_TZ))
    event.add("sequence", booking.sequence)
    listing = booking.listing
    lab = listing.lab
    event.add("summary", f"{listing.name} · {booking.unit.name}")
    event.add("location", vText(listing.location or lab.address or lab.name))
    event.add(
        "description",
        "\n".join(
            filter(
                None,
                [
                    f"{lab.name} — {booking.customer_org.name}",
                    booking.purpose,
                    f"Booking #{booking.id}",
                ],
            )
        ),
    )
    event.add(
        "status",
        "CANCELLED"
        if cancelled
        else (
            "CONFIRMED"
            if booking.status.value in ("confirmed", "in_progress", "completed")
            else "TENTATIVE"
        ),
    )
    organizer = vCalAddress(f"mailto:{lab.contact_email or 'noreply@sharehub.cn'}")
    organizer.params["cn"] = vText(lab.name)
    event.add("organizer", organizer)
    if booking.customer_user is not None:
        attendee = vCalAddress(f"mailto:{booking.customer_user.email}")
        attendee.params["cn"] = vText(booking.customer_user.name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee)
    return event


def invite(booking, method: str) -> bytes:
    cal = new_calendar(method)
    cal.add_component(booking_event(booking, cancelled=method == "CANCEL"))
    return cal.to_ical()


def feed(bookings: Iterable, name: str, busy_only: bool = False) -> bytes:
    cal = new_calendar(name=name)
    for booking in bookings:
        cal.add_component(booking_event(booking, busy_only=busy_only))
    return cal.to_ical()


def busy_feed(bookings: Iterable) -> bytes:
    """The public feed of a listing: busy times under a generic name and summary."""
    return feed(bookings, BUSY_CALENDAR_NAME, busy_only=True)
