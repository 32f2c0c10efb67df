"""A gunicorn worker killed (SIGKILL) in the middle of a booking and of a webhook: what was
not committed leaves no trace, what was committed is kept whole, and the app goes on
serving (the master starts a new worker) without a restart."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests.support.faults import (
    booking_at,
    counts,
    deliver,
    issued_invoice,
    no_violations,
    pay_event,
)


def test_worker_killed_before_the_booking_commits_leaves_nothing(faulty):
    browser = faulty.browser(faulty.customers[0])
    slot = faulty.next_slot()
    path = faulty.review(browser, slot)
    before = faulty.read(counts)
    attempt = faulty.in_background(
        lambda: browser.request(path, {}, headers={"X-Fault": "before_commit"})
    )
    faulty.kill_worker("before_commit")  # the booking row is written, not committed
    attempt["thread"].join(timeout=30)
    assert "error" in attempt, attempt.get("result")  # the connection was dropped

    # Nothing of it remains: no booking, notification, audit entry or queued mail.
    assert faulty.read(counts) == before
    assert faulty.read(lambda db: booking_at(db, faulty.listing_id, slot[0])) is None
    # The slot is free at once (no lock left behind) and the app serves on.
    status, head, _ = browser.request(path, {})
    assert status == 302 and re.search(r"/bookings/\d+$", head["Location"])
    booking = faulty.read(lambda db: booking_at(db, faulty.listing_id, slot[0]))
    assert booking.status == "confirmed"
    faulty.read(no_violations)


def test_worker_killed_after_the_booking_commits_keeps_it_whole(faulty):
    from sharehub.core.models import AuditEntry, OutboxMessage

    browser = faulty.browser(faulty.customers[1])
    slot = faulty.next_slot()
    path = faulty.review(browser, slot)
    before = faulty.read(counts)
    attempt = faulty.in_background(
        lambda: browser.request(path, {}, headers={"X-Fault": "after_commit"})
    )
    faulty.kill_worker("after_commit")  # committed; no answer and no mail delivery yet
    attempt["thread"].join(timeout=30)
    assert "error" in attempt, attempt.get("result")

    booking = faulty.read(lambda db: booking_at(db, faulty.listing_id, slot[0]))
    assert booking is not None and booking.status == "confirmed"
    after = faulty.read(counts)
    assert after["booking"] == before["booking"] + 1
    # Its audit entry and its event were committed with it; `send-mail` tells the customer
    # and the lab (the worker died before it could, right after the commit).
    audit = faulty.read(
        lambda db: db.session.scalars(
            sa.select(AuditEntry.action).where(
                AuditEntry.object_type == "booking", AuditEntry.object_id == booking.id
            )
        ).all()
    )
    assert audit == ["booking.created"]
    faulty.flask("sharehub", "send-mail")
    queued = faulty.read(
        lambda db: db.session.scalars(
            sa.select(OutboxMessage.recipient)
            .where(OutboxMessage.subject.contains(f"#{booking.id}"))
            .order_by(OutboxMessage.id.desc())
        ).all()
    )
    assert faulty.customers[1] in queued and faulty.manager in queued
    # The customer finds it, and the slot is not given twice.
    status, _, page = browser.request(f"/bookings/{booking.id}")
    assert status == 200 and "Confirmed" in page
    status, _, page = browser.request(path, {})
    assert status == 409 and "alternatives" in page
    faulty.read(no_violations)


def test_worker_killed_in_a_webhook_then_redelivered_records_one_payment(faulty):
    from sharehub.billing.models import GatewayEvent, Invoice, Payment

    for point, expected_first in (("before_commit", 0), ("after_commit", 1)):
        invoice_id, amount = issued_invoice(faulty)
        event = pay_event(f"evt_kill_{point}", "payment_intent.succeeded", invoice_id, amount)
        attempt = faulty.in_background(
            lambda event=event, point=point: deliver(faulty, event, point)
        )
        faulty.kill_worker(point)
        attempt["thread"].join(timeout=30)
        assert "error" in attempt, attempt.get("result")

        def state(db, invoice_id=invoice_id, event=event):
            return (
                db.session.scalar(
                    sa.select(sa.func.count(Payment.id)).where(Payment.invoice_id == invoice_id)
                ),
                db.session.get(GatewayEvent, event["id"]) is not None,
                db.session.get(Invoice, invoice_id).status.value,
            )

        paid = "paid" if expected_first else "issued"
        assert faulty.read(state) == (expected_first, bool(expected_first), paid)
        # Stripe redelivers an event it got no answer for: recorded once in the end.
        status, body = deliver(faulty, event)
        assert status == 200
        assert body["outcome"] == ("duplicate" if expected_first else "recorded")
        assert faulty.read(state) == (1, True, "paid")
    faulty.read(no_violations)
