"""A gunicorn worker killed right after an API booking committed: the client got no answer
and retries with the same Idempotency-Key; it gets the booking it made (201, the same body)
instead of a 409 "slot taken" for its own booking, and nothing is booked twice."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import sqlalchemy as sa

from tests.support.faults import booking_at, no_violations


def api_token(faulty, email: str) -> str:
    from sharehub.accounts.models import User
    from sharehub.api.services import create_token
    from sharehub.core.db import utcnow

    def write(db):
        user = db.session.scalar(sa.select(User).where(User.email == email))
        org = user.memberships[0].organisation
        token, plain = create_token(user, org, "ERP", ["bookings:write"], 30)
        # Used just now: the request's first commit is then the booking's, not the token's.
        token.last_used_dt = utcnow()
        db.session.commit()
        return plain

    return faulty.read(write)


def post(faulty, path: str, payload: dict, headers: dict) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        faulty.base + path,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_worker_killed_after_an_api_booking_commits_the_retry_replays_it(faulty):
    from datetime import datetime, timedelta

    email = faulty.customers[2]  # customers[0] counts its mail in test_mail_down
    token = api_token(faulty, email)
    start, minutes = faulty.next_slot()
    payload = {
        "listing_id": faulty.listing_id,
        "starts_at": start,
        "ends_at": (datetime.fromisoformat(start) + timedelta(minutes=minutes)).isoformat(),
    }
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "erp-order-1"}
    attempt = faulty.in_background(
        lambda: post(faulty, "/api/v1/bookings", payload, {**headers, "X-Fault": "after_commit"})
    )
    faulty.kill_worker("after_commit")  # committed; the answer never left the worker
    attempt["thread"].join(timeout=30)
    assert "error" in attempt, attempt.get("result")
    booking = faulty.read(lambda db: booking_at(db, faulty.listing_id, start))
    assert booking is not None

    status, head, body = post(faulty, "/api/v1/bookings", payload, headers)
    assert status == 201, body
    assert head["Idempotent-Replayed"] == "true"
    assert body["id"] == booking.id and body["status"] == "confirmed"

    # Without the key the same request is a new one: the slot is taken (by itself).
    status, _, body = post(
        faulty, "/api/v1/bookings", payload, {"Authorization": headers["Authorization"]}
    )
    assert status == 409 and body["type"] == "urn:sharehub:problem:slot-taken"
    faulty.read(no_violations)
