"""Usage captured at the instrument: the lab issues kiosk and device tokens per unit (shown
once, kept hashed); the kiosk starts and ends a booking's session from its user's QR code
or PIN, refusing other users' codes, expired codes, other units' codes and codes outside
the check-in window; devices post start/stop events, idempotent and paired in any order.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from sharehub.accounts.models import OrgKind, Role
from sharehub.booking import capture, chain
from sharehub.booking.models import (
    Booking,
    BookingStatus,
    CaptureDevice,
    DeviceKind,
    UsageRecord,
    UsageSource,
)
from sharehub.core.errors import DomainError

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def world(capture_world):
    return capture_world


def _records(db):
    return db.session.scalar(sa.select(sa.func.count()).select_from(UsageRecord))


# --- tokens ------------------------------------------------------------------------------------


def test_tokens_are_kept_hashed_and_work_for_their_kind_only(db, world):
    kiosk = world["kiosk"]
    assert world["kiosk_token"].startswith("shd_")
    assert kiosk.token_hash == capture.hash_token(world["kiosk_token"])
    assert world["kiosk_token"] not in kiosk.token_hash
    assert capture.authenticate(world["kiosk_token"], DeviceKind.KIOSK) == kiosk
    assert capture.authenticate(world["kiosk_token"], DeviceKind.METER) is None
    assert capture.authenticate("shd_guess", DeviceKind.KIOSK) is None


def test_the_lab_issues_a_token_shown_once_and_revokes_it(client, db, world, lab_manager, login):
    login(lab_manager)
    unit = world["listing"].units[0]
    response = client.post(
        "/lab/devices", data={"unit_id": unit.id, "kind": "kiosk", "name": "门口平板"}, headers=EN
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    token = re.search(r'id="device-token">(shd_[^<]+)<', page).group(1)
    device = db.session.scalar(sa.select(CaptureDevice).where(CaptureDevice.name == "门口平板"))
    assert device.token_hash == capture.hash_token(token)
    listing_page = client.get("/lab/devices", headers=EN).get_data(as_text=True)
    assert token not in listing_page and device.prefix in listing_page
    response = client.post(f"/lab/devices/{device.id}/revoke")
    assert response.status_code == 302
    db.session.expire_all()
    assert capture.authenticate(token, DeviceKind.KIOSK) is None
    bad = client.post("/lab/devices", data={"unit_id": unit.id, "kind": "toaster", "name": "x"})
    assert bad.status_code == 400


@pytest.mark.parametrize("who", ["other_lab", "enterprise", "regulator", "anonymous"])
def test_only_the_lab_manages_its_devices(client, db, world, make_org, make_user, login, who):
    unit = world["listing"].units[0]
    if who == "other_lab":
        login(make_user(make_org(kind=OrgKind.LAB), role=Role.MANAGER))
    elif who == "enterprise":
        login(world["buyer"])
    elif who == "regulator":
        login(make_user(make_org(kind=OrgKind.AUTHORITY), role=Role.INSPECTOR))
    before = db.session.scalar(sa.select(sa.func.count()).select_from(CaptureDevice))
    issued = client.post("/lab/devices", data={"unit_id": unit.id, "kind": "kiosk", "name": "x"})
    revoked = client.post(f"/lab/devices/{world['kiosk'].id}/revoke")
    if who == "anonymous":
        assert issued.status_code == 302 and revoked.status_code == 302  # to sign-in
    elif who == "other_lab":
        assert issued.status_code == 400 and revoked.status_code == 404
    else:
        assert issued.status_code == 403 and revoked.status_code == 403
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CaptureDevice)) == before
    assert db.session.get(CaptureDevice, world["kiosk"].id).revoked_dt is None


# --- the kiosk (service) -----------------------------------------------------------------------


def test_the_kiosk_starts_and_ends_the_session_through_check_in_and_out(db, world, english):
    booking, buyer, kiosk = world["booking"], world["buyer"], world["kiosk"]
    code = capture.booking_code(buyer, booking)
    start = booking.starts_dt + timedelta(minutes=3)
    result = capture.kiosk_scan(kiosk, code=code, now=start)
    assert result.action == "check_in" and booking.status == BookingStatus.IN_PROGRESS
    assert result.record.source == UsageSource.KIOSK
    assert result.record.recorded_by_id == buyer.id and result.record.device_id == kiosk.id
    assert not result.record.is_sealed  # open until the check-out
    end = booking.starts_dt + timedelta(minutes=93)
    result = capture.kiosk_scan(kiosk, code=code, now=end)
    assert result.action == "check_out" and booking.status == BookingStatus.COMPLETED
    assert result.record.run_minutes == 90 and result.record.is_sealed
    db.session.commit()
    assert chain.verify_lab(booking.listing.lab_id) is None
    with pytest.raises(DomainError, match="nothing to start or end"):
        capture.kiosk_scan(kiosk, code=code, now=end)


def test_the_pin_starts_the_session_too(db, world, english):
    booking, buyer, kiosk = world["booking"], world["buyer"], world["kiosk"]
    start = booking.starts_dt + timedelta(minutes=1)
    pin = capture.booking_pin(buyer, booking, now=start)
    assert capture.kiosk_scan(kiosk, pin=pin, now=start).action == "check_in"
    wrong = f"{(int(pin) + 1) % 1_000_000:06d}"
    with pytest.raises(DomainError, match="matches no booking"):
        capture.kiosk_scan(kiosk, pin=wrong, now=start)


def test_refusals_of_the_kiosk(db, world, english):
    booking, buyer, kiosk = world["booking"], world["buyer"], world["kiosk"]
    start = booking.starts_dt + timedelta(minutes=3)
    code = capture.booking_code(buyer, booking)
    # another unit's kiosk
    with pytest.raises(DomainError, match="another unit"):
        capture.kiosk_scan(world["other_kiosk"], code=code, now=start)
    # another user's code: a colleague of the same organisation is not the booking's user
    with pytest.raises(DomainError, match="not this booking's user") as refused:
        capture.kiosk_scan(kiosk, code=capture.booking_code(world["colleague"], booking), now=start)
    assert refused.value.status == 403
    # outside the check-in window (a day early)
    with pytest.raises(DomainError, match="can be started from 60 minutes before its start"):
        capture.kiosk_scan(kiosk, code=code, now=booking.starts_dt - timedelta(days=1))
    # a code that is not ours, and a tampered one
    with pytest.raises(DomainError, match="not a ShareHub booking code"):
        capture.kiosk_scan(kiosk, code="https://example.cn/x", now=start)
    with pytest.raises(DomainError, match="not a ShareHub booking code"):
        capture.kiosk_scan(kiosk, code=code[:-2] + "xx", now=start)
    # an expired code: made more than five minutes ago
    with time_machine.travel(booking.starts_dt - timedelta(minutes=20), tick=False):
        old = capture.booking_code(buyer, booking)
    with pytest.raises(DomainError, match="expired"):
        capture.kiosk_scan(kiosk, code=old, now=start)
    # a meter token is no kiosk
    with pytest.raises(DomainError, match="not a kiosk"):
        capture.kiosk_scan(world["meter"], code=code, now=start)
    db.session.rollback()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    assert _records(db) == 0


# --- the kiosk (HTTP) --------------------------------------------------------------------------


def test_kiosk_pages_over_http(client, db, world, login):
    booking, unit = world["booking"], world["listing"].units[0]
    page = client.get(f"/kiosk/{unit.id}", headers=EN).get_data(as_text=True)
    assert 'id="kiosk-token"' in page and 'id="kiosk-scan-code"' not in page
    refused = client.post(f"/kiosk/{unit.id}/scan", data={"code": "x"}, headers=EN)
    assert refused.status_code == 403
    wrong = client.post(f"/kiosk/{unit.id}/open", data={"token": world["other_token"]}, headers=EN)
    assert wrong.status_code == 403
    opened = client.post(f"/kiosk/{unit.id}/open", data={"token": world["kiosk_token"]})
    assert opened.status_code == 302
    assert 'id="kiosk-scan-code"' in client.get(f"/kiosk/{unit.id}").get_data(as_text=True)
    with time_machine.travel(booking.starts_dt + timedelta(minutes=2), tick=False):
        code = capture.booking_code(world["buyer"], booking)
        empty = client.post(f"/kiosk/{unit.id}/scan", data={"code": " "}, headers=EN)
        assert empty.status_code == 400 and "Scan the QR code" in empty.get_data(as_text=True)
        started = client.post(f"/kiosk/{unit.id}/scan", data={"code": code}, headers=EN)
        assert started.status_code == 200
        assert 'data-action="check_in"' in started.get_data(as_text=True)
    with time_machine.travel(booking.starts_dt + timedelta(minutes=62), tick=False):
        code = capture.booking_code(world["buyer"], booking)
        ended = client.post(f"/kiosk/{unit.id}/scan", data={"code": code}, headers=ZH)
        assert ended.status_code == 200
        assert 'data-action="check_out"' in ended.get_data(as_text=True)
        again = client.post(f"/kiosk/{unit.id}/scan", data={"code": code}, headers=EN)
        assert again.status_code == 409
    db.session.expire_all()
    record = db.session.scalar(sa.select(UsageRecord))
    assert record.source == UsageSource.KIOSK and record.is_sealed
    assert record.run_minutes == 60


def test_the_booking_page_shows_the_code_to_its_user_only(client, db, world, lab_manager, login):
    booking = world["booking"]
    login(world["buyer"])
    page = client.get(f"/bookings/{booking.id}", headers=EN).get_data(as_text=True)
    assert 'id="kiosk-code"' in page and "<svg" in page and 'id="kiosk-pin"' in page
    assert client.get(f"/bookings/{booking.id}/kiosk-code").status_code == 200
    client.post("/account/signout")
    login(world["colleague"])
    assert client.get(f"/bookings/{booking.id}/kiosk-code").status_code == 404
    page = client.get(f"/bookings/{booking.id}", headers=EN).get_data(as_text=True)
    assert 'id="kiosk-code"' not in page
    client.post("/account/signout")
    login(lab_manager)
    assert client.get(f"/bookings/{booking.id}/kiosk-code").status_code == 404
