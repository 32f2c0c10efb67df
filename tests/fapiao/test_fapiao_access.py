"""Who may see and handle fapiao: only the lab's owners and managers handle its requests;
only the enterprise's members keep its profiles and ask; everyone else (another lab,
another enterprise, a regulator, a lab's plain member, nobody signed in) is refused
through HTTP and changes nothing."""

import io

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind, Role
from sharehub.fapiao.models import Fapiao, FapiaoRequest, InvoiceProfile, RequestStatus
from tests.support.clock import today
from tests.support.fapiao import RED_NUMBER, buyer_form, fapiao_pdf

OUTSIDERS = ["other lab", "other enterprise", "regulator", "lab member", "anonymous"]


@pytest.fixture
def outsider(request, make_org, make_user, lab):
    def make(name):
        if name == "other lab":
            return make_user(make_org(kind=OrgKind.LAB), role=Role.MANAGER)
        if name == "other enterprise":
            return make_user(make_org())
        if name == "regulator":
            return make_user(make_org(kind=OrgKind.AUTHORITY))
        if name == "lab member":
            return make_user(lab, role=Role.MEMBER)
        return None

    return make


def as_(client, login, user):
    client.post("/account/signout")
    if user is not None:
        login(user)


def refused(response, user) -> bool:
    if user is None:
        return response.status_code == 302 and "/account/signin" in response.location
    return response.status_code in (400, 403, 404)


def state(db, fapiao_request):
    db.session.expire_all()
    return (
        fapiao_request.status,
        fapiao_request.exported_dt,
        db.session.scalar(sa.select(sa.func.count()).select_from(Fapiao)),
        db.session.scalar(sa.select(sa.func.count()).select_from(FapiaoRequest)),
    )


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_cannot_handle_a_labs_fapiao_requests(
    client, db, login, outsider, who, fapiao_request, statement, storage_dir
):
    user = outsider(who)
    before = state(db, fapiao_request)
    as_(client, login, user)
    page = client.get("/fapiao/lab")
    assert refused(page, user) or statement.number not in page.get_data(as_text=True)
    assert refused(client.get(f"/fapiao/requests/{fapiao_request.id}"), user)
    exported = client.post("/fapiao/lab/export", data={"request": str(fapiao_request.id)})
    assert refused(exported, user)
    attached = client.post(
        f"/fapiao/requests/{fapiao_request.id}/attach",
        data={
            "number": "26322000000012345678",
            "issued_date": today().isoformat(),
            "file": (io.BytesIO(fapiao_pdf()), "f.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert refused(attached, user)
    assert state(db, fapiao_request) == before


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_cannot_download_or_reverse_an_issued_fapiao(
    client, db, login, outsider, who, issued_fapiao, fapiao_request
):
    user = outsider(who)
    before = state(db, fapiao_request)
    as_(client, login, user)
    assert refused(client.get(f"/fapiao/documents/{issued_fapiao.id}"), user)
    reversed_ = client.post(
        f"/fapiao/documents/{issued_fapiao.id}/reverse",
        data={
            "confirmation_no": "R1",
            "reason": "error",
            "number": RED_NUMBER,
            "issued_date": today().isoformat(),
            "file": (io.BytesIO(fapiao_pdf()), "r.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert refused(reversed_, user)
    assert state(db, fapiao_request) == before


@pytest.mark.parametrize("who", [*OUTSIDERS, "lab manager"])
def test_only_the_enterprises_members_keep_its_profiles_and_ask(
    client, db, login, outsider, who, profile, statement, lab_manager
):
    user = lab_manager if who == "lab manager" else outsider(who)
    kept = profile.snapshot()
    as_(client, login, user)
    assert refused(client.get(f"/fapiao/profiles/{profile.id}"), user)
    changed = client.post(f"/fapiao/profiles/{profile.id}", data=buyer_form(title="别人的公司"))
    assert refused(changed, user)
    asked = client.post(
        f"/fapiao/statements/{statement.id}/request", data={"profile_id": profile.id}
    )
    assert refused(asked, user)
    db.session.expire_all()
    assert db.session.get(InvoiceProfile, profile.id).snapshot() == kept
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FapiaoRequest)) == 0
    if user is not None:
        listing = client.get("/fapiao/profiles").get_data(as_text=True)
        assert profile.tax_id not in listing


def test_the_lab_and_the_customer_both_see_the_request(
    client, login, lab_manager, customer, issued_fapiao, fapiao_request
):
    for user in (lab_manager, customer):
        as_(client, login, user)
        page = client.get(f"/fapiao/requests/{fapiao_request.id}")
        assert page.status_code == 200 and issued_fapiao.number in page.get_data(as_text=True)
    assert fapiao_request.status == RequestStatus.ISSUED
