"""Usage records hold what happened: check-in/out near the booking and never in the
future, and typed usage (form, CSV) refused when its times lie ahead."""

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from sharehub.booking import services, usage
from sharehub.booking.models import Booking, BookingStatus, UsageRecord
from sharehub.core.errors import ValidationError
from tests.support.clock import at, workday

EN = {"Accept-Language": "en"}


@pytest.fixture
def confirmed(db, lab, make_listing, make_org, make_user):
    firm = make_org(name="检测客户", name_en="Client Co")
    buyer = make_user(firm, email="client@example.cn")
    day = workday()
    booking = services.create_booking(
        buyer,
        firm,
        make_listing(lab, approval_required=False),
        services.BookingRequest(starts_dt=at(day, 8, 30), ends_dt=at(day, 10, 30)),
    )
    db.session.commit()
    assert booking.status == BookingStatus.CONFIRMED
    return booking


def test_a_booking_days_ahead_cannot_be_checked_in(db, confirmed, lab_manager, english):
    days_before = confirmed.starts_dt - timedelta(days=3)
    with pytest.raises(ValidationError, match="checked in from 60 minutes before its start") as e:
        usage.check_in(lab_manager, confirmed, now=days_before)
    with force_locale("zh_CN"):
        assert "最早可在开始前 60 分钟签到" in str(e.value.message)
    with pytest.raises(ValidationError, match="cannot be in the future"):
        usage.check_in(lab_manager, confirmed, at=confirmed.starts_dt, now=days_before)
    db.session.rollback()
    assert db.session.get(Booking, confirmed.id).status == BookingStatus.CONFIRMED
    assert db.session.scalar(sa.select(sa.func.count(UsageRecord.id))) == 0
    # within the margin before the start it may
    early = confirmed.starts_dt - timedelta(minutes=45)
    record = usage.check_in(lab_manager, confirmed, now=early)
    assert record.started_dt == early


def test_a_late_check_out_names_the_real_end_and_the_record_keeps_the_real_times(
    db, confirmed, lab_manager, english
):
    next_week = confirmed.ends_dt + timedelta(days=7)
    with pytest.raises(ValidationError, match="enter the time the use actually started"):
        usage.check_in(lab_manager, confirmed, now=next_week)
    usage.check_in(lab_manager, confirmed, at=confirmed.starts_dt, now=next_week)
    with pytest.raises(ValidationError, match="enter the time the use actually ended"):
        usage.check_out(lab_manager, confirmed, run_minutes=120, now=next_week)
    record = usage.check_out(
        lab_manager, confirmed, ended=confirmed.ends_dt, run_minutes=120, now=next_week
    )
    assert (record.started_dt, record.ended_dt) == (confirmed.starts_dt, confirmed.ends_dt)
    assert confirmed.status == BookingStatus.COMPLETED


def test_the_booking_page_refuses_an_early_check_in_and_keeps_the_check_out_form(
    client, db, confirmed, lab_manager, login, monkeypatch
):
    login(lab_manager)
    monkeypatch.setattr(usage, "utcnow", lambda: confirmed.starts_dt - timedelta(days=3))
    response = client.post(f"/bookings/{confirmed.id}/check_in", headers=EN)
    assert response.status_code == 400
    assert "it can be checked in from 60 minutes before its start" in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert db.session.get(Booking, confirmed.id).status == BookingStatus.CONFIRMED

    monkeypatch.setattr(usage, "utcnow", lambda: confirmed.starts_dt + timedelta(minutes=2))
    assert client.post(f"/bookings/{confirmed.id}/check_in").status_code == 302
    # an end typed in the future: refused, and what was typed is shown again
    future = (confirmed.ends_dt + timedelta(minutes=30)).astimezone(at(workday(), 0).tzinfo)
    response = client.post(
        f"/bookings/{confirmed.id}/check_out",
        data={
            "ended": future.strftime("%Y-%m-%dT%H:%M"),
            "prep_minutes": 17,
            "run_minutes": 95,
            "notes": "断口观察",
        },
        headers=EN,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "cannot be in the future" in html
    assert 'value="17"' in html and 'value="断口观察"' in html
    db.session.expire_all()
    assert db.session.get(Booking, confirmed.id).status == BookingStatus.IN_PROGRESS


def test_typed_usage_in_the_future_is_refused(
    client, db, lab, lab_manager, make_listing, login, monkeypatch
):
    unit = make_listing(lab).units[0]
    login(lab_manager)
    now = at(workday(), 12)
    monkeypatch.setattr(usage, "utcnow", lambda: now)
    tomorrow = (now + timedelta(days=1)).strftime("%Y-%m-%d")
    response = client.post(
        "/lab/usage",
        data={
            "unit_id": unit.id,
            "started": f"{tomorrow}T09:00",
            "ended": f"{tomorrow}T11:00",
            "run_minutes": 120,
            "notes": "内部测试",
        },
        headers=EN,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "cannot be in the future" in html
    assert f'value="{tomorrow}T09:00"' in html and 'value="内部测试"' in html
    csv = (
        "unit_id,started,ended,prep_minutes,run_minutes,post_minutes\n"
        f"{unit.id},{tomorrow} 09:00,{tomorrow} 10:00,0,60,0\n"
    )
    response = client.post(
        "/lab/usage/import",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(csv.encode()), "u.csv")},
        headers=EN,
    )
    assert response.status_code == 400
    assert "Row 2 of the CSV file: Usage is recorded after it happens" in response.get_data(
        as_text=True
    )
    assert db.session.scalar(sa.select(sa.func.count(UsageRecord.id))) == 0
    today = now.strftime("%Y-%m-%d")
    response = client.post(
        "/lab/usage",
        data={
            "unit_id": unit.id,
            "started": f"{today}T09:00",
            "ended": f"{today}T11:00",
            "run_minutes": 120,
        },
    )
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(UsageRecord.id))) == 1
