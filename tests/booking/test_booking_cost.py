"""What one booking POST costs the database: a count of statements, not a time, so the
customer's wait cannot quietly grow again (bench/booking.py measures the time). The mail,
invite, in-app messages and webhooks of the new booking are told after the commit, by the
outbox worker, from one stored event."""

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from sharehub.booking.models import Booking
from sharehub.core.mail import process_events
from sharehub.core.models import Notification, OutboxEvent, OutboxMessage
from tests.support.clock import at, workday

MAX_STATEMENTS = 8
# The test database joins each test's transaction through savepoints: the session's own
# SAVEPOINT and RELEASE around a request are the harness's, not the request's.
HARNESS = ("SAVEPOINT sa_savepoint_", "RELEASE SAVEPOINT sa_savepoint_")


@contextmanager
def statements(engine):
    sent: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        sent.append(" ".join(statement.split()))

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def buyer(make_org, make_user):
    return make_user(make_org(name="采购企业", name_en="Buyer Co"), email="buyer@example.cn")


def test_one_booking_post_sends_few_statements_and_the_worker_tells_people(
    app, client, db, lab, lab_manager, make_listing, buyer, login, mailbox, monkeypatch
):
    monkeypatch.setitem(app.config, "NOTIFY_AFTER_COMMIT", False)  # as in production
    listing = make_listing(lab, name_en="ICP-OES")
    listing_id = listing.id
    people = {buyer.id: buyer.email, lab_manager.id: lab_manager.email}
    login(buyer)
    first = client.post(
        f"/catalog/{listing_id}/book/review",
        data={"start": at(workday(), 8, 30).isoformat(), "minutes": 60},
    )
    assert first.status_code == 302
    db.session.remove()  # a fresh session, as each request gets under gunicorn
    with statements(db.engine) as sent:
        response = client.post(
            f"/catalog/{listing_id}/book/review",
            data={"start": at(workday(), 13, 30).isoformat(), "minutes": 120},
        )
    assert response.status_code == 302
    own = [s for s in sent if not s.startswith(HARNESS)]
    assert len(own) <= MAX_STATEMENTS, "\n".join(own)
    # besides the harness's pair, one SAVEPOINT/RELEASE around the INSERT: an overlap the
    # database refuses then ends in a clean conflict with alternatives
    assert len(sent) - len(own) <= 4, "\n".join(sent)

    # nothing was rendered in the requests: two stored events, no mail, no messages
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
    events = db.session.scalars(sa.select(OutboxEvent).order_by(OutboxEvent.id)).all()
    assert [(e.kind, e.event, e.done_dt) for e in events] == [("booking", "created", None)] * 2
    mailbox.clear()

    # the outbox worker (`flask sharehub send-mail`) tells the customer and the lab
    with app.test_request_context(base_url=app.config["SERVER_BASE_URL"]):
        assert process_events() == 2
    assert process_events() == 0  # told once
    booking = db.session.scalar(sa.select(Booking).order_by(Booking.id.desc()).limit(1))
    for email in people.values():
        assert f"#{booking.id}" in mailbox.last_to(email)["Subject"]
    told = db.session.scalars(sa.select(Notification.user_id)).all()
    assert sorted(set(told)) == sorted(people)
