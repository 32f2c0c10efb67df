"""Administration: lab admission, users, clusters, regions, audit log; regulators read only."""

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import Cluster, Organisation, OrgKind, OrgStatus, Region, User
from sharehub.core.models import AuditEntry

EN = {"Accept-Language": "en"}


@pytest.fixture
def pending_lab(make_org, make_user):
    lab = make_org(
        kind=OrgKind.LAB, status=OrgStatus.PENDING, name="待审实验室", name_en="Pending Lab"
    )
    owner = make_user(lab, email="labowner@example.cn")
    return lab, owner


@pytest.fixture
def regulator(make_org, make_user):
    return make_user(make_org(kind=OrgKind.AUTHORITY, name="某市市场监督管理局"))


def test_admin_admits_a_lab_and_the_owner_is_told(
    client, db, platform_admin, pending_lab, login, mailbox
):
    lab, _ = pending_lab
    login(platform_admin)
    page = client.get("/admin/").get_data(as_text=True)
    assert "Pending Lab" in page
    assert client.post(f"/admin/organisations/{lab.id}/admit").status_code == 302
    db.session.expire_all()
    assert db.session.get(Organisation, lab.id).status == OrgStatus.ACTIVE
    assert "admitted" in mailbox.body(mailbox.last_to("labowner@example.cn"))
    entry = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "organisation.admitted")
    )
    assert entry.actor_id == platform_admin.id and entry.organisation_id == lab.id
    # admitting twice is refused without change
    response = client.post(f"/admin/organisations/{lab.id}/admit", follow_redirects=True)
    assert response.status_code == 409  # the organisation page again, with the refusal
    assert "not awaiting admission" in response.get_data(as_text=True)


def test_reject_needs_a_reason_which_the_lab_reads(
    client, db, platform_admin, pending_lab, login, mailbox
):
    lab, owner = pending_lab
    login(platform_admin)
    response = client.post(f"/admin/organisations/{lab.id}/reject", data={"reason": ""})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Organisation, lab.id).status == OrgStatus.PENDING
    client.post(
        f"/admin/organisations/{lab.id}/reject",
        data={"reason": "CNAS 证书已过期 / certificate expired"},
    )
    db.session.expire_all()
    assert db.session.get(Organisation, lab.id).status == OrgStatus.REJECTED
    assert "certificate expired" in mailbox.body(mailbox.last_to(owner.email))
    client.post("/account/signout")
    client.post("/account/signin", data={"email": owner.email, "password": "correct horse battery"})
    assert "certificate expired" in client.get("/account/organisation").get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/admin/organisations/{id}/admit", "/admin/organisations/{id}/reject"]
)
def test_non_admins_cannot_admit_or_reject(
    client, db, pending_lab, regulator, make_user, make_org, login, path
):
    lab, owner = pending_lab
    for user in (owner, regulator, make_user(make_org())):
        client.post("/account/signout")
        login(user)
        response = client.post(path.format(id=lab.id), data={"reason": "x"})
        assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Organisation, lab.id).status == OrgStatus.PENDING


def test_regulator_reads_labs_but_not_admin_pages(client, db, regulator, pending_lab, login):
    login(regulator)
    assert "Pending Lab" in client.get("/admin/organisations?kind=lab").get_data(as_text=True)
    page = client.get(f"/admin/organisations/{pending_lab[0].id}").get_data(as_text=True)
    assert "admit-button" not in page
    for path in ("/admin/users", "/admin/clusters", "/admin/regions", "/admin/audit"):
        assert client.get(path).status_code == 403
    nav = client.get("/").get_data(as_text=True)
    assert "Supervision" in nav and "Audit log" not in nav


def test_enterprise_user_has_no_admin_access(client, db, make_org, make_user, login):
    login(make_user(make_org()))
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin/organisations").status_code == 403


def test_organisation_filters(client, db, platform_admin, pending_lab, make_org, login):
    make_org(name="筛选企业", name_en="Filter Enterprise")
    login(platform_admin)
    page = client.get("/admin/organisations?kind=lab&status=pending").get_data(as_text=True)
    assert "Pending Lab" in page and "Filter Enterprise" not in page
    page = client.get("/admin/organisations?q=筛选").get_data(as_text=True)
    assert "Filter Enterprise" in page and "Pending Lab" not in page
    page = client.get("/admin/organisations?kind=bogus&status=bogus").get_data(as_text=True)
    assert "Filter Enterprise" in page


def test_admin_disables_and_enables_a_user(client, db, platform_admin, make_org, make_user, login):
    user = make_user(make_org())
    login(platform_admin)
    client.post(f"/admin/users/{user.id}/disable")
    db.session.expire_all()
    assert db.session.get(User, user.id).disabled
    client.post(f"/admin/users/{user.id}/enable")
    db.session.expire_all()
    assert not db.session.get(User, user.id).disabled
    response = client.post(f"/admin/users/{platform_admin.id}/disable", follow_redirects=True)
    assert "cannot disable your own account" in response.get_data(as_text=True)


def test_admin_manages_clusters(client, db, platform_admin, city, login):
    login(platform_admin)
    data = {
        "name": "无锡物联网产业集群",
        "name_en": "Wuxi IoT Cluster",
        "region_id": city.id,
        "description": "",
        "is_active": "y",
    }
    assert client.post("/admin/clusters/new", data=data).status_code == 302
    cluster = db.session.scalar(sa.select(Cluster).where(Cluster.name == "无锡物联网产业集群"))
    assert cluster.is_active
    assert client.post("/admin/clusters/new", data=data).status_code == 409  # duplicate name
    client.post(f"/admin/clusters/{cluster.id}", data=dict(data, is_active=""))
    db.session.expire_all()
    assert not db.session.get(Cluster, cluster.id).is_active
    # inactive clusters are no longer offered at sign-up
    client.post("/account/signout")
    assert "无锡物联网产业集群" not in client.get("/account/signup").get_data(as_text=True)


def test_admin_manages_regions(client, db, platform_admin, login):
    login(platform_admin)
    province = db.session.scalar(sa.select(Region).where(Region.code == "320000"))
    data = {"code": "320583", "name": "昆山市", "name_en": "Kunshan", "parent_id": province.id}
    assert client.post("/admin/regions/new", data=data).status_code == 302
    assert (
        db.session.scalar(sa.select(Region).where(Region.code == "320583")).parent_id == province.id
    )
    assert client.post("/admin/regions/new", data=data).status_code == 409  # duplicate code
    bad = dict(data, code="32058")
    assert client.post("/admin/regions/new", data=bad).status_code == 400


def test_audit_log_filters(client, db, platform_admin, pending_lab, login):
    lab, _ = pending_lab
    login(platform_admin)
    client.post(f"/admin/organisations/{lab.id}/admit")
    page = client.get("/admin/audit?action=organisation.admitted").get_data(as_text=True)
    assert "organisation.admitted" in page and "user.signed_in</code>" not in page
    page = client.get(f"/admin/audit?actor={platform_admin.email}").get_data(as_text=True)
    assert "user.signed_in" in page
    page = client.get("/admin/audit?from=2000-01-01&to=2000-01-02").get_data(as_text=True)
    assert "No entry matches" in page
    page = client.get("/admin/audit?from=not-a-date").get_data(as_text=True)
    assert "YYYY-MM-DD" in page


def test_the_audit_log_shows_labels_and_codes_beside(
    client, db, platform_admin, pending_lab, login
):
    lab, _ = pending_lab
    platform_admin.locale = "zh_CN"
    db.session.commit()
    login(platform_admin)
    client.post(f"/admin/organisations/{lab.id}/admit")
    html = client.get("/admin/audit?action=organisation.admitted").get_data(as_text=True)
    assert '<span title="organisation.admitted">机构已准入</span>' in html
    assert '<option value="organisation.admitted" selected>机构已准入</option>' in html
    assert '<option value="user.signed_in" >登录</option>' in html
    assert 'class="small audit-org"' in html  # the organisation keeps its width
