"""PostgreSQL restarted while a booking request is in the middle of its transaction: the
request answers 503 with a clear message, nothing of it is written, and the app serves
again at once without a restart (pool_pre_ping replaces the dead connections)."""

from __future__ import annotations

import re

import pytest

from tests.support.backend import BACKEND
from tests.support.faults import booking_at, counts, no_violations

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="restarts the PostgreSQL server")


def test_restart_during_a_booking_answers_503_and_the_app_recovers(faulty):
    browser = faulty.browser(faulty.customers[2])
    slot = faulty.next_slot()
    path = faulty.review(browser, slot)
    before = faulty.read(counts)
    attempt = faulty.in_background(
        lambda: browser.request(path, {}, headers={"X-Fault": "before_commit"})
    )
    faulty.paused("before_commit")  # the booking row is written, not committed
    faulty.server.restart()  # fast mode ends the session and rolls its transaction back
    faulty.release("before_commit")
    attempt["thread"].join(timeout=60)
    status, head, page = attempt["result"]
    assert status == 503, (status, page[:500])
    assert head["Retry-After"] == "30"
    assert "Nothing was saved" in page
    assert faulty.read(counts) == before
    assert faulty.read(lambda db: booking_at(db, faulty.listing_id, slot[0])) is None

    # Both workers hold pooled connections to the old server; each is checked before use.
    for _ in range(6):
        status, _, page = browser.request(f"/catalog/{faulty.listing_id}")
        assert status == 200 and "故障测试光谱仪" in page
    status, head, _ = browser.request(path, {})
    assert status == 302 and re.search(r"/bookings/\d+$", head["Location"])
    assert faulty.read(lambda db: booking_at(db, faulty.listing_id, slot[0])) is not None
    faulty.read(no_violations)
