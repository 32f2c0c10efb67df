"""The device API (/api/v1/devices/events): a device token posts its unit's start and stop
events and nothing else; duplicates are idempotent (event id), a stop that arrives before
its start waits for it, a stop earlier than its start is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.booking.models import DeviceEvent, UsageRecord, UsageSource
from tests.support.clock import at, workday


@pytest.fixture
def world(capture_world):
    return capture_world


def _records(db):
    return db.session.scalar(sa.select(sa.func.count()).select_from(UsageRecord))


def _post(client, token, **body):
    return client.post(
        "/api/v1/devices/events",
        json=body,
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
    )


def _event(event_id, session, kind, when):
    return {"event_id": event_id, "session": session, "kind": kind, "at": when.isoformat()}


def test_device_events_pair_into_a_usage_record(client, db, world):
    token, day = world["meter_token"], workday() - timedelta(days=14)
    start, stop = at(day, 9), at(day, 10, 30)
    first = _post(client, token, **_event("e1", "s1", "start", start))
    assert first.status_code == 201 and first.json["status"] == "waiting"
    again = _post(client, token, **_event("e1", "s1", "start", start))
    assert again.status_code == 200 and again.json["duplicate"] is True
    other = _post(client, token, **_event("e1", "s1", "start", start + timedelta(minutes=1)))
    assert other.status_code == 409
    second_start = _post(client, token, **_event("e9", "s1", "start", start))
    assert second_start.status_code == 409
    paired = _post(client, token, **_event("e2", "s1", "stop", stop))
    assert paired.status_code == 201 and paired.json["status"] == "paired"
    record = db.session.get(UsageRecord, paired.json["usage_record_id"])
    assert record.source == UsageSource.DEVICE and record.run_minutes == 90
    assert record.device_id == world["meter"].id and record.is_sealed
    assert record.user_org_id == world["listing"].lab_id  # no booking then: internal use
    assert _post(client, token, **_event("e2", "s1", "stop", stop)).json["duplicate"] is True
    assert _records(db) == 1


def test_a_stop_before_its_start_waits_and_a_stop_earlier_than_the_start_is_refused(
    client, db, world
):
    token, day = world["meter_token"], workday() - timedelta(days=14)
    stop = _post(client, token, **_event("b2", "s2", "stop", at(day, 12)))
    assert stop.status_code == 201 and stop.json["status"] == "waiting"
    start = _post(client, token, **_event("b1", "s2", "start", at(day, 11)))
    assert start.status_code == 201 and start.json["status"] == "paired"
    late = _post(client, token, **_event("c2", "s3", "stop", at(day, 13)))
    assert late.status_code == 201
    wrong = _post(client, token, **_event("c1", "s3", "start", at(day, 14)))
    assert wrong.status_code == 409 and "before its start" in wrong.json["detail"]
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(DeviceEvent).where(DeviceEvent.session == "s3")
        )
        == 1
    )
    assert _records(db) == 1


def test_a_device_token_posts_its_units_events_only(client, db, world, lab_manager, make_token):
    token, day = world["meter_token"], workday() - timedelta(days=14)
    other_unit = world["listing"].units[1].id
    refused = _post(client, token, unit_id=other_unit, **_event("x1", "s", "start", at(day, 9)))
    assert refused.status_code == 403
    for path in (
        "/api/v1/bookings",
        f"/api/v1/bookings/{world['booking'].id}",
        "/api/v1/usage-records",
    ):
        answer = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401
    # neither a kiosk token nor a user's API token posts events
    assert (
        _post(client, world["kiosk_token"], **_event("x2", "s", "start", at(day, 9))).status_code
        == 401
    )
    user_token = make_token(lab_manager, world["listing"].lab)
    assert _post(client, user_token, **_event("x3", "s", "start", at(day, 9))).status_code == 401
    assert _post(client, "", **_event("x4", "s", "start", at(day, 9))).status_code == 401
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DeviceEvent)) == 0


def test_bad_device_events_are_refused_with_a_reason(client, db, world):
    token = world["meter_token"]
    future = _post(
        client, token, **_event("f1", "s", "start", at(workday() + timedelta(days=30), 9))
    )
    assert future.status_code == 400
    bad = _post(
        client, token, event_id="f2", session="s", kind="pause", at="2026-01-01T00:00:00+08:00"
    )
    assert bad.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DeviceEvent)) == 0
