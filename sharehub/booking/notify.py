"""Tell the people concerned about a booking: in the app, and by mail with an invite."""

from __future__ import annotations

import base64
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from sharehub.booking.models import Booking
from sharehub.booking.signals import booking_event as booking_signal
from sharehub.core.db import utcnow
from sharehub.core.mail import defer_event, event_handler, queue_mail
from sharehub.core.models import Notification, OutboxEvent
from sharehub.extensions import db

SUBJECTS = {
    # as it was made (the outbox worker may tell it after the lab decided)
    "created": lambda b, status: (
        _("Booking request #%(id)s: %(name)s", id=b.id, name=b.listing.name)
        if status == "pending"
        else _("Booking #%(id)s confirmed: %(name)s", id=b.id, name=b.listing.name)
    ),
    "confirmed": lambda b: _("Booking #%(id)s confirmed: %(name)s", id=b.id, name=b.listing.name),
    "declined": lambda b: _("Booking #%(id)s declined", id=b.id),
    "cancelled": lambda b: _("Booking #%(id)s cancelled", id=b.id),
    "rescheduled": lambda b: _("Booking #%(id)s moved", id=b.id),
    "expired": lambda b: _("Booking request #%(id)s expired", id=b.id),
    # The reminder names the start in the reader's zone, not a fixed delay.
    "reminder": lambda b, start: _(
        "Reminder: booking #%(id)s starts on %(start)s", id=b.id, start=start
    ),
    "checked_in": lambda b: _("Booking #%(id)s has started", id=b.id),
    "completed": lambda b: _("Booking #%(id)s is completed", id=b.id),
    "no_show": lambda b: _("Booking #%(id)s was recorded as a no-show", id=b.id),
    "offered": lambda b: _("A time you waited for is held for you: booking #%(id)s", id=b.id),
    "proposed": lambda b: _("The laboratory proposes a new time for booking #%(id)s", id=b.id),
}


def _invite_for(booking: Booking, event: str) -> list[dict]:
    from sharehub.calendar.ics import invite

    if event in ("cancelled", "declined", "expired"):
        method = "CANCEL"
    elif booking.status.value == "confirmed" and event in (
        "created",
        "confirmed",
        "rescheduled",
        "reminder",
    ):
        method = "REQUEST"
    else:
        return []
    if method == "CANCEL" and booking.decided_dt is None and event != "cancelled":
        return []  # a request never confirmed was never in anyone's calendar
    return [
        {
            "filename": "invite.ics",
            "content_type": "text/calendar",
            "method": method,
            "data": base64.b64encode(invite(booking, method)).decode(),
        }
    ]


def recipients(booking: Booking, event: str, awaits_head: bool | None = None):
    """`awaits_head`: whether the booking waited for its head when the event happened (a
    stored event told later); by default, whether it waits now."""
    people = {}
    if booking.customer_user is not None:
        people[booking.customer_user.id] = (booking.customer_user, "customer")
    if booking.awaits_head if awaits_head is None else awaits_head:
        # the lab hears of it once the head has approved
        return people.values()
    if event in ("created", "cancelled", "rescheduled", "reminder"):
        for membership in booking.listing.lab.memberships:
            if membership.user.can_manage(booking.listing.lab):
                people.setdefault(membership.user.id, (membership.user, "lab"))
    return people.values()


def booking_event(
    booking: Booking, event: str, status: str | None = None, awaits_head: bool | None = None
) -> None:
    """Queue mail (with an ICS invite where the calendar changes) and in-app messages.
    `status`, `awaits_head`: the booking's state when a stored event happened (told
    later)."""
    if status is None:
        _tell_untold(booking)
    booking_signal.send(booking, event=event)
    link = url_for("booking.booking_page", booking_id=booking.id, _external=True)
    attachments = _invite_for(booking, event)
    for user, role in recipients(booking, event, awaits_head):
        zone = ZoneInfo(user.timezone)
        with force_locale(user.locale):
            if event == "reminder":
                start = f"{booking.starts_dt.astimezone(zone):%Y-%m-%d %H:%M}"
                subject = SUBJECTS[event](booking, start)
            elif event == "created":
                subject = SUBJECTS[event](booking, status or booking.status.value)
            else:
                subject = SUBJECTS[event](booking)
        db.session.add(
            Notification(
                user_id=user.id,
                text=str(subject)[:500],
                # a path: the outbox worker has no request, where url_for defaults to
                # the site's full address
                link=url_for("booking.booking_page", booking_id=booking.id, _external=False),
            )
        )
        when = (
            f"{booking.starts_dt.astimezone(zone):%Y-%m-%d %H:%M} – "
            f"{booking.ends_dt.astimezone(zone):%Y-%m-%d %H:%M} ({user.timezone})"
        )
        queue_mail(
            user.email,
            subject,
            "mail/booking_event.txt",
            locale=user.locale,
            booking=booking,
            user=user,
            event=event,
            role=role,
            link=link,
            when=when,
            attachments=attachments if role == "customer" else [],
        )


def booking_event_later(booking: Booking, event: str) -> None:
    """The same as `booking_event`, told after the commit by the outbox worker: the
    request that changed the booking stores one row and renders nothing (no recipients
    looked up, no mail or invite rendered, no webhook endpoints read)."""
    defer_event(
        "booking", booking.id, event, status=booking.status.value, awaits_head=booking.awaits_head
    )


@event_handler("booking")
def _tell(row: OutboxEvent) -> None:
    booking = db.session.get(Booking, row.object_id)
    if booking is not None:
        booking_event(
            booking,
            row.event,
            status=row.data.get("status", booking.status.value),
            awaits_head=row.data.get("awaits_head"),
        )


def _tell_untold(booking: Booking) -> None:
    """Before an event told at once (confirmed, cancelled, …), the booking's stored events
    the worker has not told yet (its "created"), in order and in this transaction: nobody
    hears "cancelled" and then "confirmed". Claimed as the worker claims them (SKIP LOCKED:
    an event the worker is telling right now is left to it), so each is told once."""
    query = (
        sa.select(OutboxEvent)
        .where(
            OutboxEvent.done_dt.is_(None),
            OutboxEvent.kind == "booking",
            OutboxEvent.object_id == booking.id,
        )
        .order_by(OutboxEvent.id)
    )
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for row in db.session.scalars(query).all():
        _tell(row)
        row.done_dt = utcnow()
        row.attempts += 1
