"""The lab edits a requirement (levels, prerequisites, validity, staff operator for
everyone) and revokes an authorisation with a reason: audited, the holder told by mail,
self-operation refused at once (booking and kiosk). Others are refused and change nothing;
bad input is a clear 4xx that stores nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind, Role
from sharehub.booking import capture
from sharehub.booking.models import DeviceKind
from sharehub.booking.services import BookingRequest, create_booking
from sharehub.competence.models import Authorisation, Level, Requirement
from sharehub.competence.services import NotAuthorised, grant, save_requirement
from sharehub.core.errors import Conflict, ValidationError
from sharehub.core.models import AuditEntry, Notification, OutboxMessage
from tests.support.clock import at, workday

pytestmark = pytest.mark.usefixtures("english")
EN = {"Accept-Language": "en"}


@pytest.fixture
def world(competence_world):
    return competence_world


def _form(world, **changes):
    data = {
        "name": "ICP 上机资格",
        "validity_months": "12",
        "course": "ICP-OES 上机培训",
        "pass_score": "80",
        "listing_ids": [str(world.instrument.id)],
        "staff_listing_id": str(world.staff.id),
        "trainer_listing_id": str(world.trainers.id),
        "levels": ["assisted", "independent", "trainer"],
    }
    data.update(changes)
    return data


def _basic(world):
    basic = save_requirement(world.manager, world.lab, name="实验室安全培训", validity_months=24)
    return basic


def _state(db, requirement_id):
    db.session.expire_all()
    r = db.session.get(Requirement, requirement_id)
    return (
        r.name,
        r.validity_months,
        r.levels,
        r.assistance_required,
        [p.id for p in r.prerequisites],
        [li.id for li in r.listings],
    )


def test_the_lab_edits_levels_prerequisites_validity_and_staff_only(
    client, db, world, login, authorise
):
    basic = _basic(world)
    db.session.commit()
    login(world.manager)
    page = client.get(f"/lab/competence/requirements/{world.requirement.id}", headers=EN)
    assert page.status_code == 200 and 'id="requirement-form"' in page.get_data(as_text=True)
    saved = client.post(
        f"/lab/competence/requirements/{world.requirement.id}",
        data=_form(
            world,
            validity_months="6",
            levels=["assisted", "independent"],
            prerequisite_ids=[str(basic.id)],
        ),
    )
    assert saved.status_code == 302
    assert _state(db, world.requirement.id) == (
        "ICP 上机资格",
        6,
        "assisted,independent",
        False,
        [basic.id],
        [world.instrument.id],
    )
    assert db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.action == "competence.requirement_changed",
            AuditEntry.object_id == world.requirement.id,
        )
    )
    requirement = db.session.get(Requirement, world.requirement.id)
    # a level not offered, and a prerequisite not held, are refused
    with pytest.raises(ValidationError, match="grants only"):
        grant(world.manager, requirement, world.buyer, Level.TRAINER)
    with pytest.raises(Conflict, match="must first hold"):
        grant(world.manager, requirement, world.buyer, Level.ASSISTED)
    grant(world.manager, basic, world.buyer, Level.INDEPENDENT)
    held = authorise(world, world.buyer)
    assert held.expires_dt.astimezone(held.starts_dt.tzinfo) < held.starts_dt + timedelta(days=190)
    # staff operator for everyone: the authorised buyer may no longer book alone
    client.post(
        f"/lab/competence/requirements/{world.requirement.id}",
        data=_form(
            world,
            assistance_required="y",
            levels=["assisted", "independent"],
            prerequisite_ids=[str(basic.id)],
        ),
    )
    with pytest.raises(NotAuthorised, match="operated only by the laboratory's staff"):
        create_booking(
            world.buyer,
            world.firm,
            world.instrument,
            BookingRequest(starts_dt=at(workday(), 9, 30), ends_dt=at(workday(), 11, 30)),
        )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"validity_months": "0"}, "from 1 to 120"),
        ({"validity_months": "十二"}, ""),
        ({"levels": []}, "at least one level"),
        ({"levels": ["master"]}, ""),
        ({"name": ""}, "Name the requirement"),
        ({"prerequisite_ids": ["999999"]}, "among your laboratory"),
        ({"prerequisite_ids": ["self"]}, "needs this requirement itself"),
        ({"prerequisite_ids": ["circle"]}, "needs this requirement itself"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_changes(
    client, db, world, login, make_org, changes, message
):
    basic = _basic(world)
    basic.prerequisites = [world.requirement]
    db.session.commit()
    ids = {"self": str(world.requirement.id), "circle": str(basic.id)}
    if "prerequisite_ids" in changes:
        changes = {"prerequisite_ids": [ids.get(v, v) for v in changes["prerequisite_ids"]]}
    before = _state(db, world.requirement.id)
    login(world.manager)
    response = client.post(
        f"/lab/competence/requirements/{world.requirement.id}",
        data=_form(world, **changes),
        headers=EN,
    )
    assert 400 <= response.status_code < 500, response.status_code
    assert message in response.get_data(as_text=True)
    assert _state(db, world.requirement.id) == before


@pytest.fixture
def outsiders(make_org, make_user):
    return {
        "another lab's manager": make_user(make_org(kind=OrgKind.LAB), role=Role.MANAGER),
        "a regulator": make_user(make_org(kind=OrgKind.AUTHORITY), role=Role.INSPECTOR),
    }


@pytest.mark.parametrize("who", ["another lab's manager", "an enterprise", "a regulator", None])
def test_others_cannot_edit_a_requirement_or_revoke_and_nothing_changes(
    client, db, world, login, authorise, outsiders, make_org, make_user, who
):
    held = authorise(world, world.buyer)
    if who == "an enterprise":
        login(make_user(make_org(name="另一家企业"), email="other@example.cn"))
    elif who is not None:
        login(outsiders[who])
    before = _state(db, world.requirement.id)
    base = f"/lab/competence/requirements/{world.requirement.id}"
    revoke = f"/lab/competence/authorisations/{held.id}/revoke"
    answers = [
        client.get(base),
        client.post(base, data=_form(world, name="改名", validity_months="1")),
        client.get(revoke),
        client.post(revoke, data={"reason": "不再需要"}),
    ]
    for answer in answers:
        if who is None:
            assert answer.status_code == 302 and "/account/signin" in answer.location
        else:
            assert answer.status_code == 403
    assert _state(db, world.requirement.id) == before
    db.session.expire_all()
    kept = db.session.get(Authorisation, held.id)
    assert kept.superseded_dt is None and kept.revoked_dt is None


def test_revoking_tells_the_holder_and_stops_self_operation_at_once(
    client, db, world, login, authorise
):
    held = authorise(world, world.buyer)
    day = workday()
    booked = create_booking(
        world.buyer,
        world.firm,
        world.instrument,
        BookingRequest(starts_dt=at(day, 9, 30), ends_dt=at(day, 11, 30)),
    )
    kiosk, _token = capture.issue_device(world.manager, booked.unit, DeviceKind.KIOSK, "平板")
    db.session.commit()
    code = capture.booking_code(world.buyer, booked)
    login(world.manager)
    url = f"/lab/competence/authorisations/{held.id}/revoke"
    assert "revoke-form" in client.get(url, headers=EN).get_data(as_text=True)
    empty = client.post(url, data={"reason": "  "}, headers=EN)
    assert empty.status_code == 400 and "Give the reason" in empty.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Authorisation, held.id).superseded_dt is None
    done = client.post(url, data={"reason": "多次违规操作，需重新培训"})
    assert done.status_code == 302
    db.session.expire_all()
    revoked = db.session.get(Authorisation, held.id)
    assert revoked.revoked_dt is not None and not revoked.is_current
    assert revoked.revoke_reason == "多次违规操作，需重新培训"
    assert revoked.revoked_by_id == world.manager.id
    from sharehub.admin.consistency import revocations_not_ending_the_authorisation

    assert revocations_not_ending_the_authorisation() == []
    revoked.superseded_dt = None  # a revocation that left it current breaks the invariant
    db.session.flush()
    assert revocations_not_ending_the_authorisation() == [held.id]
    db.session.rollback()
    assert db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.action == "competence.revoked", AuditEntry.object_id == held.id
        )
    )
    [mail] = db.session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.recipient == world.buyer.email,
            OutboxMessage.body_text.contains("多次违规操作"),
        )
    ).all()
    assert "ICP 上机资格" in mail.subject
    assert db.session.scalar(sa.select(Notification).where(Notification.user_id == world.buyer.id))
    # at once: no new self-operated booking, and the kiosk refuses the booked session
    with pytest.raises(NotAuthorised):
        create_booking(
            world.buyer,
            world.firm,
            world.instrument,
            BookingRequest(starts_dt=at(workday(14), 9, 30), ends_dt=at(workday(14), 11, 30)),
        )
    with pytest.raises(NotAuthorised, match="not authorised to operate"):
        capture.kiosk_scan(kiosk, code=code, now=booked.starts_dt + timedelta(minutes=2))
    # the holder's page shows it revoked, with the reason; a second revocation: 409
    assert client.post(url, data={"reason": "again"}).status_code == 409
    client.post("/account/signout")
    login(world.buyer)
    mine = client.get("/account/authorisations", headers=EN).get_data(as_text=True)
    assert "Revoked" in mine and "多次违规操作" in mine
