"""A refusal decided inside a service, on the account, organisation, administration and
supervision pages, answers with the status that says what happened (400 bad input, 403
not allowed, 409 not possible in the current state), shows the message on the page the
user was on, and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import Invitation, Membership, Organisation, OrgKind, Role, User
from sharehub.assessment import rectification, rounds, spotchecks
from sharehub.assessment.models import (
    AssessmentRound,
    FindingResult,
    RectificationNotice,
    SpotCheck,
    SpotCheckItem,
    SpotCheckKind,
)
from sharehub.catalog.models import Listing
from sharehub.core.models import AuditEntry
from tests.accounts.test_signup import signup_data
from tests.support.clock import today

EN = {"Accept-Language": "en"}


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# Each scene sets up what it needs and returns: who posts (None: nobody signed in), the
# address, the form, a marker of the page the user was on, and a snapshot of what must
# not change.


def _wrong_current_password(db, f):
    user = f.make_user(f.make_org())
    data = {"current_password": "not the password", "password": "another long secret"}
    data["password2"] = data["password"]
    return (
        user,
        "/account/password",
        data,
        'name="current_password"',
        lambda: db.session.get(User, user.id).password_hash,
    )


def _email_taken(db, f):
    f.make_user(f.make_org(), email="taken@example.cn")
    data = signup_data(f.city, email="Taken@example.cn")
    return None, "/account/signup", data, 'name="credit_code"', lambda: _count(db, Organisation)


def _member_changes_a_role(db, f):
    org = f.make_org()
    owner = f.make_user(org)
    member = f.make_user(org, role=Role.MEMBER)
    ship = owner.membership_in(org)
    url = f"/account/organisation/members/{ship.id}/role"
    return (
        member,
        url,
        {"role": "member"},
        org.credit_code,
        lambda: db.session.get(Membership, ship.id).role,
    )


def _last_owner_leaves(db, f):
    org = f.make_org()
    owner = f.make_user(org)
    ship = owner.membership_in(org)
    url = f"/account/organisation/members/{ship.id}/remove"
    return owner, url, {}, org.credit_code, lambda: _count(db, Membership)


def _invite_a_member_again(db, f):
    org = f.make_org()
    owner = f.make_user(org)
    f.make_user(org, role=Role.MEMBER, email="member@example.cn")
    data = {"email": "member@example.cn", "role": "member"}
    return (
        owner,
        "/account/organisation/invite",
        data,
        org.credit_code,
        lambda: _count(db, Membership),
    )


def _admit_an_active_lab(db, f):
    url = f"/admin/organisations/{f.lab.id}/admit"
    return (
        f.platform_admin,
        url,
        {},
        'id="supervision-link"',
        lambda: db.session.get(Organisation, f.lab.id).status,
    )


def _admin_disables_themselves(db, f):
    admin = f.platform_admin
    url = f"/admin/users/{admin.id}/disable"
    return (
        admin,
        url,
        {},
        'placeholder="Name or email"',
        lambda: db.session.get(User, admin.id).disabled,
    )


def _duplicate_cluster(db, f):
    data = {"name": f.cluster.name, "region_id": f.city.id, "is_active": "y"}
    return (
        f.platform_admin,
        "/admin/clusters/new",
        data,
        'name="name_en"',
        lambda: db.session.scalar(sa.select(sa.func.count()).select_from(type(f.cluster))),
    )


def _approve_a_published_listing(db, f):
    listing = f.make_listing(f.lab, name_en="ICP-OES")
    url = f"/admin/reviews/listings/{listing.id}"
    return (
        f.platform_admin,
        url,
        {"decision": "approve"},
        "See it as buyers will",
        lambda: db.session.get(Listing, listing.id).status,
    )


def _inspector_changes_a_status(db, f):
    authority = f.make_org(kind=OrgKind.AUTHORITY, name="苏州市市场监督管理局")
    inspector = f.make_user(authority, role=Role.INSPECTOR)
    data = {
        "findings": "开放机时记录不全",
        "deadline": (today() + timedelta(days=30)).isoformat(),
        "place_under_rectification": "y",
    }
    url = f"/supervision/labs/{f.lab.id}/notices/new"
    return (
        inspector,
        url,
        data,
        "Rectification notice to",
        lambda: (
            db.session.get(Organisation, f.lab.id).status,
            _count(db, RectificationNotice),
        ),
    )


def _close_an_unanswered_notice(db, f):
    notice = rectification.issue_notice(
        f.platform_admin,
        f.lab,
        findings="开放机时记录不全",
        requirements="补全记录",
        deadline=today() + timedelta(days=30),
        place_under_rectification=False,
    )
    db.session.commit()
    url = f"/supervision/notices/{notice.id}/close"
    return (
        f.platform_admin,
        url,
        {"note": "已核实"},
        f"Rectification notice #{notice.id}",
        lambda: db.session.get(RectificationNotice, notice.id).status,
    )


def _publish_before_computing(db, f):
    start = today() - timedelta(days=400)
    round_ = rounds.create_round(
        f.platform_admin,
        rounds.ensure_default_scheme(),
        "2025 年度考核",
        start,
        start + timedelta(days=364),
    )
    db.session.commit()
    url = f"/supervision/rounds/{round_.id}/publish"
    return (
        f.platform_admin,
        url,
        {"confirm": "1"},
        'id="round-status"',
        lambda: db.session.get(AssessmentRound, round_.id).status,
    )


def _draw_from_nothing(db, f):
    data = {"kind": "usage", "sample_size": 1, "start": "2020-01-01", "end": "2020-01-31"}
    return (
        f.platform_admin,
        "/supervision/spot-checks",
        data,
        'name="sample_size"',
        lambda: _count(db, SpotCheck),
    )


def _compute_a_published_round(db, f):
    start = today() - timedelta(days=400)
    round_ = rounds.create_round(
        f.platform_admin,
        rounds.ensure_default_scheme(),
        "2025 年度考核",
        start,
        start + timedelta(days=364),
    )
    rounds.compute(f.platform_admin, round_, metrics_fn=lambda _s, _e, ids: {i: {} for i in ids})
    rounds.publish(f.platform_admin, round_, accept_missing=True)
    db.session.commit()
    url = f"/supervision/rounds/{round_.id}/compute"
    return (
        f.platform_admin,
        url,
        {},
        'id="round-status"',
        lambda: (
            db.session.get(AssessmentRound, round_.id).status,
            db.session.get(AssessmentRound, round_.id).computed_dt,
        ),
    )


@pytest.mark.parametrize(
    ("scene", "status", "message"),
    [
        # sharehub/accounts/views.py
        (_wrong_current_password, 400, "The current password is wrong."),
        (_email_taken, 409, "An account with this email address already exists."),
        # sharehub/accounts/org_views.py
        (_member_changes_a_role, 403, "Only an owner of the organisation can change roles."),
        (_last_owner_leaves, 409, "An organisation keeps at least one owner."),
        (_invite_a_member_again, 409, "This person is already a member."),
        # sharehub/admin/views.py
        (_admit_an_active_lab, 409, "This laboratory is not awaiting admission."),
        (_admin_disables_themselves, 409, "You cannot disable your own account."),
        (_duplicate_cluster, 409, "A cluster with this name exists already."),
        # sharehub/admin/review_views.py
        (_approve_a_published_listing, 409, "This listing is not waiting for review."),
        # sharehub/assessment/views.py
        (_inspector_changes_a_status, 403, "may change its status or decide its notices."),
        (_close_an_unanswered_notice, 409, "Only an answered notice can be closed."),
        (_draw_from_nothing, 409, "There is nothing to draw from with these choices."),
        # sharehub/assessment/round_views.py
        (_publish_before_computing, 409, "Compute the scorecards before publishing the round."),
        (_compute_a_published_round, 409, "This round is published; its scorecards are final."),
    ],
    ids=lambda value: value.__name__.strip("_") if callable(value) else None,
)
def test_a_refusal_answers_its_status_on_the_page_the_user_was_on(
    client, db, login, scenery, english, scene, status, message
):
    user, url, data, marker, snapshot = scene(db, scenery)
    if user is not None:
        login(user)
    before, audited = snapshot(), _count(db, AuditEntry)
    answer = client.post(url, data=data, headers=EN)
    assert answer.status_code == status
    page = answer.get_data(as_text=True)
    assert message in page
    assert marker in page  # the page the form was on, not a bare error page
    db.session.expire_all()
    assert snapshot() == before
    assert _count(db, AuditEntry) == audited


@pytest.fixture
def scenery(make_org, make_user, make_listing, lab, platform_admin, city, cluster):
    class Scenery:
        pass

    f = Scenery()
    f.make_org, f.make_user, f.make_listing = make_org, make_user, make_listing
    f.lab, f.platform_admin, f.city, f.cluster = lab, platform_admin, city, cluster
    return f


def test_a_form_that_does_not_validate_answers_400_on_its_page(
    client, db, login, make_org, make_user, lab, platform_admin, english
):
    """Forms posted from the organisation page or a spot check that do not validate show
    that page again with what was wrong (they used to redirect with 302)."""
    org = make_org()
    login(make_user(org))
    answer = client.post(
        "/account/organisation/invite", data={"email": "not an address", "role": "member"}
    )
    assert answer.status_code == 400
    assert org.credit_code in answer.get_data(as_text=True)
    assert _count(db, Invitation) == 0
    client.post("/account/signout")

    check = spotchecks.draw(platform_admin, SpotCheckKind.LAB, 1, seed="s")
    db.session.commit()
    item = check.items[0]
    login(platform_admin)
    answer = client.post(
        f"/supervision/spot-checks/items/{item.id}/finding",
        data={"result": "", "findings": "记录不全"},
        headers=EN,
    )
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert f'id="item-{item.id}"' in page and "记录不全" in page  # what was typed stays
    assert "Choose what the inspection found." in page
    db.session.expire_all()
    assert db.session.get(SpotCheckItem, item.id).result == FindingResult.OPEN
