"""Members, invitations, roles and switching between organisations."""

import re

import sqlalchemy as sa

from sharehub.accounts.models import Invitation, Membership, Role, User
from sharehub.core.models import AuditEntry
from tests.conftest import PASSWORD

EN = {"Accept-Language": "en"}


def path_of(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)


def test_owner_invites_a_new_colleague_who_creates_an_account(
    client, db, make_org, make_user, login, mailbox
):
    org = make_org()
    owner = make_user(org)
    login(owner)
    response = client.post(
        "/account/organisation/invite", data={"email": "Colleague@Example.cn", "role": "manager"}
    )
    assert response.status_code == 302
    link = path_of(mailbox.link_in_last("colleague@example.cn", "/account/invitations/"))
    client.post("/account/signout")

    response = client.post(
        link, headers=EN, data={"name": "赵敏", "password": "short", "password2": "short"}
    )
    assert response.status_code == 400
    response = client.post(
        link, data={"name": "赵敏", "password": "colleague-secret", "password2": "colleague-secret"}
    )
    assert response.status_code == 302
    colleague = db.session.scalar(sa.select(User).where(User.email == "colleague@example.cn"))
    assert colleague.is_verified
    assert colleague.role_in(org) == Role.MANAGER
    # the link is single-use
    response = client.get(link, headers=EN)
    assert response.status_code == 400
    assert "already been accepted" in response.get_data(as_text=True)


def test_existing_user_joins_second_organisation_and_switches(
    client, db, make_org, make_user, login, mailbox
):
    first = make_org(name="第一公司", name_en="First Co")
    second = make_org(name="第二公司", name_en="Second Co")
    member = make_user(first, email="multi@example.cn")
    owner2 = make_user(second)
    login(owner2)
    client.post(
        "/account/organisation/invite", data={"email": "multi@example.cn", "role": "member"}
    )
    link = path_of(mailbox.link_in_last("multi@example.cn", "/account/invitations/"))
    client.post("/account/signout")
    login(member)
    assert client.post(link).status_code == 302
    page = client.get("/account/organisation").get_data(as_text=True)
    assert '<h1 class="h3 mb-1">Second Co' in page  # accepting switches to it
    client.post("/account/switch", data={"org_id": first.id})
    page = client.get("/account/organisation").get_data(as_text=True)
    assert '<h1 class="h3 mb-1">First Co' in page
    # cannot switch into an organisation one does not belong to
    stranger = make_org(name="别人的公司")
    assert client.post("/account/switch", data={"org_id": stranger.id}).status_code == 404


def test_invitation_for_someone_else_is_refused(client, db, make_org, make_user, login, mailbox):
    org = make_org()
    login(make_user(org))
    client.post(
        "/account/organisation/invite", data={"email": "target@example.cn", "role": "member"}
    )
    link = path_of(mailbox.link_in_last("target@example.cn", "/account/invitations/"))
    client.post("/account/signout")
    intruder = make_user(make_org())
    login(intruder)
    response = client.post(link, headers=EN)
    assert response.status_code == 403  # the invitation page again, refused
    assert "Sign in with that address" in response.get_data(as_text=True)
    assert intruder.membership_in(org) is None


def test_only_owners_invite_and_change_roles(client, db, make_org, make_user, login):
    org = make_org()
    owner = make_user(org)
    member = make_user(org, role=Role.MEMBER)
    login(member)
    client.post("/account/organisation/invite", data={"email": "x@example.cn", "role": "owner"})
    assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 0
    membership = owner.membership_in(org)
    client.post(f"/account/organisation/members/{membership.id}/role", data={"role": "member"})
    db.session.expire_all()
    assert db.session.get(Membership, membership.id).role == Role.OWNER


def test_last_owner_cannot_be_demoted_or_removed(client, db, make_org, make_user, login):
    org = make_org()
    owner = make_user(org)
    login(owner)
    membership = owner.membership_in(org)
    response = client.post(
        f"/account/organisation/members/{membership.id}/role",
        data={"role": "member"},
        headers=EN,
        follow_redirects=True,
    )
    assert "at least one owner" in response.get_data(as_text=True)
    client.post(f"/account/organisation/members/{membership.id}/remove")
    db.session.expire_all()
    assert db.session.get(Membership, membership.id).role == Role.OWNER


def test_owner_changes_role_and_removes_member_with_audit(client, db, make_org, make_user, login):
    org = make_org()
    owner = make_user(org)
    member = make_user(org, role=Role.MEMBER)
    login(owner)
    membership = member.membership_in(org)
    client.post(f"/account/organisation/members/{membership.id}/role", data={"role": "manager"})
    db.session.expire_all()
    assert db.session.get(Membership, membership.id).role == Role.MANAGER
    client.post(f"/account/organisation/members/{membership.id}/remove")
    assert db.session.get(Membership, membership.id) is None
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.organisation_id == org.id)
    ).all()
    assert "membership.role_changed" in actions and "membership.removed" in actions


def test_members_of_other_organisations_get_404(client, db, make_org, make_user, login):
    org, other = make_org(), make_org()
    victim = make_user(other, role=Role.MEMBER)
    login(make_user(org))
    membership = victim.membership_in(other)
    assert client.post(f"/account/organisation/members/{membership.id}/remove").status_code == 404
    assert (
        client.post(
            f"/account/organisation/members/{membership.id}/role", data={"role": "owner"}
        ).status_code
        == 404
    )


def test_manager_edits_organisation_details(client, db, make_org, make_user, login, cluster):
    org = make_org()
    login(make_user(org, role=Role.MANAGER))
    data = {
        "name": "新名称有限公司",
        "name_en": "New Name Ltd",
        "region_id": org.region_id,
        "cluster_id": cluster.id,
        "address": "苏州工业园区星湖街1号",
        "contact_name": "周杰",
        "contact_phone": "0512-1111111",
        "contact_email": "",
    }
    assert client.post("/account/organisation/edit", data=data).status_code == 302
    db.session.expire_all()
    assert org.name == "新名称有限公司" and org.cluster_id == cluster.id
    bad = dict(data, region_id="424242")
    assert client.post("/account/organisation/edit", data=bad).status_code == 400


def test_member_cannot_edit_organisation(client, db, make_org, make_user, login):
    org = make_org()
    login(make_user(org, role=Role.MEMBER))
    assert client.get("/account/organisation/edit").status_code == 403


def test_lab_documents_are_private(client, db, make_org, make_user, login, storage_dir):
    from sharehub.accounts.models import OrgDocument, OrgKind
    from sharehub.core.uploads import store_bytes
    from tests.conftest import pdf_bytes

    lab = make_org(kind=OrgKind.LAB)
    stored = store_bytes(pdf_bytes(), "cert.pdf", "application/pdf")
    doc = OrgDocument(
        organisation=lab,
        original_name="cert.pdf",
        stored_name=stored.stored_name,
        content_type="application/pdf",
        size=stored.size,
        sha256=stored.sha256,
    )
    db.session.add(doc)
    db.session.commit()
    assert client.get(f"/account/documents/{doc.id}").status_code == 302  # sign in first
    login(make_user(make_org()))
    assert client.get(f"/account/documents/{doc.id}").status_code == 404
    client.post("/account/signout")
    client.post("/account/signin", data={"email": make_user(lab).email, "password": PASSWORD})
    response = client.get(f"/account/documents/{doc.id}")
    body = response.get_data()
    response.close()
    assert response.status_code == 200 and body.startswith(b"%PDF-")
    assert "attachment" in response.headers["Content-Disposition"]
