"""The administrators' page of the usage chains names each lab's first broken link."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind, Role
from sharehub.booking import usage
from sharehub.booking.models import UsageRecord
from tests.support import clock

EN = {"Accept-Language": "en"}
DAY = clock.today() - timedelta(days=5)


@pytest.fixture
def records(db, lab, lab_manager, make_listing):
    unit = make_listing(lab).units[0]
    made = [
        usage.log_usage(
            lab_manager,
            unit,
            user_org=None,
            started=clock.at(DAY, hour),
            ended=clock.at(DAY, hour + 1),
            prep_minutes=0,
            run_minutes=60,
            post_minutes=0,
        )
        for hour in (8, 9, 10)
    ]
    db.session.commit()
    return made


def test_the_page_shows_intact_chains_then_the_first_broken_link(
    client, db, lab, records, platform_admin, login
):
    login(platform_admin)
    page = client.get("/admin/usage-chain", headers=EN).get_data(as_text=True)
    assert 'data-broken="0"' in page and "intact" in page
    db.session.execute(
        sa.update(UsageRecord).where(UsageRecord.id == records[1].id).values(notes="改过")
    )
    db.session.commit()
    page = client.get("/admin/usage-chain", headers=EN).get_data(as_text=True)
    assert 'data-broken="1"' in page
    assert f'data-record="{records[1].id}"' in page
    assert f"Record {records[1].id} (position 2)" in page
    zh = client.get("/admin/usage-chain", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 200


@pytest.mark.parametrize("who", ["lab", "enterprise", "regulator", "anonymous"])
def test_the_page_is_for_administrators(
    client, db, lab, lab_manager, records, make_org, make_user, login, who
):
    if who == "lab":
        login(lab_manager)
    elif who == "enterprise":
        login(make_user(make_org(name="企业")))
    elif who == "regulator":
        login(make_user(make_org(kind=OrgKind.AUTHORITY), role=Role.INSPECTOR))
    response = client.get("/admin/usage-chain")
    assert response.status_code == (302 if who == "anonymous" else 403)
