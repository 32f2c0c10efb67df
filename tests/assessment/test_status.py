"""Entry and exit of labs: the transition table, the catalogue and bookings, customers told,
the public register."""

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgStatus
from sharehub.assessment import status
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.models import AuditEntry, Notification
from tests.support.clock import workday, workdays

pytestmark = pytest.mark.usefixtures("english")


def _change(client, lab, target, reason="抽查发现问题"):
    return client.post(
        f"/supervision/labs/{lab.id}/status", data={"target": target, "reason": reason}
    )


def test_the_lab_lifecycle_follows_the_table_and_every_change_is_audited(db, lab, platform_admin):
    path = [OrgStatus.RECTIFYING, OrgStatus.SUSPENDED, OrgStatus.RECTIFYING, OrgStatus.ACTIVE]
    path += [OrgStatus.SUSPENDED, OrgStatus.REVOKED]
    for n, target in enumerate(path):
        status.change_lab_status(platform_admin, lab, target, f"理由 {n}")
    assert lab.status == OrgStatus.REVOKED and lab.status_reason == "理由 5"
    for target in OrgStatus:
        with pytest.raises(Conflict, match="cannot go from Revoked"):
            status.change_lab_status(platform_admin, lab, target, "再试")
    entries = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.action == "organisation.status_changed", AuditEntry.object_id == lab.id)
        .order_by(AuditEntry.id)
    ).all()
    assert [(e.data["old"], e.data["new"], e.data["reason"]) for e in entries] == [
        ("active", "rectifying", "理由 0"),
        ("rectifying", "suspended", "理由 1"),
        ("suspended", "rectifying", "理由 2"),
        ("rectifying", "active", "理由 3"),
        ("active", "suspended", "理由 4"),
        ("suspended", "revoked", "理由 5"),
    ]
    assert all(e.actor_id == platform_admin.id for e in entries)


def test_a_reason_and_a_supervisor_are_required(db, lab, lab_manager, platform_admin, make_org):
    with pytest.raises(ValidationError, match="reason"):
        status.change_lab_status(platform_admin, lab, OrgStatus.SUSPENDED, "  ")
    with pytest.raises(PermissionDenied):
        status.change_lab_status(lab_manager, lab, OrgStatus.ACTIVE, "我们自己恢复")
    pending = make_org(kind=lab.kind, status=OrgStatus.PENDING)
    with pytest.raises(Conflict):
        status.change_lab_status(platform_admin, pending, OrgStatus.ACTIVE, "未经审核")
    assert lab.status == OrgStatus.ACTIVE


def test_rectifying_labs_serve_suspended_and_revoked_leave_the_catalogue(
    client, db, lab, make_listing, platform_admin, login, buyer, book
):
    listing = make_listing(lab, name="扫描电子显微镜")
    login(platform_admin)

    def listed() -> bool:
        page = client.get("/catalog?q=扫描电子显微镜").get_data(as_text=True)
        return f"/catalog/{listing.id}" in page

    assert listed()
    assert _change(client, lab, "rectifying").status_code == 302
    assert listed() and lab.is_serving
    book(buyer, listing, workday(12))  # still takes bookings under rectification

    assert _change(client, lab, "suspended").status_code == 302
    assert not listed()
    with pytest.raises(Conflict, match="does not take bookings"):
        book(buyer, listing, workday(14))
    client.post("/account/signout")
    assert client.get(f"/catalog/{listing.id}").status_code == 404
    assert "does not take bookings" in client.get(f"/labs/{lab.id}").get_data(as_text=True)

    login(platform_admin)
    assert _change(client, lab, "revoked").status_code == 302
    assert not listed()
    response = _change(client, lab, "active")
    assert response.status_code == 400
    assert lab.status == OrgStatus.REVOKED


def test_customers_with_bookings_ahead_are_told_once_each(
    client,
    db,
    lab,
    lab_manager,
    make_listing,
    make_org,
    make_user,
    platform_admin,
    login,
    book,
    mailbox,
    buyer,
):
    listing = make_listing(lab, approval_required=False)
    other_org = make_org(name="另一企业")
    other = (other_org, make_user(other_org, email="other@example.cn"))
    days = workdays(4)
    first = book(buyer, listing, days[0])
    second = book(buyer, listing, days[2], (13, 30), (15, 30))
    book(other, listing, days[1])
    cancelled = book(other, listing, days[3])
    from sharehub.booking import services

    services.cancel(other[1], cancelled)
    db.session.commit()

    login(platform_admin)
    response = _change(client, lab, "suspended", "仪器计量检定过期")
    assert response.status_code == 302
    assert "2 customers" in client.get(response.location).get_data(as_text=True)

    def told(address):
        return [m for m in mailbox.to(address) if "no longer takes bookings" in m["Subject"]]

    (mail,) = told("buyer@example.cn")
    body = mailbox.body(mail)
    assert f"#{first.id} " in body and f"#{second.id} " in body and "仪器计量检定过期" in body
    (mail,) = told("other@example.cn")
    assert f"#{cancelled.id} " not in mailbox.body(mail)
    assert "仪器计量检定过期" in mailbox.body(mailbox.last_to(lab_manager.email))
    notes = db.session.scalars(
        sa.select(Notification.text)
        .where(Notification.user_id == buyer[1].id)
        .order_by(Notification.id.desc())
        .limit(1)
    ).all()
    assert notes == [f"{lab.name} no longer takes bookings on ShareHub"]


def test_the_public_register_lists_admitted_labs_and_their_status(
    client, db, make_org, platform_admin
):
    from sharehub.accounts.models import OrgKind

    names = {
        OrgStatus.ACTIVE: "甲实验室",
        OrgStatus.RECTIFYING: "乙实验室",
        OrgStatus.SUSPENDED: "丙实验室",
        OrgStatus.REVOKED: "丁实验室",
        OrgStatus.PENDING: "待审实验室",
        OrgStatus.REJECTED: "驳回实验室",
    }
    labs = {s: make_org(kind=OrgKind.LAB, status=s, name=n) for s, n in names.items()}
    page = client.get("/labs?lang=en").get_data(as_text=True)
    for s in (OrgStatus.ACTIVE, OrgStatus.RECTIFYING, OrgStatus.SUSPENDED, OrgStatus.REVOKED):
        assert names[s] in page
    assert "待审实验室" not in page and "驳回实验室" not in page
    suspended = client.get("/labs?status=suspended").get_data(as_text=True)
    assert "丙实验室" in suspended and "甲实验室" not in suspended
    assert f"/labs/{labs[OrgStatus.REVOKED].id}" in page
