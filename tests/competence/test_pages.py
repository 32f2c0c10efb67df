"""The competence pages through HTTP: booking refused or assisted on the review page, the
user's authorisations across labs, training requests and sessions, and the lab's forms,
which another lab's staff, an enterprise, a regulator or an anonymous visitor cannot use."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind, Role
from sharehub.booking.models import Booking
from sharehub.competence.models import (
    Authorisation,
    Level,
    Requirement,
    TrainingRecord,
    TrainingRequest,
    TrainingStatus,
)
from sharehub.competence.services import grant, save_requirement
from tests.support.clock import at, workday
from tests.support.files import pdf_bytes


@pytest.fixture
def world(competence_world):
    return competence_world


def _count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _review(client, listing, day, **extra):
    data = {"start": at(day, 9, 30).isoformat(), "minutes": "120", **extra}
    return client.post(f"/catalog/{listing.id}/book/review", data=data)


def test_the_review_page_refuses_a_self_operated_booking_without_authorisation(
    client, db, world, login
):
    login(world.buyer)
    before = _count(db, Booking)
    response = _review(client, world.instrument, workday())
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "not authorised to operate" in page and "ICP-OES 上机培训" in page
    assert f"/competence/requirements/{world.requirement.id}" in page  # how to get trained
    assert _count(db, Booking) == before


def test_the_review_page_books_with_a_staff_operator(client, db, world, login):
    login(world.buyer)
    day = workday()
    shown = client.get(
        f"/catalog/{world.instrument.id}/book/review",
        query_string={"start": at(day, 9, 30).isoformat(), "minutes": 120, "assisted": 1},
    )
    page = shown.get_data(as_text=True)
    assert 'id="assisted-line"' in page and "240.00" in page  # 2 h × ¥120
    response = _review(client, world.instrument, day, assisted="1")
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    booking = db.session.scalar(sa.select(Booking).where(Booking.listing_id == world.instrument.id))
    assert booking.assisted and booking.assisted_amount == 24000
    assert len(booking.operators) == 1
    detail = client.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert 'id="operator"' in detail and "¥240.00" in detail
    listed = client.get("/bookings").get_data(as_text=True)
    assert f"/bookings/{booking.id}" in listed
    assert f'/bookings/{booking.operators[0].id}"' not in listed  # shown on its booking


def test_the_user_sees_authorisations_of_all_labs(
    client, db, world, login, authorise, make_org, make_user, make_listing
):
    authorise(world, world.buyer)
    other_lab = make_org(kind=OrgKind.LAB, name="第二实验室", name_en="Second Lab")
    other_manager = make_user(other_lab, role=Role.MANAGER)
    sem = make_listing(other_lab, name="扫描电镜")
    requirement = save_requirement(
        other_manager, other_lab, name="SEM 上机资格", validity_months=6, listing_ids=[sem.id]
    )
    grant(other_manager, requirement, world.buyer, Level.TRAINER)
    db.session.commit()
    login(world.buyer)
    page = client.get("/account/authorisations").get_data(as_text=True)
    assert "ICP 上机资格" in page and "SEM 上机资格" in page
    assert "Test Lab" in page and "Second Lab" in page


def test_a_user_requests_training_and_books_a_session_on_the_trainers_calendar(
    client, db, world, login
):
    login(world.buyer)
    response = client.post(
        f"/competence/requirements/{world.requirement.id}/request", data={"note": "周三可以"}
    )
    assert response.status_code == 302
    training = db.session.scalar(sa.select(TrainingRequest))
    assert training.user_id == world.buyer.id and training.status == TrainingStatus.REQUESTED
    again = client.post(f"/competence/requirements/{world.requirement.id}/request", data={})
    assert again.status_code == 409 and _count(db, TrainingRequest) == 1
    day = workday()
    booked = client.post(
        f"/competence/training/{training.id}/session",
        data={"start": at(day, 9, 30).isoformat(), "minutes": "60"},
    )
    assert booked.status_code == 302, booked.get_data(as_text=True)[:800]
    db.session.refresh(training)
    assert training.status == TrainingStatus.SCHEDULED
    session = db.session.get(Booking, training.booking_id)
    assert session.listing_id == world.trainers.id


def test_the_lab_grants_and_records_training_with_a_certificate(client, db, world, login):
    login(world.manager)
    assert client.get("/lab/competence").status_code == 200
    response = client.post(
        f"/lab/competence/requirements/{world.requirement.id}/record",
        data={
            "email": world.buyer.email,
            "score": "88",
            "level": "independent",
            "certificate": (io.BytesIO(pdf_bytes()), "cert.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    record = db.session.scalar(sa.select(TrainingRecord))
    assert record.passed and record.certificate_type == "application/pdf"
    assert _count(db, Authorisation) == 1
    download = client.get(f"/competence/records/{record.id}/certificate")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    download.close()


def test_bad_input_on_the_lab_pages_is_refused_and_nothing_stored(client, db, world, login):
    login(world.manager)
    for months in ("0", "-6"):
        response = client.post(
            "/lab/competence/requirements",
            data={"name": "XRD 上机", "validity_months": months},
        )
        assert response.status_code == 400
        assert "whole number of months from 1 to 120" in response.get_data(as_text=True)
    assert _count(db, Requirement) == 1
    response = client.post(
        f"/lab/competence/requirements/{world.requirement.id}/record",
        data={"email": world.buyer.email, "score": "150", "level": "independent"},
    )
    assert response.status_code == 400 and "from 0 to 100" in response.get_data(as_text=True)
    response = client.post(
        f"/lab/competence/requirements/{world.requirement.id}/record",
        data={
            "email": world.buyer.email,
            "score": "90",
            "level": "independent",
            "certificate": (io.BytesIO(b"just some text, not a certificate"), "cert.txt"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "not a PDF, JPEG, PNG or WebP" in response.get_data(as_text=True)
    assert _count(db, TrainingRecord) == 0 and _count(db, Authorisation) == 0


@pytest.fixture
def outsiders(make_org, make_user, make_listing):
    other_lab = make_org(kind=OrgKind.LAB, name="别的实验室")
    authority = make_org(kind=OrgKind.AUTHORITY, name="苏州市市场监督管理局")
    return {
        "another lab's manager": make_user(other_lab, role=Role.MANAGER),
        "an enterprise": None,  # the buyer, filled in by the test
        "a regulator": make_user(authority, email="regulator@example.cn"),
    }


@pytest.mark.parametrize("who", ["another lab's manager", "an enterprise", "a regulator", None])
def test_others_cannot_grant_or_record_training_and_nothing_changes(
    client, db, world, login, outsiders, who
):
    if who is not None:
        login(outsiders[who] or world.buyer)
    before = (_count(db, Authorisation), _count(db, TrainingRecord), _count(db, Requirement))
    base = f"/lab/competence/requirements/{world.requirement.id}"
    granted = client.post(f"{base}/grant", data={"email": world.buyer.email, "level": "trainer"})
    recorded = client.post(
        f"{base}/record", data={"email": world.buyer.email, "score": "99", "level": "trainer"}
    )
    if who is None:
        for response in (granted, recorded):
            assert response.status_code == 302 and "/account/signin" in response.location
    else:
        for response in (granted, recorded):
            assert response.status_code == 403
            assert "managers may do this" in response.get_data(as_text=True)
    if who != "another lab's manager":  # (who manages a lab of their own, not this one)
        created = client.post(
            "/lab/competence/requirements", data={"name": "偷偷", "validity_months": "12"}
        )
        lab_page = client.get("/lab/competence")
        for response in (created, lab_page):
            assert response.status_code == (302 if who is None else 403)
    else:
        assert "ICP 上机资格" not in client.get("/lab/competence").get_data(as_text=True)
    assert (
        _count(db, Authorisation),
        _count(db, TrainingRecord),
        _count(db, Requirement),
    ) == before


def test_a_certificate_is_shown_only_to_its_holder_and_the_lab(
    client, db, world, login, make_user, make_org
):
    from sharehub.competence.services import record_completion

    record, _ = record_completion(
        world.manager,
        world.requirement,
        world.buyer,
        score=None if world.requirement.pass_score is None else 90,
        level=None,
        certificate=(pdf_bytes(), "cert.pdf"),
    )
    db.session.commit()
    stranger = make_user(make_org(name="路人企业"), email="stranger@example.cn")
    login(stranger)
    assert client.get(f"/competence/records/{record.id}/certificate").status_code == 404
    client.post("/account/signout")
    login(world.buyer)
    download = client.get(f"/competence/records/{record.id}/certificate")
    assert download.status_code == 200
    download.close()
