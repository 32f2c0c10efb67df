"""Stored events (core/mail.py `defer_event`): a booking's event is told once, after the
commit of its own transaction, never for a rolled-back one; what a plain commit stored
waits for the outbox worker instead of leaking into a later, unrelated commit; an event
whose handler fails midway leaves no partial effect and is told once on a later run;
`check-consistency` names the events left untold."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.admin import consistency
from sharehub.booking import notify
from sharehub.booking import services as booking_services
from sharehub.core import tx
from sharehub.core.clock import utcnow
from sharehub.core.mail import MAX_ATTEMPTS, process_events
from sharehub.core.models import Notification, OutboxEvent
from tests.support.clock import at, workday
from tests.support.outbox import run_outbox

NAME = "电感耦合等离子体发射光谱仪"


@pytest.fixture
def buyer(make_org, make_user):
    return make_user(make_org(name="苏州精密制造有限公司"), email="buyer@example.cn")


@pytest.fixture
def listing(lab, make_listing):
    return make_listing(lab, name=NAME, approval_required=False, price_external=49999)


def _book(buyer, listing, hour=8):
    return booking_services.create_booking(
        buyer,
        buyer.memberships[0].organisation,
        listing,
        booking_services.BookingRequest(
            starts_dt=at(workday(), hour, 30), ends_dt=at(workday(), hour + 2, 30)
        ),
    )


def _notes(db, user) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(Notification.link)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id)
        )
    )


def _confirmed_mail(mailbox, buyer, booking_id):
    """The confirmation the customer got, with its calendar invite (the content checked)."""
    mails = [m for m in mailbox.to(buyer.email) if f"#{booking_id}" in m["Subject"]]
    for mail in mails:
        assert f"Booking #{booking_id} confirmed: {NAME}" in mail["Subject"]
        names = [part.get_filename() for part in mail.iter_attachments()]
        assert names == ["invite.ics"]
        assert f"/bookings/{booking_id}" in mailbox.body(mail)
    return mails


def test_a_booking_is_told_once_right_after_its_commit(db, buyer, listing, lab_manager, mailbox):
    booking = _book(buyer, listing)
    assert _notes(db, buyer) == []  # nothing told before the commit
    tx.commit()
    assert _notes(db, buyer) == [f"/bookings/{booking.id}"]
    assert _notes(db, lab_manager) == [f"/bookings/{booking.id}"]
    assert len(_confirmed_mail(mailbox, buyer, booking.id)) == 1
    event = db.session.scalar(sa.select(OutboxEvent).where(OutboxEvent.object_id == booking.id))
    assert event.done_dt is not None and event.attempts == 1

    assert run_outbox() == 0  # the worker finds it told: nobody hears twice
    assert _notes(db, buyer) == [f"/bookings/{booking.id}"]
    assert len(_confirmed_mail(mailbox, buyer, booking.id)) == 1


def test_a_rolled_back_booking_is_never_told(db, buyer, listing, mailbox):
    booking = _book(buyer, listing)
    booking_id = booking.id
    db.session.rollback()
    tx.commit()  # the next change of the same session
    assert run_outbox() == 0
    assert _notes(db, buyer) == []
    assert mailbox.to(buyer.email) == []
    assert db.session.scalar(sa.select(sa.func.count(OutboxEvent.id))) == 0
    assert consistency.outbox_events_not_told() == []
    assert booking_id is not None


def test_what_a_plain_commit_stored_waits_for_the_worker(db, buyer, listing, mailbox):
    """A fixture or a command that commits with `session.commit()`: its events are not
    told at some later commit of the session (in the middle of another change), but by the
    outbox worker, once, with the same content."""
    booking = _book(buyer, listing)
    db.session.commit()
    later = _book(buyer, listing, hour=13)
    tx.commit()  # another change, committed as a request does
    assert _notes(db, buyer) == [f"/bookings/{later.id}"]
    assert _confirmed_mail(mailbox, buyer, booking.id) == []

    assert run_outbox() == 1
    assert _notes(db, buyer) == [f"/bookings/{later.id}", f"/bookings/{booking.id}"]
    assert len(_confirmed_mail(mailbox, buyer, booking.id)) == 1
    assert run_outbox() == 0
    assert len(_confirmed_mail(mailbox, buyer, booking.id)) == 1


def test_an_event_failing_midway_leaves_nothing_and_is_told_once_later(
    db, app, buyer, listing, lab_manager, mailbox, monkeypatch
):
    booking = _book(buyer, listing)
    db.session.commit()  # stored for the worker
    told = notify.queue_mail

    def crash(*args, **kwargs):  # the customer's in-app message is written, then it fails
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(notify, "queue_mail", crash)
    assert process_events() == 0
    event = db.session.scalar(sa.select(OutboxEvent).where(OutboxEvent.object_id == booking.id))
    assert event.done_dt is None and event.attempts == 1
    assert _notes(db, buyer) == [] and _notes(db, lab_manager) == []  # no partial effect
    assert mailbox.to(buyer.email) == []

    monkeypatch.setattr(notify, "queue_mail", told)
    assert run_outbox() == 1
    assert _notes(db, buyer) == [f"/bookings/{booking.id}"]
    assert len(_confirmed_mail(mailbox, buyer, booking.id)) == 1
    assert run_outbox() == 0


def test_check_consistency_names_events_left_untold(db, buyer, listing):
    booking = _book(buyer, listing)
    db.session.commit()
    event = db.session.scalar(sa.select(OutboxEvent).where(OutboxEvent.object_id == booking.id))
    assert consistency.outbox_events_not_told() == []  # the worker has a minute to run
    event.created_dt = utcnow() - timedelta(minutes=59)
    db.session.commit()
    assert consistency.outbox_events_not_told() == []
    event.created_dt = utcnow() - timedelta(minutes=61)  # the worker is not running
    db.session.commit()
    stuck = {
        "event": event.id,
        "kind": "booking",
        "object": booking.id,
        "what": "created",
        "attempts": 0,
    }
    assert consistency.violations()["outbox_events_not_told"] == [stuck]

    event.created_dt = utcnow()  # fresh, but given up after every attempt failed
    event.attempts = MAX_ATTEMPTS
    db.session.commit()
    assert consistency.outbox_events_not_told() == [stuck | {"attempts": MAX_ATTEMPTS}]

    event.attempts = 0
    db.session.commit()
    assert run_outbox() == 1
    event.created_dt = utcnow() - timedelta(days=1)  # told: old events are fine
    db.session.commit()
    assert consistency.outbox_events_not_told() == []


def _subjects(mailbox, address, booking_id) -> list[str]:
    return [m["Subject"] for m in mailbox.to(address) if f"#{booking_id}" in m["Subject"]]


def test_a_decision_before_the_worker_ran_tells_the_request_first_as_it_was_made(
    db, buyer, lab, lab_manager, make_listing, mailbox
):
    listing = make_listing(lab, name=NAME, approval_required=True)
    booking = _book(buyer, listing)
    db.session.commit()  # its "created" is stored for the worker, which has not run yet
    booking_services.decline(lab_manager, booking, "仪器维护")
    tx.commit()
    assert _subjects(mailbox, buyer.email, booking.id) == [
        f"Booking request #{booking.id}: {NAME}",  # not "confirmed", and not after
        f"Booking #{booking.id} declined",
    ]
    assert run_outbox() == 0  # told once
    assert len(_subjects(mailbox, buyer.email, booking.id)) == 2
    assert _notes(db, buyer) == [f"/bookings/{booking.id}"] * 2


def test_a_booking_cancelled_before_the_worker_ran_is_told_in_order(
    db, buyer, listing, lab_manager, mailbox
):
    booking = _book(buyer, listing)
    db.session.commit()
    booking_services.cancel(buyer, booking)
    tx.commit()
    assert _subjects(mailbox, buyer.email, booking.id) == [
        f"Booking #{booking.id} confirmed: {NAME}",
        f"Booking #{booking.id} cancelled",
    ]
    assert _subjects(mailbox, lab_manager.email, booking.id) == [
        f"Booking #{booking.id} confirmed: {NAME}",
        f"Booking #{booking.id} cancelled",
    ]
    assert run_outbox() == 0
    assert len(_subjects(mailbox, buyer.email, booking.id)) == 2
