"""The groups pages: the organisation's owners and managers create groups and name the
head; the head keeps members, rules and funding accounts; members see only their groups
and the accounts they may charge; another organisation and regulators see nothing."""

import pytest
import sqlalchemy as sa

from sharehub.core.models import AuditEntry
from sharehub.institutions.models import FundingAccount, Group, GroupMember
from tests.support import clock

pytestmark = pytest.mark.usefixtures("english")


def audit_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))


def snapshot(db, campus):
    group = db.session.get(Group, campus.group.id)
    db.session.refresh(group)
    return (
        group.head_id,
        group.approval_above,
        sorted(m.user_id for m in group.members),
        [(a.code, a.budget, a.valid_to, sorted(a.charger_ids)) for a in group.accounts],
        audit_count(db),
    )


def routes(campus):
    g = campus.group.id
    member = campus.group.members[0].id
    day = clock.today()
    account = {
        "code": "GR-NEW",
        "name": "新经费",
        "valid_from": day.isoformat(),
        "valid_to": day.replace(year=day.year + 1).isoformat(),
        "budget": "100.00",
    }
    return [
        (f"/account/groups/{g}/head", {"head_email": campus.bystander.email}),
        (f"/account/groups/{g}/members", {"email": campus.bystander.email}),
        (f"/account/groups/{g}/members/{member}/remove", {}),
        (f"/account/groups/{g}/rules", {"approval_above": "1.00"}),
        (f"/account/groups/{g}/accounts", account),
        (f"/account/groups/{g}/accounts/{campus.account.id}", account),
    ]


@pytest.mark.parametrize(
    ("who", "status"),
    [("outsider", 404), ("regulator", 404), ("student", 403), ("bystander", 404)],
)
def test_no_one_but_the_head_or_admins_changes_a_group(db, client, login, campus, who, status):
    """Another organisation's user and a regulator do not see the group (404); a plain
    member acting as head is refused (403); nothing changes."""
    login(getattr(campus, who))
    before = snapshot(db, campus)
    for url, data in routes(campus):
        response = client.post(url, data=data)
        assert response.status_code == status, (url, response.status_code)
    assert snapshot(db, campus) == before


def test_the_organisation_owner_names_the_head_but_does_not_act_as_head(db, client, login, campus):
    login(campus.owner)
    before = snapshot(db, campus)
    for url, data in routes(campus)[1:]:
        assert client.post(url, data=data).status_code == 403, url
    assert snapshot(db, campus) == before
    response = client.post(
        f"/account/groups/{campus.group.id}/head", data={"head_email": campus.bystander.email}
    )
    assert response.status_code == 302
    assert db.session.get(Group, campus.group.id).head_id == campus.bystander.id


def test_anonymous_is_sent_to_sign_in(db, client, campus):
    before = snapshot(db, campus)
    for url in ("/account/groups", f"/account/groups/{campus.group.id}"):
        response = client.get(url)
        assert response.status_code == 302 and "/account/signin" in response.location
    for url, data in routes(campus) + [("/account/groups", {"name": "x"})]:
        response = client.post(url, data=data)
        assert response.status_code == 302 and "/account/signin" in response.location
    assert snapshot(db, campus) == before


@pytest.mark.parametrize(("who", "status"), [("outsider", 404), ("regulator", 404)])
def test_the_group_page_is_hidden_from_other_organisations(db, client, login, campus, who, status):
    login(getattr(campus, who))
    assert client.get(f"/account/groups/{campus.group.id}").status_code == status
    listing = client.get("/account/groups").get_data(as_text=True)
    assert "材料课题组" not in listing


def test_members_see_their_groups_and_the_accounts_they_may_charge(db, client, login, campus):
    login(campus.student)
    assert "材料课题组" in client.get("/account/groups").get_data(as_text=True)
    page = client.get(f"/account/groups/{campus.group.id}").get_data(as_text=True)
    assert "GR-2026-001" in page and "Committed" not in page
    client.post("/account/signout")
    login(campus.bystander)
    assert "材料课题组" not in client.get("/account/groups").get_data(as_text=True)


def test_the_head_sees_spending_against_budget(db, client, login, campus):
    from sharehub.booking import services
    from sharehub.booking.services import BookingRequest
    from tests.support.clock import at, workday

    services.create_booking(
        campus.student,
        campus.university,
        campus.listing,
        BookingRequest(
            at(workday(), 8, 30), at(workday(), 10, 30), funding_account_id=campus.account.id
        ),
    )
    db.session.commit()
    login(campus.head)
    page = client.get(f"/account/groups/{campus.group.id}").get_data(as_text=True)
    assert "Committed" in page and "1,060.00" in page and "5,000.00" in page


def test_owners_create_groups_and_plain_members_cannot(db, client, login, campus):
    data = {"name": "分析测试中心", "kind": "department", "head_email": campus.head.email}
    login(campus.student)
    assert client.post("/account/groups", data=data).status_code == 403
    client.post("/account/signout")
    login(campus.owner)
    assert client.post("/account/groups", data=data).status_code == 302
    made = db.session.scalar(sa.select(Group).where(Group.name == "分析测试中心"))
    assert made.head_id == campus.head.id and made.kind.value == "department"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "kind": "department", "head_email": "pi@uni.example.cn"}, "Give the name"),
        ({"name": "X", "kind": "club", "head_email": "pi@uni.example.cn"}, "kind of group"),
        ({"name": "X", "kind": "department", "head_email": "outsider@example.cn"}, "Name a member"),
        (
            {"name": "材料课题组", "kind": "department", "head_email": "pi@uni.example.cn"},
            "already",
        ),
    ],
)
def test_bad_group_input_is_refused_and_stores_nothing(db, client, login, campus, data, message):
    login(campus.owner)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Group))
    response = client.post("/account/groups", data=data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Group)) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"valid_to": "2020-01-01", "valid_from": "2021-01-01"}, "ends after it starts"),
        ({"budget": "-5"}, ""),
        ({"valid_to": "not a date"}, ""),
        ({"chargers": "999999"}, "Only the group&#39;s members"),
        ({"code": ""}, "Give the number"),
    ],
)
def test_bad_account_input_is_refused_and_stores_nothing(
    db, client, login, campus, change, message
):
    login(campus.head)
    day = clock.today()
    data = {
        "code": "GR-NEW",
        "name": "新经费",
        "valid_from": day.isoformat(),
        "valid_to": day.replace(year=day.year + 1).isoformat(),
        "budget": "100.00",
    } | change
    before = snapshot(db, campus)
    response = client.post(f"/account/groups/{campus.group.id}/accounts", data=data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert snapshot(db, campus) == before


def test_the_head_keeps_members_rules_and_accounts(db, client, login, campus):
    login(campus.head)
    g = campus.group.id
    assert (
        client.post(
            f"/account/groups/{g}/members", data={"email": campus.bystander.email}
        ).status_code
        == 302
    )
    response = client.post(
        f"/account/groups/{g}/rules",
        data={"approval_above": "800.00", "lab_ids": [str(campus.lab.id)]},
    )
    assert response.status_code == 302
    day = clock.today()
    response = client.post(
        f"/account/groups/{g}/accounts",
        data={
            "code": "HX-2026-07",
            "name": "横向课题",
            "valid_from": day.isoformat(),
            "valid_to": day.replace(year=day.year + 1).isoformat(),
            "budget": "",
            "chargers": [str(campus.bystander.id)],
        },
    )
    assert response.status_code == 302
    group = db.session.get(Group, g)
    db.session.refresh(group)
    assert group.approval_above == 80000 and group.approval_lab_ids == {campus.lab.id}
    made = db.session.scalar(sa.select(FundingAccount).where(FundingAccount.code == "HX-2026-07"))
    assert made.budget is None and made.charger_ids == {campus.bystander.id}
    # a member who leaves charges the group's accounts no more
    member = db.session.scalar(
        sa.select(GroupMember).where(GroupMember.user_id == campus.bystander.id)
    )
    response = client.post(f"/account/groups/{g}/members/{member.id}/remove")
    assert response.status_code == 302
    db.session.refresh(made)
    assert made.charger_ids == set()


def test_the_head_must_be_a_member_of_the_organisation(db, client, login, campus):
    login(campus.owner)
    response = client.post(
        f"/account/groups/{campus.group.id}/head", data={"head_email": campus.outsider.email}
    )
    assert response.status_code == 400
    assert db.session.get(Group, campus.group.id).head_id == campus.head.id


def test_the_pages_speak_chinese(db, client, login, campus):
    from sharehub.accounts.models import User

    user = db.session.get(User, campus.head.id)
    user.locale = "zh_CN"
    db.session.commit()
    login(campus.head)
    page = client.get(
        f"/account/groups/{campus.group.id}", headers={"Accept-Language": "zh-CN"}
    ).get_data(as_text=True)
    assert "经费账户" in page and "审批规则" in page
