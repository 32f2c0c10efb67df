"""Recording certificates, the lab's block-or-flag choice, planned calibrations and the
reminders before a certificate falls due. Each operation takes the acting user, checks
it manages the unit's lab, validates, writes, audits and flushes; the caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from sharehub.accounts.models import User
from sharehub.calibration.models import (
    REMINDER_DAYS,
    CalibrationPolicy,
    Certificate,
    CertificateKind,
    CertificateResult,
    Reminder,
)
from sharehub.calibration.queries import certificates_of, policy_of
from sharehub.catalog import services as catalog_services
from sharehub.catalog.models import Listing, ListingKind, Outage, OutageKind, Unit
from sharehub.core import audit
from sharehub.core.clock import local_today
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, ValidationError
from sharehub.core.inputs import check_date, check_length
from sharehub.core.mail import queue_mail
from sharehub.core.models import Notification
from sharehub.core.uploads import sniff_document, store_bytes
from sharehub.extensions import db

MAX_PDF_BYTES = 10 * 1024 * 1024


@dataclass
class CertificateData:
    kind: CertificateKind
    issuing_body: str
    number: str
    issued_date: date
    due_date: date
    result: CertificateResult
    restrictions: str = ""


def _validate(data: CertificateData, today: date) -> None:
    check_date(data.issued_date, field="issued_date")
    check_date(data.due_date, field="due_date")
    if not data.issuing_body.strip():
        raise ValidationError(
            _l("Name the body that issued the certificate."), field="issuing_body"
        )
    if not data.number.strip():
        raise ValidationError(_l("Give the certificate's number."), field="number")
    check_length(data.issuing_body.strip(), 200, _l("The issuing body"), "issuing_body")
    check_length(data.number.strip(), 100, _l("The certificate number"), "number")
    check_length(data.restrictions.strip(), 5000, _l("The restrictions"), "restrictions")
    if data.due_date < data.issued_date:
        raise ValidationError(
            _l(
                "The certificate is due (%(due)s) before it was issued (%(issued)s); "
                "check both dates.",
                due=data.due_date.isoformat(),
                issued=data.issued_date.isoformat(),
            ),
            field="due_date",
        )
    if data.issued_date > today:
        raise ValidationError(
            _l("A certificate is recorded once issued: its date lies in the future."),
            field="issued_date",
        )
    if data.result == CertificateResult.RESTRICTED and not data.restrictions.strip():
        raise ValidationError(
            _l("Say which restrictions the certificate sets."), field="restrictions"
        )


def record_certificate(
    actor: User, unit: Unit, data: CertificateData, pdf: bytes, pdf_name: str
) -> Certificate:
    """A certificate with its PDF (checked by content: a real PDF, not a renamed file)."""
    catalog_services.require_manager(actor, unit.listing.lab)
    if unit.listing.kind != ListingKind.EQUIPMENT:
        raise ValidationError(_l("Only instruments carry calibration certificates."))
    _validate(data, local_today())
    if len(pdf) > MAX_PDF_BYTES:
        raise ValidationError(_l("The certificate PDF is larger than 10 MB."), field="pdf")
    if not pdf or sniff_document(pdf) != "application/pdf":
        raise ValidationError(_l("The certificate must be a PDF file."), field="pdf")
    number = data.number.strip()
    if db.session.scalar(
        sa.select(Certificate.id).where(
            Certificate.unit_id == unit.id,
            Certificate.kind == data.kind,
            Certificate.number == number,
        )
    ):
        raise Conflict(_l("This certificate is recorded already."), field="number")
    stored = store_bytes(pdf, (pdf_name or "certificate.pdf")[:200], "application/pdf")
    certificate = Certificate(
        unit=unit,
        kind=data.kind,
        issuing_body=data.issuing_body.strip(),
        number=number,
        issued_date=data.issued_date,
        due_date=data.due_date,
        result=data.result,
        restrictions=data.restrictions.strip(),
        recorded_by_id=actor.id,
        original_name=stored.original_name,
        stored_name=stored.stored_name,
        content_type=stored.content_type,
        size=stored.size,
    )
    try:
        with db.session.begin_nested():
            db.session.add(certificate)
            db.session.flush()
    except IntegrityError as exc:  # the same certificate recorded by a racing request
        raise Conflict(_l("This certificate is recorded already."), field="number") from exc
    audit.record(
        actor,
        "certificate.recorded",
        certificate,
        organisation=unit.listing.lab_id,
        unit=unit.id,
        kind=data.kind.value,
        number=number,
        issued=data.issued_date.isoformat(),
        due=data.due_date.isoformat(),
        result=data.result.value,
    )
    db.session.flush()
    return certificate


def set_policy(actor: User, listing: Listing, block: bool) -> CalibrationPolicy:
    """Block (no bookings) or flag (bookings with a warning) the listing's units whose
    certificate is overdue or failed."""
    catalog_services.require_manager(actor, listing.lab)
    policy = policy_of(listing)
    if policy is None:
        policy = CalibrationPolicy(listing_id=listing.id, blocks_unfit=False)
        db.session.add(policy)
    if policy.blocks_unfit != block:
        policy.blocks_unfit = block
        policy.blocked_since_dt = utcnow() if block else None
        policy.updated_dt = utcnow()
        audit.record(
            actor,
            "calibration.policy_set",
            listing,
            organisation=listing.lab_id,
            blocks=block,
        )
    db.session.flush()
    return policy


def plan_calibration(
    actor: User, certificate: Certificate, starts_dt: datetime, ends_dt: datetime, note: str = ""
) -> Outage:
    """The next calibration of the certificate's unit, as an outage of kind calibration:
    the unit takes no bookings in that window."""
    note = (note or "").strip() or str(
        _l("Calibration after certificate %(number)s", number=certificate.number)
    )
    return catalog_services.add_outage(
        actor, certificate.unit, OutageKind.CALIBRATION, starts_dt, ends_dt, note[:300]
    )


# --- reminders ---------------------------------------------------------------------------


def _lab_managers(listing: Listing) -> list[User]:
    lab = listing.lab
    return [m.user for m in lab.memberships if m.user.can_manage(lab) and not m.user.disabled]


def _claim(certificate_id: int, days_before: int) -> bool:
    """Insert the reminder's row; False when another run has it already."""
    try:
        with db.session.begin_nested():
            db.session.add(Reminder(certificate_id=certificate_id, days_before=days_before))
            db.session.flush()
    except IntegrityError:
        return False
    return True


def send_reminders(today: date | None = None) -> int:
    """Tell each lab's managers, in the app and by mail, when a unit's governing certificate
    is due within 30 and within 7 days (Beijing days). One reminder per certificate and
    distance, whatever the number of runs; a run that missed days still sends the nearest
    one, once (the farther one is then marked as passed)."""
    today = today or local_today()
    horizon = today + timedelta(days=max(REMINDER_DAYS))
    candidates = db.session.scalars(
        sa.select(Certificate)
        .where(Certificate.due_date >= today, Certificate.due_date <= horizon)
        .order_by(Certificate.id)
    ).all()
    sent = 0
    for certificate in candidates:
        governing = certificates_of(certificate.unit_id)
        current = [c for c in governing if c.issued_date <= today]
        if not current or current[-1].id != certificate.id or not certificate.passed:
            continue  # a later certificate replaced it, or it failed (nothing to renew)
        days_left = (certificate.due_date - today).days
        due = [d for d in sorted(REMINDER_DAYS) if days_left <= d]
        if not due:
            continue
        nearest = due[0]
        claimed = [d for d in due if _claim(certificate.id, d)]
        if nearest in claimed:
            _remind(certificate, days_left)
            sent += 1
    db.session.flush()
    return sent


def _remind(certificate: Certificate, days_left: int) -> None:
    unit = certificate.unit
    listing = unit.listing
    for user in _lab_managers(listing):
        subject = _l(
            "Certificate %(number)s of %(listing)s (%(unit)s) is due on %(due)s",
            number=certificate.number,
            listing=listing.name,
            unit=unit.name,
            due=certificate.due_date.isoformat(),
        )
        with force_locale(user.locale):
            text = str(subject)
        db.session.add(
            Notification(
                user_id=user.id,
                text=text[:500],
                link=url_for("calibration.unit_page", unit_id=unit.id),
            )
        )
        queue_mail(
            user.email,
            subject,
            "mail/calibration_due.txt",
            locale=user.locale,
            user=user,
            certificate=certificate,
            unit=unit,
            listing=listing,
            days_left=days_left,
            link=url_for("calibration.unit_page", unit_id=unit.id, _external=True),
        )
