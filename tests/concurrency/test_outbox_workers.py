"""Two outbox workers (`send-mail` on two machines) at the same moment tell each stored
event once: an event is claimed with its row lock (SKIP LOCKED, so the other worker takes
the next one instead of waiting) and marked told in the transaction of its effects."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from tests.support.backend import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="a PostgreSQL race")
EVENTS = 12


def test_two_workers_tell_each_event_once(postgres, monkeypatch):
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import User
    from sharehub.core import mail
    from sharehub.core.models import Notification, OutboxEvent
    from sharehub.extensions import db

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = postgres.create_database("sharehub_outbox_workers")

    app = create_app(Config)
    with app.app_context():
        upgrade()
        user = User(email="worker@example.cn", name="收件人", password_hash="-")
        db.session.add(user)
        db.session.flush()
        for n in range(EVENTS):
            mail.defer_event("probe", n, "created")
        db.session.commit()
        user_id = user.id

    # Both workers must be inside a handler at once, each holding the event it claimed:
    # a worker that waited for the other's row, or took the same row, breaks the test.
    both_inside = threading.Barrier(2)
    first = threading.local()

    def probe(row: OutboxEvent) -> None:
        db.session.add(Notification(user_id=user_id, text="told", link=f"/events/{row.id}"))
        db.session.flush()
        if not getattr(first, "seen", False):
            first.seen = True
            both_inside.wait(timeout=20)

    monkeypatch.setitem(mail.EVENT_HANDLERS, "probe", probe)
    start = threading.Barrier(2)
    told: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait(timeout=20)
        with app.app_context():
            try:
                told.append(mail.process_events())
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(told) != [0, EVENTS] and sum(told) == EVENTS  # both worked, together

    with app.app_context():
        links = db.session.scalars(sa.select(Notification.link)).all()
        assert sorted(links) == sorted(f"/events/{n}" for n in range(1, EVENTS + 1))
        untold = db.session.scalar(
            sa.select(sa.func.count(OutboxEvent.id)).where(OutboxEvent.done_dt.is_(None))
        )
        assert untold == 0
        attempts = db.session.scalars(sa.select(OutboxEvent.attempts)).all()
        assert set(attempts) == {1}
        db.session.remove()
        db.engine.dispose()
