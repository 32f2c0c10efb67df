"""The authority's pages: programmes created from a form in yuan, applications granted or
refused; other organisations get nothing."""

from datetime import date

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind, Role
from sharehub.catalog.models import Field
from sharehub.core.models import Notification, OutboxMessage
from sharehub.vouchers import services
from sharehub.vouchers.models import VoucherProgramme, VoucherQuota
from tests.vouchers.conftest import YEAR

pytestmark = pytest.mark.usefixtures("english")


def programme_form(**overrides):
    data = {
        "name": "2026年工业园区创新券",
        "subsidy_percent": "45",
        "yearly_cap": "500000",
        "order_cap": "2000.50",
        "valid_from": f"{YEAR}-01-01",
        "valid_to": f"{YEAR}-12-31",
        "notice_days": "10",
    }
    data.update(overrides)
    return data


def test_authority_creates_a_programme_in_yuan_with_eligibility(
    client, db, authority, login_as, city, cluster, lab
):
    org, officer = authority
    login_as(officer)
    form = client.get("/vouchers/programmes/new").get_data(as_text=True)
    assert 'name="region_ids"' in form and "Test Lab" in form and "New materials" in form
    data = programme_form(
        region_ids=[str(city.id), str(city.parent_id)],
        cluster_ids=[str(cluster.id)],
        fields=[Field.NEW_MATERIALS.value, Field.BIOMEDICINE.value],
        lab_ids=[str(lab.id)],
    )
    response = client.post("/vouchers/programmes/new", data=data)
    assert response.status_code == 302
    programme = db.session.scalar(
        sa.select(VoucherProgramme).where(VoucherProgramme.authority_id == org.id)
    )
    assert (programme.subsidy_bp, programme.yearly_cap, programme.order_cap) == (
        4500,
        50_000_000,
        200_050,
    )
    assert programme.notice_days == 10 and programme.valid_to == date(YEAR, 12, 31)
    assert sorted(programme.region_ids) == sorted([city.id, city.parent_id])
    assert programme.cluster_ids == [cluster.id] and programme.lab_ids == [lab.id]
    assert programme.fields == ["new_materials", "biomedicine"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "45.0 percent" in page and "2,000.50" in page and "500,000.00" in page
    listing = client.get("/vouchers/programmes").get_data(as_text=True)
    assert "2026年工业园区创新券" in listing


def test_bad_programme_input_is_refused_and_kept(client, db, authority, login_as):
    login_as(authority[1])
    response = client.post(
        "/vouchers/programmes/new",
        data=programme_form(valid_from=f"{YEAR}-06-01", valid_to=f"{YEAR}-01-31"),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The programme ends after it starts." in html and "2026年工业园区创新券" in html
    response = client.post("/vouchers/programmes/new", data=programme_form(subsidy_percent="120"))
    assert response.status_code == 400 and "Between 0.01 and 100." in response.get_data(
        as_text=True
    )
    assert db.session.scalar(sa.select(sa.func.count(VoucherProgramme.id))) == 0


def test_only_an_authoritys_managers_reach_its_pages(
    client, db, programme, lab_manager, make_org, make_user, login_as, buyer
):
    for outsider in (lab_manager, buyer):
        login_as(outsider)
        assert client.get("/vouchers/programmes").status_code == 403
        assert client.post("/vouchers/programmes/new", data=programme_form()).status_code == 403
        assert client.get(f"/vouchers/programmes/{programme.id}").status_code == 403
    other = make_org(kind=OrgKind.AUTHORITY, name="无锡市科技局")
    login_as(make_user(other))
    assert client.get(f"/vouchers/programmes/{programme.id}").status_code == 404
    assert client.get(f"/vouchers/programmes/{programme.id}/report").status_code == 404
    assert client.get(f"/vouchers/programmes/{programme.id}/report.csv").status_code == 404
    # a plain member of the authority itself does not manage it
    login_as(make_user(programme.authority, role=Role.MEMBER))
    assert client.get(f"/vouchers/programmes/{programme.id}").status_code == 403


def test_authority_grants_and_refuses_applications(
    client, db, programme, authority, login_as, buyer, booked, make_org, make_user, mailbox
):
    firm = booked.customer_org
    quota = services.apply_for_quota(buyer, firm, programme, YEAR, 20_000_00)
    other_firm = make_org(name="昆山光电有限公司", name_en="Kunshan Optoelectronics")
    other_buyer = make_user(other_firm)
    refused = services.apply_for_quota(other_buyer, other_firm, programme, YEAR, 5_000_00)
    db.session.commit()
    login_as(authority[1])
    page = client.get(f"/vouchers/programmes/{programme.id}").get_data(as_text=True)
    assert "20,000.00" in page and "Kunshan Optoelectronics" in page
    # a foreign authority's manager cannot decide it
    client.post(f"/vouchers/quotas/{quota.id}/grant", data={"amount": "15000"})
    db.session.expire_all()
    quota = db.session.get(VoucherQuota, quota.id)
    assert (quota.status, quota.granted_amount, quota.used_amount) == ("granted", 15_000_00, 0)
    assert (
        client.post(f"/vouchers/quotas/{refused.id}/reject", data={"reason": ""}).status_code == 400
    )
    assert db.session.get(VoucherQuota, refused.id).status == "applied"
    client.post(f"/vouchers/quotas/{refused.id}/reject", data={"reason": "不属于中小企业"})
    db.session.expire_all()
    refused = db.session.get(VoucherQuota, refused.id)
    assert (refused.status, refused.reason) == ("rejected", "不属于中小企业")
    assert quota.decided_dt is not None and refused.decided_dt is not None
    # deciding twice is refused
    response = client.post(
        f"/vouchers/quotas/{quota.id}/grant", data={"amount": "50000"}, follow_redirects=True
    )
    assert "already been decided" in response.get_data(as_text=True)
    assert db.session.get(VoucherQuota, quota.id).granted_amount == 15_000_00
    texts = db.session.scalars(
        sa.select(Notification.text).where(Notification.user_id == buyer.id)
    ).all()
    assert any("is granted" in t and "15,000.00" in t for t in texts)
    mails = db.session.scalars(
        sa.select(OutboxMessage.recipient).where(OutboxMessage.subject.contains("refused"))
    ).all()
    assert mails == [other_buyer.email]
    body = db.session.scalar(
        sa.select(OutboxMessage.body_text).where(OutboxMessage.recipient == other_buyer.email)
    )
    assert "不属于中小企业" in body and "http://localhost/vouchers/quotas" in body


def test_a_foreign_authority_cannot_decide(
    client, db, programme, buyer, booked, make_org, make_user, login_as
):
    quota = services.apply_for_quota(buyer, booked.customer_org, programme, YEAR, 1_000_00)
    db.session.commit()
    login_as(make_user(make_org(kind=OrgKind.AUTHORITY)))
    assert (
        client.post(f"/vouchers/quotas/{quota.id}/grant", data={"amount": "1000"}).status_code
        == 404
    )
    assert (
        client.post(f"/vouchers/quotas/{quota.id}/reject", data={"reason": "x"}).status_code == 404
    )
    db.session.expire_all()
    assert db.session.get(VoucherQuota, quota.id).status == "applied"
