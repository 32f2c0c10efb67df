"""Requirements, training records and grants: bad input is refused with a clear message
and nothing stored; expiry reminders go out 30 and 7 days ahead, once; check-consistency
finds a self-operated booking without an authorisation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from babel.dates import format_skeleton

from sharehub.booking.models import Booking, BookingStatus
from sharehub.competence import services
from sharehub.competence.models import (
    Authorisation,
    Level,
    Requirement,
    TrainingRecord,
    TrainingStatus,
)
from sharehub.competence.notify import send_expiry_reminders
from sharehub.core.errors import Conflict, ValidationError
from sharehub.core.models import Notification, OutboxMessage
from tests.support.clock import at, travel, workday
from tests.support.files import pdf_bytes, png_bytes

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def world(competence_world):
    return competence_world


def _count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("months", [0, -3, None, 121])
def test_a_validity_outside_1_to_120_months_is_refused(db, world, months):
    before = _count(db, Requirement)
    with pytest.raises(ValidationError) as refused:
        services.save_requirement(world.manager, world.lab, name="SEM 上机", validity_months=months)
    assert "whole number of months from 1 to 120" in str(refused.value.message)
    assert refused.value.field == "validity_months"
    assert _count(db, Requirement) == before


def test_a_listing_follows_one_requirement(db, world):
    with pytest.raises(Conflict):
        services.save_requirement(
            world.manager,
            world.lab,
            name="另一个",
            validity_months=6,
            listing_ids=[world.instrument.id],
        )


@pytest.mark.parametrize("text", ["101", "-1", "abc", "80.123", "NaN", "1e400"])
def test_a_score_out_of_range_or_unreadable_is_refused(db, world, text):
    with pytest.raises(ValidationError) as refused:
        services.parse_score(text)
    assert "from 0 to 100" in str(refused.value.message)


def test_a_score_out_of_range_given_to_the_service_stores_nothing(db, world):
    with pytest.raises(ValidationError):
        services.record_completion(
            world.manager,
            world.requirement,
            world.buyer,
            score=Decimal("100.5"),
            level=Level.INDEPENDENT,
        )
    db.session.rollback()
    assert _count(db, TrainingRecord) == 0 and _count(db, Authorisation) == 0


def test_a_certificate_that_is_not_a_pdf_or_image_is_refused_and_nothing_stored(
    db, world, storage_dir
):
    files_before = set(storage_dir.iterdir()) if storage_dir.exists() else set()
    with pytest.raises(ValidationError) as refused:
        services.record_completion(
            world.manager,
            world.requirement,
            world.buyer,
            score=Decimal(90),
            level=Level.INDEPENDENT,
            certificate=(b"MZ\x90\x00 not a certificate", "cert.exe"),
        )
    assert "not a PDF, JPEG, PNG or WebP" in str(refused.value.message)
    db.session.rollback()
    assert _count(db, TrainingRecord) == 0 and _count(db, Authorisation) == 0
    assert (set(storage_dir.iterdir()) if storage_dir.exists() else set()) == files_before


def test_a_passed_training_with_its_certificate_starts_the_authorisation(db, world):
    training = services.request_training(world.buyer, world.requirement, "下周可以")
    record, authorisation = services.record_completion(
        world.manager,
        world.requirement,
        world.buyer,
        score=Decimal("85.50"),
        level=Level.INDEPENDENT,
        certificate=(png_bytes(), "证书.png"),
        training=training,
    )
    db.session.commit()
    assert record.passed and record.certificate_type == "image/png"
    assert training.status == TrainingStatus.COMPLETED
    assert authorisation is not None and authorisation.is_current
    assert authorisation.training_record_id == record.id
    pdf_record, _ = services.record_completion(
        world.manager,
        world.requirement,
        world.buyer,
        score=Decimal(100),
        level=None,
        certificate=(pdf_bytes(), "cert.pdf"),
    )
    assert pdf_record.certificate_type == "application/pdf"


def test_a_failed_test_records_the_training_without_authorising(db, world):
    record, authorisation = services.record_completion(
        world.manager, world.requirement, world.buyer, score=Decimal(79), level=Level.INDEPENDENT
    )
    assert not record.passed and authorisation is None
    with pytest.raises(Conflict):  # no passed training: no grant to operate alone
        services.grant(world.manager, world.requirement, world.buyer, Level.INDEPENDENT)


def test_a_new_grant_supersedes_the_current_authorisation(db, world, authorise):
    first = authorise(world, world.buyer)
    second = services.grant(world.manager, world.requirement, world.buyer, Level.TRAINER)
    db.session.commit()
    db.session.refresh(first)
    assert first.superseded_dt is not None and not first.is_current
    assert services.current_authorisation(world.buyer.id, world.requirement.id) == second


def test_expiry_reminders_go_out_30_and_7_days_ahead_once_each(db, world, authorise):
    authorisation = authorise(world, world.buyer)
    end = authorisation.expires_dt
    assert send_expiry_reminders(end - timedelta(days=31)) == 0
    with travel(end - timedelta(days=30)):
        assert send_expiry_reminders(end - timedelta(days=30)) == 1
        assert send_expiry_reminders(end - timedelta(days=30)) == 0  # run twice: sent once
    assert send_expiry_reminders(end - timedelta(days=20)) == 0
    assert send_expiry_reminders(end - timedelta(days=7)) == 1
    assert send_expiry_reminders(end - timedelta(days=6)) == 0
    assert send_expiry_reminders(end + timedelta(days=1)) == 0  # expired: nothing more
    db.session.commit()
    notes = db.session.scalars(
        sa.select(Notification).where(Notification.user_id == world.buyer.id)
    ).all()
    assert len(notes) == 2 and "ICP 上机资格" in notes[0].text
    mails = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.recipient == world.buyer.email)
    ).all()
    assert len(mails) == 2
    last_day = (end - timedelta(seconds=1)).astimezone(services.LAB_TZ).date()
    last_day = format_skeleton("yMMMd", last_day, locale="en")  # the user reads English
    assert last_day in mails[0].subject and "midnight" not in mails[0].subject


def test_the_cron_command_sends_once_when_run_twice(app, db, world, authorise):
    authorisation = authorise(world, world.buyer)
    runner = app.test_cli_runner()
    with travel(authorisation.expires_dt - timedelta(days=5)):
        first = runner.invoke(args=["sharehub", "send-authorisation-reminders"])
        second = runner.invoke(args=["sharehub", "send-authorisation-reminders"])
    assert "1 authorisation reminders queued" in first.output, first.output
    assert "0 authorisation reminders queued" in second.output


def test_check_consistency_finds_a_self_operated_booking_without_authorisation(
    db, world, authorise
):
    from sharehub.admin.consistency import unauthorised_self_operated_bookings

    day = workday()
    booking = Booking(
        uid="bypass@example.cn",
        listing_id=world.instrument.id,
        unit_id=world.instrument.units[0].id,
        customer_org_id=world.firm.id,
        customer_user_id=world.buyer.id,
        starts_dt=at(day, 9, 30),
        ends_dt=at(day, 11, 30),
        blocked_until_dt=at(day, 11, 30),
        status=BookingStatus.CONFIRMED,
        price_tier="external",
        net_amount=100000,
        vat_rate_bp=600,
        vat_amount=6000,
        gross_amount=106000,
    )
    db.session.add(booking)
    db.session.commit()
    assert unauthorised_self_operated_bookings() == [booking.id]
    authorise(world, world.buyer)  # granted after the start was booked, but valid at it
    assert unauthorised_self_operated_bookings() == []


def test_training_recorded_by_email_closes_the_user_s_open_request(db, world):
    from sharehub.competence.models import TrainingRequest, TrainingStatus

    training = services.request_training(world.buyer, world.requirement, "下周可以")
    record, authorisation = services.record_completion(
        world.manager, world.requirement, world.buyer, score=Decimal("90"), level=Level.INDEPENDENT
    )
    db.session.commit()
    assert db.session.get(TrainingRequest, training.id).status == TrainingStatus.COMPLETED
    assert record.request_id == training.id and authorisation is not None
