"""The lab's own manager opens and submits the correction page of a usage record."""

from datetime import timedelta

import sqlalchemy as sa

from sharehub.booking import usage
from sharehub.booking.models import ServiceWay, UsageRecord
from sharehub.core.models import AuditEntry
from tests.support import clock

# a week ago, so the record lies in the past whatever the suite's today
DAY = (clock.today() - timedelta(days=7)).isoformat()

EN = {"Accept-Language": "en"}


def _record(db, lab_manager, listing):
    record = usage.log_usage(
        lab_manager,
        listing.units[0],
        user_org=None,
        started=clock.at(clock.today() - timedelta(days=7), 9),
        ended=clock.at(clock.today() - timedelta(days=7), 11),
        prep_minutes=10,
        run_minutes=100,
        post_minutes=10,
        service_way=ServiceWay.ON_SITE,
        notes="原始",
    )
    db.session.commit()
    return record


def test_correction_page_opens_with_the_record_in_local_time(
    client, db, lab, lab_manager, make_listing, login
):
    record = _record(db, lab_manager, make_listing(lab))
    login(lab_manager)
    response = client.get(f"/lab/usage/{record.id}", headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    # 09:00 in Asia/Shanghai (01:00 UTC), shown in the user's zone.
    assert f'value="{DAY}T09:00"' in page and f'value="{DAY}T11:00"' in page
    assert 'value="原始"' in page


def test_correction_is_a_new_record_naming_the_old_one_and_bad_values_answer_400(
    client, db, lab, lab_manager, make_listing, login
):
    record = _record(db, lab_manager, make_listing(lab))
    login(lab_manager)
    good = {
        "started": f"{DAY}T09:00",
        "ended": f"{DAY}T11:30",
        "prep_minutes": 20,
        "run_minutes": 100,
        "post_minutes": 10,
        "samples": 1,
        "service_way": "remote",
        "notes": "更正",
        "reason": "称量时间漏记",
    }
    response = client.post(f"/lab/usage/{record.id}", data={**good, "ended": f"{DAY}T08:00"})
    assert response.status_code == 400
    response = client.post(f"/lab/usage/{record.id}", data={**good, "reason": " "})
    assert response.status_code == 400
    assert count_records(db) == 1
    response = client.post(f"/lab/usage/{record.id}", data=good)
    assert response.status_code == 302
    db.session.expire_all()
    original = db.session.get(UsageRecord, record.id)
    assert original.prep_minutes == 10 and original.service_way == ServiceWay.ON_SITE
    correction = db.session.scalar(
        sa.select(UsageRecord).where(UsageRecord.corrects_id == record.id)
    )
    assert correction.prep_minutes == 20 and correction.service_way == ServiceWay.REMOTE
    assert correction.correction_reason == "称量时间漏记"
    assert correction.recorded_by_id == lab_manager.id
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "usage.corrected"))
    assert entry.data["changes"]["prep_minutes"] == ["10", "20"]
    page = client.get(f"/lab/usage/{correction.id}", headers=EN).get_data(as_text=True)
    assert f'value="{DAY}T11:30"' in page
    # the corrected record is corrected once; its correction is corrected next
    again = client.post(f"/lab/usage/{record.id}", data=good, headers=EN)
    assert again.status_code == 409
    assert count_records(db) == 2


def count_records(db):
    return db.session.scalar(sa.select(sa.func.count()).select_from(UsageRecord))


def test_correction_page_is_not_for_other_labs(
    client, db, lab, lab_manager, make_listing, make_org, make_user, login
):
    from sharehub.accounts.models import OrgKind, Role

    record = _record(db, lab_manager, make_listing(lab))
    other = make_user(make_org(kind=OrgKind.LAB), role=Role.MANAGER)
    login(other)
    assert client.get(f"/lab/usage/{record.id}").status_code == 404
