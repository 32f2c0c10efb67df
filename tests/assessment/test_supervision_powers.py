"""Who may do what in supervision: every write route against every kind of user.

Platform administrators may do everything; an authority's owners and managers (authority
administrators) change the status of, inspect and notify the labs of their region and its
sub-regions; its inspectors draw spot checks, record findings and issue notices there
without changing a lab's status; its plain members only read. Schemes and rounds are the
platform's programme. A refused request answers 403 (anonymous: the sign-in page) and
changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind, OrgStatus, Power, Region, Role
from sharehub.assessment import rectification, rounds, spotchecks
from sharehub.assessment.models import (
    AssessmentRound,
    NoticeStatus,
    RectificationNotice,
    ReviewerScore,
    SpotCheck,
    SpotCheckKind,
)
from tests.support.clock import today

pytestmark = pytest.mark.usefixtures("english")

OK, DENIED, SIGN_IN = "ok", "denied", "sign in"


# --- the people ------------------------------------------------------------------------------


def _region(db, code):
    return db.session.scalar(sa.select(Region).where(Region.code == code))


def _authority(make_org, db, code, name):
    authority = make_org(kind=OrgKind.AUTHORITY, name=name)
    authority.region = _region(db, code)
    db.session.commit()
    return authority


@pytest.fixture
def actors(db, make_org, make_user, platform_admin, lab_manager):
    suzhou = _authority(make_org, db, "320500", "苏州市市场监督管理局")
    jiangsu = _authority(make_org, db, "320000", "江苏省市场监督管理局")
    nanjing = _authority(make_org, db, "320100", "南京市市场监督管理局")
    return {
        "platform admin": platform_admin,
        "authority admin": make_user(suzhou, role=Role.OWNER),
        "authority manager of the province": make_user(jiangsu, role=Role.MANAGER),
        "authority admin of another region": make_user(nanjing, role=Role.OWNER),
        "inspector": make_user(suzhou, role=Role.INSPECTOR),
        "viewer": make_user(suzhou, role=Role.MEMBER),
        "lab manager": lab_manager,
        "enterprise user": make_user(make_org(kind=OrgKind.ENTERPRISE)),
        "anonymous": None,
    }


# --- the routes ------------------------------------------------------------------------------


@pytest.fixture
def scene(db, lab, make_org, platform_admin):
    """A lab in Suzhou (the `lab` fixture) and one in Nanjing; the default scheme."""
    other = make_org(kind=OrgKind.LAB, name="南京实验室", name_en="Nanjing Lab")
    other.region = _region(db, "320100")
    db.session.commit()
    return {"lab": lab, "other_lab": other, "scheme": rounds.ensure_default_scheme()}


def _round(db, scene, admin, computed=False):
    start = today() - timedelta(days=400)
    round_ = rounds.create_round(
        admin, scene["scheme"], "2025 年度考核", start, start + timedelta(days=364)
    )
    if computed:
        rounds.compute(admin, round_, metrics_fn=lambda _s, _e, ids: {i: {} for i in ids})
    db.session.commit()
    return round_


def _notice(db, scene, admin, *, answered=False, overdue=False):
    notice = rectification.issue_notice(
        admin,
        scene["lab"],
        findings="开放机时记录不全",
        requirements="补全记录",
        deadline=today() + timedelta(days=30),
        place_under_rectification=False,
    )
    if answered:
        notice.status, notice.response = NoticeStatus.ANSWERED, "已补全"
    if overdue:
        notice.deadline_date = today() - timedelta(days=1)
    db.session.commit()
    return notice


def _status(db, scene, admin):
    lab = scene["lab"]
    data = {"target": "suspended", "reason": "抽查发现问题"}
    return f"/supervision/labs/{lab.id}/status", data, lambda: (lab.status, lab.status_reason)


def _scheme(db, scene, admin):
    indicator = next(i for i in scene["scheme"].indicators if not i.qualitative)
    data = {"indicator_id": indicator.id, "weight": "30", "target": "1", "cap": "30"}
    url = f"/supervision/schemes/{scene['scheme'].id}"
    return url, data, lambda: (indicator.weight, indicator.target, indicator.cap)


def _open_round(db, scene, admin):
    start = today() - timedelta(days=400)
    data = {
        "name": "新一轮考核",
        "scheme": scene["scheme"].id,
        "start": start.isoformat(),
        "end": (start + timedelta(days=364)).isoformat(),
    }
    return "/supervision/rounds", data, lambda: _count(db, AssessmentRound)


def _compute(db, scene, admin):
    round_ = _round(db, scene, admin)
    return f"/supervision/rounds/{round_.id}/compute", {}, lambda: (round_.status,)


def _publish(db, scene, admin):
    round_ = _round(db, scene, admin, computed=True)
    data = {"confirm": "1", "accept_missing": "1"}
    return f"/supervision/rounds/{round_.id}/publish", data, lambda: (round_.status,)


def _review(db, scene, admin):
    round_ = _round(db, scene, admin)
    data = {"lab": scene["lab"].id, "indicator": "org_management", "points": "15"}
    data["comment"] = "协调机制有效"
    return f"/supervision/rounds/{round_.id}/review", data, lambda: _count(db, ReviewerScore)


def _draw(db, scene, admin):
    data = {"kind": "lab", "sample_size": "500", "seed": "2026-1", "title": "年度抽查"}
    return "/supervision/spot-checks", data, lambda: _count(db, SpotCheck)


def _finding(db, scene, admin):
    check = spotchecks.draw(admin, SpotCheckKind.LAB, 500, seed="s")
    item = next(i for i in check.items if i.lab_id == scene["lab"].id)
    db.session.commit()
    data = {"result": "failed", "findings": "原始记录缺失"}
    url = f"/supervision/spot-checks/items/{item.id}/finding"
    return url, data, lambda: (item.result, item.findings, item.inspected_by_id)


def _notice_form(place: bool):
    def prepare(db, scene, admin):
        lab = scene["lab"]
        data = {
            "findings": "开放机时记录不全",
            "requirements": "补全记录",
            "deadline": (today() + timedelta(days=30)).isoformat(),
        }
        if place:
            data["place_under_rectification"] = "y"
        url = f"/supervision/labs/{lab.id}/notices/new"
        return url, data, lambda: (_count(db, RectificationNotice), lab.status)

    return prepare


def _close(db, scene, admin):
    notice = _notice(db, scene, admin, answered=True)
    url = f"/supervision/notices/{notice.id}/close"
    return url, {"note": "已整改"}, lambda: (notice.status, scene["lab"].status)


def _escalate(db, scene, admin):
    notice = _notice(db, scene, admin, overdue=True)
    data = {"note": "逾期未整改", "target": "suspended"}
    url = f"/supervision/notices/{notice.id}/escalate"
    return url, data, lambda: (notice.status, scene["lab"].status)


def _count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


ROUTES = {
    "lab status": _status,
    "scheme weights": _scheme,
    "open a round": _open_round,
    "compute a round": _compute,
    "publish a round": _publish,
    "review in a round": _review,
    "draw a spot check": _draw,
    "record a finding": _finding,
    "issue a notice, lab under rectification": _notice_form(place=True),
    "issue a notice, status kept": _notice_form(place=False),
    "close a notice": _close,
    "escalate a notice": _escalate,
}

# What each kind of user may do on a lab in Suzhou (README, "Supervision roles").
REGIONAL = {
    "lab status",
    "review in a round",
    "draw a spot check",
    "record a finding",
    "issue a notice, lab under rectification",
    "issue a notice, status kept",
    "close a notice",
    "escalate a notice",
}
ALLOWED = {
    "platform admin": set(ROUTES),
    "authority admin": REGIONAL,
    "authority manager of the province": REGIONAL,
    # draws only in its own region (checked below); nothing on a Suzhou lab
    "authority admin of another region": {"draw a spot check"},
    "inspector": {
        "review in a round",
        "draw a spot check",
        "record a finding",
        "issue a notice, status kept",
    },
    "viewer": set(),
    "lab manager": set(),
    "enterprise user": set(),
    "anonymous": set(),
}
CASES = [pytest.param(route, who, id=f"{route} / {who}") for route in ROUTES for who in ALLOWED]


@pytest.mark.parametrize(("route", "who"), CASES)
def test_every_supervision_write_follows_role_and_region(
    client, db, login, scene, actors, platform_admin, route, who
):
    url, data, state = ROUTES[route](db, scene, platform_admin)
    db.session.expire_all()
    before = state()
    actor = actors[who]
    if actor is not None:
        login(actor)
    response = client.post(url, data=data)
    db.session.expire_all()
    after = state()

    if actor is None:
        expected = SIGN_IN
    else:
        expected = OK if route in ALLOWED[who] else DENIED
    if expected == SIGN_IN:
        assert response.status_code == 302 and "/account/signin" in response.location
        assert after == before
    elif expected == DENIED:
        assert response.status_code == 403, response.get_data(as_text=True)[:300]
        assert after == before
    else:
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        assert "/account/signin" not in response.location
        assert after != before
    if route == "draw a spot check" and expected == OK:
        # a regulator's sample comes from its own region only
        check = db.session.scalar(sa.select(SpotCheck).order_by(SpotCheck.id.desc()))
        drawn = {item.lab_id for item in check.items}
        mine = {
            lab.id
            for lab in (scene["lab"], scene["other_lab"])
            if actor.can_supervise(lab, Power.INSPECT)
        }
        assert drawn == mine


def test_powers_on_the_models(db, scene, actors):
    """The predicates the services and templates ask."""
    lab, other = scene["lab"], scene["other_lab"]
    admin, province = actors["authority admin"], actors["authority manager of the province"]
    inspector, viewer = actors["inspector"], actors["viewer"]
    assert admin.can_supervise(lab, Power.STATUS) and not admin.can_supervise(other, Power.STATUS)
    assert province.can_supervise(lab, Power.STATUS)  # Suzhou lies in Jiangsu
    assert not province.can_supervise_region(None, Power.INSPECT)
    assert inspector.can_supervise(lab, Power.NOTICE)
    assert not inspector.can_supervise(lab, Power.STATUS)
    assert not any(viewer.can_supervise(lab, power) for power in Power)
    assert not any(admin.can_supervise(lab, Power.PROGRAMME) for admin in (admin, province))
    assert all(actors["platform admin"].can_supervise(other, power) for power in Power)
    # an authority that is not active supervises nothing
    admin.memberships[0].organisation.status = OrgStatus.SUSPENDED
    assert not admin.can_supervise(lab, Power.STATUS)


def test_pages_show_only_the_buttons_the_user_may_use(client, db, login, scene, actors):
    lab = scene["lab"]
    login(actors["inspector"])
    page = client.get(f"/supervision/labs/{lab.id}").get_data(as_text=True)
    assert 'id="new-notice"' in page and 'name="target"' not in page
    form = client.get(f"/supervision/labs/{lab.id}/notices/new").get_data(as_text=True)
    assert "place_under_rectification" not in form
    rounds_page = client.get("/supervision/rounds").get_data(as_text=True)
    assert 'id="round-form"' not in rounds_page
    assert 'id="draw-form"' in client.get("/supervision/spot-checks").get_data(as_text=True)
    client.post("/account/signout")

    login(actors["viewer"])
    page = client.get(f"/supervision/labs/{lab.id}").get_data(as_text=True)
    assert 'id="new-notice"' not in page and 'name="target"' not in page
    assert 'id="draw-form"' not in client.get("/supervision/spot-checks").get_data(as_text=True)
    client.post("/account/signout")

    login(actors["authority admin"])
    page = client.get(f"/supervision/labs/{lab.id}").get_data(as_text=True)
    assert 'id="new-notice"' in page and 'name="target"' in page
    other = client.get(f"/supervision/labs/{scene['other_lab'].id}").get_data(as_text=True)
    assert 'id="new-notice"' not in other and 'name="target"' not in other


def test_inspectors_belong_to_authorities_only(db, lab, make_user, actors):
    from sharehub.accounts import orgs
    from sharehub.core.errors import ValidationError

    lab_owner = make_user(lab, role=Role.OWNER)
    with pytest.raises(ValidationError, match="Only an authority has inspectors"):
        orgs.invite(lab_owner, lab, "someone@example.cn", Role.INSPECTOR)
    owner = actors["authority admin"]
    invitation = orgs.invite(
        owner, owner.memberships[0].organisation, "inspector2@example.cn", Role.INSPECTOR
    )
    assert invitation.role == Role.INSPECTOR


READERS = {
    "platform admin": True,
    "authority admin": True,
    "authority manager of the province": True,
    "inspector": True,
    "viewer": True,
    "authority admin of another region": False,
}


@pytest.mark.parametrize("who", list(READERS))
def test_regulators_read_the_records_of_their_region_only(
    client, db, login, scene, actors, platform_admin, who
):
    lab = scene["lab"]
    check = spotchecks.draw(
        actors["authority admin"], SpotCheckKind.LAB, 5, seed="r", region=lab.region
    )
    notice = _notice(db, scene, platform_admin)
    round_ = _round(db, scene, platform_admin, computed=True)
    card = next(c for c in round_.scorecards if c.lab_id == lab.id)
    db.session.commit()
    login(actors[who])
    pages = {
        f"/supervision/labs/{lab.id}": 403,
        f"/supervision/spot-checks/{check.id}": 403,
        f"/supervision/notices/{notice.id}": 404,
        f"/supervision/scorecards/{card.id}": 404,
    }
    for url, refused in pages.items():
        response = client.get(url)
        assert response.status_code == (200 if READERS[who] else refused), url
    listed = {
        "/supervision/notices": f"/supervision/notices/{notice.id}",
        "/supervision/spot-checks": f"/supervision/spot-checks/{check.id}",
        f"/supervision/rounds/{round_.id}": f"/supervision/scorecards/{card.id}",
    }
    for url, link in listed.items():
        page = client.get(url)
        assert page.status_code == 200
        assert (link in page.get_data(as_text=True)) == READERS[who], url
    # the public register shows every lab's status to everyone
    assert lab.name_en in client.get("/labs").get_data(as_text=True)
