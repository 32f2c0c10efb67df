"""The mail server is down while bookings are confirmed: the booking is kept, its mail waits
in the outbox with the error, and `flask sharehub send-mail` delivers it once the server is
back."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests.support.faults import no_violations


def test_bookings_confirmed_while_mail_is_down_are_kept_and_mailed_later(faulty):
    from sharehub.booking.models import Booking
    from sharehub.core.models import OutboxMessage

    browser = faulty.browser(faulty.customers[0])
    # mail of earlier tests (told by their send-mail while the server was down) is not ours
    earlier = faulty.read(
        lambda db: db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(OutboxMessage.id), 0)))
    )
    ids = []
    for _ in range(2):
        path = faulty.review(browser, faulty.next_slot())
        status, head, _ = browser.request(path, {})
        assert status == 302, status  # confirmed although the mail could not go out
        ids.append(int(re.search(r"/bookings/(\d+)$", head["Location"]).group(1)))
    statuses = faulty.read(lambda db: [db.session.get(Booking, i).status.value for i in ids])
    assert statuses == ["confirmed", "confirmed"]

    def waiting(db):
        return db.session.execute(
            sa.select(OutboxMessage.attempts, OutboxMessage.last_error)
            .where(
                OutboxMessage.recipient == faulty.customers[0],
                OutboxMessage.sent_dt.is_(None),
                OutboxMessage.id > earlier,
            )
            .order_by(OutboxMessage.id)
        ).all()

    queued = faulty.read(waiting)
    assert len(queued) == 2
    # Each request tried once after its commit and stopped at the first refusal.
    assert queued[0] == (1, "[Errno 111] Connection refused"), queued
    assert all(attempts <= 1 for attempts, _ in queued), queued

    def unsent(db):
        rows = db.session.scalars(
            sa.select(OutboxMessage.attempts).where(OutboxMessage.sent_dt.is_(None))
        ).all()
        return sum(1 for a in rows if a == 0), sum(1 for a in rows if a > 0)

    never_tried, backed_off = faulty.read(unsent)
    assert backed_off >= 1
    faulty.start_mail()
    # The regular run sends what was never tried and respects the back-off of what failed
    # (the server might still be down)...
    out = faulty.flask("sharehub", "send-mail").stdout
    assert out.splitlines()[-1] == f"{never_tried} sent, 0 failed."
    assert faulty.read(unsent) == (0, backed_off)
    # ...and the operator who knows it is back sends the rest at once.
    out = faulty.flask("sharehub", "send-mail", "--retry-now").stdout
    assert out == f"{backed_off} sent, 0 failed.\n"
    assert faulty.read(unsent) == (0, 0)
    assert faulty.read(waiting) == []
    received = [
        m
        for m in faulty.mailbox.to(faulty.customers[0])
        if any(re.search(rf"#{i}(?!\d)", m["Subject"]) for i in ids)
    ]
    assert len(received) == 2
    assert all("故障测试光谱仪" in faulty.mailbox.body(m) for m in received)
    faulty.read(no_violations)
