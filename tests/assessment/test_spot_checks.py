"""Spot checks: recorded seeds give the same sample, periods are days in Asia/Shanghai,
draws are audited; findings lead to rectification notices."""

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind, OrgStatus
from sharehub.assessment import spotchecks
from sharehub.assessment.models import FindingResult, SpotCheck, SpotCheckKind
from sharehub.booking.availability import LAB_TZ
from sharehub.booking.models import UsageRecord
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.models import AuditEntry

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def labs(make_org, cluster):
    made = [
        make_org(kind=OrgKind.LAB, name=f"实验室{n}", cluster=cluster if n % 2 else None)
        for n in range(8)
    ]
    make_org(kind=OrgKind.LAB, status=OrgStatus.SUSPENDED, name="停牌实验室")
    make_org(kind=OrgKind.LAB, status=OrgStatus.PENDING, name="待审实验室")
    made.append(make_org(kind=OrgKind.LAB, status=OrgStatus.RECTIFYING, name="整改实验室"))
    return made


def test_the_same_seed_gives_the_same_sample_and_the_draw_is_audited(
    db, labs, platform_admin, regulator, city
):
    first = spotchecks.draw(platform_admin, SpotCheckKind.LAB, 4, seed="2026-第1批")
    # the regulator draws in its city, where every lab of the fixture is
    second = spotchecks.draw(regulator, SpotCheckKind.LAB, 4, seed="2026-第1批", region=city)
    ids = [item.object_id for item in first.items]
    assert ids == [item.object_id for item in second.items]
    assert len(set(ids)) == 4 and set(ids) <= {lab.id for lab in labs}
    # the population: the 9 serving labs (active or rectifying), by id
    assert (first.population_size, first.sample_size) == (9, 4)
    expected = spotchecks.sample([(lab.id, lab.id) for lab in labs], "2026-第1批", 4)
    assert ids == [object_id for object_id, _ in expected]
    assert first.population_digest == spotchecks.digest([(lab.id, lab.id) for lab in labs])
    other = spotchecks.draw(platform_admin, SpotCheckKind.LAB, 9, seed="另一个")
    assert sorted(item.object_id for item in other.items) == sorted(lab.id for lab in labs)

    entry = db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.action == "spot_check.drawn", AuditEntry.object_id == first.id
        )
    )
    assert entry.data["seed"] == "2026-第1批" and entry.data["drawn"] == ids
    assert entry.data["population"] == 9 and entry.actor_id == platform_admin.id
    assert spotchecks.redraw(first) == {
        "same_population": True,
        "same_sample": True,
        "population_size": 9,
    }


def test_a_cluster_narrows_the_population_and_an_empty_seed_is_made_up(
    db, labs, cluster, platform_admin
):
    check = spotchecks.draw(platform_admin, SpotCheckKind.LAB, 10, cluster_id=cluster.id)
    in_cluster = {lab.id for lab in labs if lab.cluster_id == cluster.id}
    assert {item.object_id for item in check.items} == in_cluster and len(in_cluster) == 4
    assert len(check.seed) == 16


def _usage(unit, org, local: datetime, minutes=60):
    record = UsageRecord(
        unit=unit,
        user_org=org,
        started_dt=local,
        ended_dt=local + timedelta(minutes=minutes),
        run_minutes=minutes,
    )
    return record


def test_service_records_are_drawn_from_days_in_shanghai(
    db, lab, make_listing, make_org, platform_admin
):
    unit = make_listing(lab).units[0]
    firm = make_org()
    inside = [
        _usage(unit, firm, datetime(2026, 3, 1, 0, 0, tzinfo=LAB_TZ)),  # 2026-02-28 16:00 UTC
        _usage(unit, firm, datetime(2026, 3, 15, 10, 0, tzinfo=LAB_TZ)),
        _usage(unit, firm, datetime(2026, 3, 31, 23, 30, tzinfo=LAB_TZ)),  # 15:30 UTC
    ]
    outside = [
        _usage(unit, firm, datetime(2026, 2, 28, 23, 59, tzinfo=LAB_TZ)),
        _usage(unit, firm, datetime(2026, 4, 1, 0, 10, tzinfo=LAB_TZ)),  # 03-31 16:10 UTC
    ]
    db.session.add_all(inside + outside)
    db.session.commit()
    check = spotchecks.draw(
        platform_admin,
        SpotCheckKind.USAGE,
        5,
        seed="三月",
        start=date(2026, 3, 1),
        end=date(2026, 3, 31),
    )
    assert check.population_size == 3
    assert sorted(i.object_id for i in check.items) == sorted(r.id for r in inside)
    assert {i.lab_id for i in check.items} == {lab.id}

    db.session.add(_usage(unit, firm, datetime(2026, 3, 20, 9, 0, tzinfo=LAB_TZ)))
    db.session.commit()
    verification = spotchecks.redraw(check)
    assert verification["same_population"] is False and verification["population_size"] == 4

    with pytest.raises(ValidationError, match="both dates"):
        spotchecks.draw(platform_admin, SpotCheckKind.BOOKING, 2)
    with pytest.raises(Conflict, match="nothing to draw"):
        spotchecks.draw(
            platform_admin, SpotCheckKind.BOOKING, 2, start=date(2026, 3, 1), end=date(2026, 3, 31)
        )


def test_only_supervisors_draw_and_the_page_shows_the_sample(
    client, db, labs, lab_manager, regulator, login
):
    with pytest.raises(PermissionDenied):
        spotchecks.draw(lab_manager, SpotCheckKind.LAB, 2)
    login(lab_manager)
    assert client.get("/supervision/spot-checks").status_code == 403
    client.post("/account/signout")
    login(regulator)
    response = client.post(
        "/supervision/spot-checks",
        data={"kind": "lab", "sample_size": "3", "seed": "abc", "title": "年度抽查"},
    )
    assert response.status_code == 302
    check = db.session.scalar(sa.select(SpotCheck).order_by(SpotCheck.id.desc()))
    page = client.get(response.location).get_data(as_text=True)
    # the 9 serving labs of the fixture and the manager's own lab
    assert "3 of 10" in page and "abc" in page
    for item in check.items:
        assert item.lab.name_en in page
    verify = client.get(response.location + "?verify=1").get_data(as_text=True)
    assert "the population is unchanged and the sample is the same" in verify

    bad = client.post("/supervision/spot-checks", data={"kind": "lab", "sample_size": "0"})
    assert bad.status_code == 400


def test_a_failed_finding_needs_a_description(db, labs, platform_admin):
    check = spotchecks.draw(platform_admin, SpotCheckKind.LAB, 1, seed="x")
    item = check.items[0]
    with pytest.raises(ValidationError, match="Describe"):
        spotchecks.record_finding(platform_admin, item, FindingResult.FAILED, " ")
    spotchecks.record_finding(platform_admin, item, FindingResult.FAILED, "开放机时记录不全")
    assert item.result == FindingResult.FAILED and item.inspected_by == platform_admin


def test_findings_are_recorded_through_the_page(client, db, labs, platform_admin, login):
    check = spotchecks.draw(platform_admin, SpotCheckKind.LAB, 2, seed="页面")
    db.session.commit()
    item = check.items[0]
    login(platform_admin)
    refused = client.post(
        f"/supervision/spot-checks/items/{item.id}/finding", data={"result": "failed"}
    )
    assert refused.status_code == 400 and "Describe the problem" in refused.get_data(True)
    done = client.post(
        f"/supervision/spot-checks/items/{item.id}/finding",
        data={"result": "failed", "findings": "公示的开放时间与实际不符"},
    )
    assert done.status_code == 302 and done.location.endswith(f"#item-{item.id}")
    db.session.refresh(item)
    assert (item.result, item.findings) == (FindingResult.FAILED, "公示的开放时间与实际不符")
    page = client.get(f"/supervision/spot-checks/{check.id}").get_data(as_text=True)
    assert f'id="result-{item.id}"' in page and f"item={item.id}" in page


def test_the_spot_check_shows_each_labs_share_of_typed_records(
    client, db, lab, make_listing, make_org, platform_admin, login
):
    from sharehub.booking.models import UsageSource

    unit = make_listing(lab).units[0]
    other_lab = make_org(kind=OrgKind.LAB, name="另一实验室")
    firm = make_org()
    march = datetime(2026, 3, 10, 9, 0, tzinfo=LAB_TZ)
    sources = [UsageSource.KIOSK] * 5 + [UsageSource.DEVICE] * 2 + [UsageSource.LAB_STAFF] * 2
    sources += [UsageSource.CSV_IMPORT]
    records = [_usage(unit, firm, march + timedelta(hours=n)) for n in range(len(sources))]
    for record, source in zip(records, sources, strict=True):
        record.source = source
    db.session.add_all(records)
    db.session.flush()
    # a kiosk record corrected by the staff counts as typed: the correction is what counts
    correction = _usage(unit, firm, march)
    correction.corrects_id, correction.correction_reason = records[0].id, "漏记"
    db.session.add(correction)
    db.session.add(_usage(unit, firm, datetime(2026, 4, 2, 9, 0, tzinfo=LAB_TZ)))  # outside
    db.session.commit()
    shares = spotchecks.capture_shares([lab.id, other_lab.id], date(2026, 3, 1), date(2026, 3, 31))
    # by hand: current records 11 - 1 corrected = 10; captured 4 + 2 = 6; typed 2 + 1 + 1 = 4
    assert (shares[lab.id].typed, shares[lab.id].captured) == (4, 6)
    assert str(shares[lab.id].typed_percent) == "40.0"
    assert shares[other_lab.id].total == 0 and shares[other_lab.id].typed_percent is None
    check = spotchecks.draw(
        platform_admin,
        SpotCheckKind.USAGE,
        3,
        seed="三月",
        start=date(2026, 3, 1),
        end=date(2026, 3, 31),
    )
    db.session.commit()
    login(platform_admin)
    page = client.get(f"/supervision/spot-checks/{check.id}").get_data(as_text=True)
    assert f'id="capture-lab-{lab.id}"' in page and 'data-share="40.0"' in page
