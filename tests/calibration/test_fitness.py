"""Certificates and a unit's status: recording refuses what cannot be, and the due date
turns at midnight Beijing time, on the suite's clock."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from sharehub.calibration import queries, services
from sharehub.calibration.models import (
    Certificate,
    CertificateKind,
    CertificateResult,
    Fitness,
)
from sharehub.calibration.services import CertificateData
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from tests.support import clock
from tests.support.clock import at
from tests.support.files import pdf_bytes, png_bytes

pytestmark = pytest.mark.usefixtures("english")


def data(issued, due, result=CertificateResult.PASS, number="JZ2026-0001", **kw):
    return CertificateData(
        kind=kw.pop("kind", CertificateKind.CALIBRATION),
        issuing_body=kw.pop("issuing_body", "江苏省计量科学研究院"),
        number=number,
        issued_date=issued,
        due_date=due,
        result=result,
        **kw,
    )


@pytest.fixture
def unit(lab, make_listing):
    return make_listing(lab).units[0]


def count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count(Certificate.id)))


def test_a_certificate_is_recorded_with_its_pdf_and_audited(db, unit, lab_manager, storage_dir):
    today = clock.today()
    certificate = services.record_certificate(
        lab_manager,
        unit,
        data(today - timedelta(days=10), today + timedelta(days=355)),
        pdf_bytes(),
        "证书.pdf",
    )
    db.session.commit()
    assert certificate.content_type == "application/pdf"
    assert (storage_dir / certificate.stored_name).read_bytes() == pdf_bytes()
    assert queries.unit_status(unit).fitness == Fitness.VALID


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"due": -1}, "is due (.*) before it was issued"),
        ({"issued": 1, "due": 30}, "its date lies in the future"),
        ({"number": " "}, "certificate's number"),
        ({"result": CertificateResult.RESTRICTED}, "which restrictions"),
    ],
)
def test_impossible_certificates_are_refused_and_nothing_is_stored(
    db, unit, lab_manager, change, message
):
    today = clock.today()
    issued = today + timedelta(days=change.get("issued", -10))
    due = issued + timedelta(days=change.get("due", 365))
    with pytest.raises(ValidationError, match=message):
        services.record_certificate(
            lab_manager,
            unit,
            data(
                issued,
                due,
                number=change.get("number", "A-1"),
                result=change.get("result", CertificateResult.PASS),
            ),
            pdf_bytes(),
            "c.pdf",
        )
    db.session.rollback()
    assert count(db) == 0


@pytest.mark.parametrize(
    "content", [png_bytes(), b"not a pdf at all", b"%PDF-1.4 truncated without end"]
)
def test_the_certificate_must_really_be_a_pdf(db, unit, lab_manager, content):
    today = clock.today()
    with pytest.raises(ValidationError):
        services.record_certificate(
            lab_manager, unit, data(today, today + timedelta(days=365)), content, "c.pdf"
        )
    db.session.rollback()
    assert count(db) == 0


def test_the_same_certificate_twice_is_a_conflict(db, unit, lab_manager):
    today = clock.today()
    services.record_certificate(lab_manager, unit, data(today, today), pdf_bytes(), "c.pdf")
    with pytest.raises(Conflict):
        services.record_certificate(lab_manager, unit, data(today, today), pdf_bytes(), "c.pdf")


def test_another_labs_manager_cannot_record(db, unit, make_org, make_user):
    from sharehub.accounts.models import OrgKind, Role

    other = make_user(make_org(kind=OrgKind.LAB, name="别的实验室"), role=Role.MANAGER)
    today = clock.today()
    with pytest.raises(PermissionDenied):
        services.record_certificate(other, unit, data(today, today), pdf_bytes(), "c.pdf")
    db.session.rollback()
    assert count(db) == 0


def test_the_database_refuses_a_certificate_due_before_its_issue(db, unit):
    today = clock.today()
    db.session.add(
        Certificate(
            unit_id=unit.id,
            kind=CertificateKind.CHECK,
            issuing_body="x",
            number="n",
            issued_date=today,
            due_date=today - timedelta(days=1),
            result=CertificateResult.PASS,
            restrictions="",
            original_name="c.pdf",
            stored_name="x" * 32,
            content_type="application/pdf",
            size=1,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_due_date_turns_at_midnight_beijing_time(db, unit, lab_manager):
    """Due on D: fit through 23:59:59 of D in Beijing (15:59 UTC), overdue from 00:00 of
    D+1 Beijing time, which is still D in UTC."""
    today = clock.today()
    due = today + timedelta(days=3)
    services.record_certificate(
        lab_manager, unit, data(today - timedelta(days=300), due), pdf_bytes(), "c.pdf"
    )
    last = at(due, 23, 59) + timedelta(seconds=59)
    first_overdue = at(due + timedelta(days=1), 0, 0)
    assert first_overdue.astimezone(UTC).date() == due  # the UTC calendar still says D
    assert queries.fit_for_use(unit, last)
    assert not queries.fit_for_use(unit, first_overdue)
    with clock.travel(last):
        status = queries.unit_status(unit)
        assert (status.fitness, status.days_left) == (Fitness.DUE_SOON, 0)
    with clock.travel(first_overdue):
        status = queries.unit_status(unit)
        assert (status.fitness, status.days_left) == (Fitness.OVERDUE, -1)
    assert queries.unfit_intervals(unit) == [(first_overdue.astimezone(UTC), queries.OPEN_END)]


def test_due_within_30_days_starts_30_days_ahead(db, unit, lab_manager):
    today = clock.today()
    services.record_certificate(
        lab_manager,
        unit,
        data(today - timedelta(days=300), today + timedelta(days=31)),
        pdf_bytes(),
        "c.pdf",
    )
    assert queries.unit_status(unit).fitness == Fitness.VALID
    with clock.travel(at(today + timedelta(days=1), 0, 0)):
        assert queries.unit_status(unit).fitness == Fitness.DUE_SOON
    with clock.travel(at(today, 23, 59)):
        assert queries.unit_status(unit).fitness == Fitness.VALID


def test_a_new_certificate_restores_fitness_and_a_failed_one_removes_it(db, unit, lab_manager):
    today = clock.today()
    services.record_certificate(
        lab_manager,
        unit,
        data(today - timedelta(days=400), today - timedelta(days=35)),
        pdf_bytes(),
        "c.pdf",
    )
    assert queries.unit_status(unit).fitness == Fitness.OVERDUE
    services.record_certificate(
        lab_manager,
        unit,
        data(today - timedelta(days=5), today + timedelta(days=360), number="B"),
        pdf_bytes(),
        "c.pdf",
    )
    assert queries.unit_status(unit).fitness == Fitness.VALID
    # the gap between the two stays unfit in the record
    assert queries.unfit_intervals(unit) == [
        (at(today - timedelta(days=34), 0, 0), at(today - timedelta(days=5), 0, 0)),
        (at(today + timedelta(days=361), 0, 0), queries.OPEN_END),
    ]
    services.record_certificate(
        lab_manager,
        unit,
        data(
            today,
            today + timedelta(days=180),
            CertificateResult.FAIL,
            number="C",
            kind=CertificateKind.CHECK,
        ),
        pdf_bytes(),
        "c.pdf",
    )
    assert queries.unit_status(unit).fitness == Fitness.FAILED
    assert not queries.fit_for_use(unit, at(today + timedelta(days=1), 10))


def test_a_unit_without_certificates_is_not_tracked_and_fit(db, unit):
    assert queries.unit_status(unit).fitness == Fitness.UNTRACKED
    assert queries.fit_for_use(unit, at(clock.today(), 10))
