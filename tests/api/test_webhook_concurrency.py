"""Several senders at once (cron on several machines) deliver each webhook exactly once:
rows are claimed with SKIP LOCKED on PostgreSQL, writes serialize on SQLite."""

from __future__ import annotations

import json
import threading
from collections import Counter

import sqlalchemy as sa

from tests.support.accounts import make_credit_code
from tests.support.api import Receiver
from tests.support.backend import BACKEND

SENDERS, EVENTS = 4, 30


def test_concurrent_senders_deliver_each_event_once(postgres, tmp_path):
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Organisation, OrgKind
    from sharehub.api.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
    from sharehub.api.webhooks import deliver_due
    from sharehub.extensions import db

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = (
            postgres.create_database("sharehub_webhooks")
            if BACKEND == "postgres" and postgres is not None
            else f"sqlite:///{tmp_path / 'webhooks.db'}"
        )

    receiver = Receiver()
    receiver.thread.start()
    app = create_app(Config)
    try:
        with app.app_context():
            upgrade()
            org = Organisation(
                kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(880001)
            )
            endpoint = WebhookEndpoint(
                organisation=org, url=receiver.url + "/hook", secret="whsec_x", events=["x"]
            )
            db.session.add_all([org, endpoint])
            for n in range(EVENTS):
                db.session.add(
                    WebhookDelivery(
                        endpoint=endpoint,
                        event_id=f"evt_{n}",
                        event_type="booking.created",
                        payload={"id": f"evt_{n}"},
                    )
                )
            db.session.commit()
            db.session.remove()

        barrier = threading.Barrier(SENDERS)
        results, errors = [], []

        def send():
            barrier.wait(timeout=30)
            with app.app_context():
                try:
                    results.append(deliver_due(limit=EVENTS))
                except Exception as exc:  # collected and reported below
                    errors.append(repr(exc))
                finally:
                    db.session.remove()

        threads = [threading.Thread(target=send) for _ in range(SENDERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert sum(delivered for delivered, _failed in results) == EVENTS
        sent = Counter(json.loads(hit["body"])["id"] for hit in receiver.received)
        assert sent == Counter({f"evt_{n}": 1 for n in range(EVENTS)})
        with app.app_context():
            states = db.session.execute(
                sa.select(WebhookDelivery.status, WebhookDelivery.attempts)
            ).all()
            assert set(states) == {(DeliveryStatus.DELIVERED, 1)}
            db.session.remove()
            db.engine.dispose()
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
