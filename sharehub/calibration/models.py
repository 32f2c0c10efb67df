"""Certificates of a unit's metrological fitness (计量溯源) and the lab's policy for a unit
whose certificate is overdue."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from sharehub.catalog.models import Listing, Unit
from sharehub.core.db import UTCDateTime, str_enum, utcnow
from sharehub.core.uploads import StoredFileMixin
from sharehub.extensions import Model

# A unit is "due soon" this many days (Beijing days) before its due date; reminders go out
# at these distances from the due date.
DUE_SOON_DAYS = 30
REMINDER_DAYS = (30, 7)


class CertificateKind(enum.StrEnum):
    VERIFICATION = "verification"  # 检定: against a legal metrology regulation, pass/fail
    CALIBRATION = "calibration"  # 校准: values and uncertainty; the lab confirms fitness
    CHECK = "check"  # 期间核查: intermediate check between the two above


class CertificateResult(enum.StrEnum):
    PASS = "pass"
    RESTRICTED = "restricted"  # pass with restrictions
    FAIL = "fail"


class Fitness(enum.StrEnum):
    """A unit's state on a day, from the certificate that governs that day."""

    UNTRACKED = "untracked"  # no certificate recorded: nothing to enforce
    VALID = "valid"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    FAILED = "failed"


KIND_LABELS = {
    CertificateKind.VERIFICATION: _l("Verification"),
    CertificateKind.CALIBRATION: _l("Calibration"),
    CertificateKind.CHECK: _l("Intermediate check"),
}
RESULT_LABELS = {
    CertificateResult.PASS: _l("Pass"),
    CertificateResult.RESTRICTED: _l("Pass with restrictions"),
    CertificateResult.FAIL: _l("Fail"),
}
FITNESS_LABELS = {
    Fitness.UNTRACKED: _l("No certificate recorded"),
    Fitness.VALID: _l("Certificate valid"),
    Fitness.DUE_SOON: _l("Certificate due within 30 days"),
    Fitness.OVERDUE: _l("Certificate overdue"),
    Fitness.FAILED: _l("Last certificate failed"),
}
FITNESS_BADGES = {
    Fitness.UNTRACKED: "secondary",
    Fitness.VALID: "success",
    Fitness.DUE_SOON: "warning",
    Fitness.OVERDUE: "danger",
    Fitness.FAILED: "danger",
}


class Certificate(StoredFileMixin, Model):
    """One certificate of a unit. The latest certificate by issue date governs the unit
    from that date on: fit until its due date (inclusive, Beijing days) unless it failed."""

    __tablename__ = "calibration_certificate"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    unit_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("unit.id", ondelete="CASCADE"), index=True
    )
    kind: so.Mapped[CertificateKind] = so.mapped_column(str_enum(CertificateKind, 16))
    issuing_body: so.Mapped[str] = so.mapped_column(sa.String(200))
    number: so.Mapped[str] = so.mapped_column(sa.String(100))
    issued_date: so.Mapped[date] = so.mapped_column(sa.Date)
    due_date: so.Mapped[date] = so.mapped_column(sa.Date, index=True)
    result: so.Mapped[CertificateResult] = so.mapped_column(str_enum(CertificateResult, 16))
    restrictions: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    recorded_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    unit: so.Mapped[Unit] = so.relationship()

    __table_args__ = (
        sa.CheckConstraint("due_date >= issued_date", name="due_after_issue"),
        sa.UniqueConstraint("unit_id", "kind", "number", name="uq_certificate_number"),
    )

    @property
    def kind_label(self):
        return KIND_LABELS[self.kind]

    @property
    def result_label(self):
        return RESULT_LABELS[self.result]

    @property
    def passed(self) -> bool:
        return self.result != CertificateResult.FAIL


class CalibrationPolicy(Model):
    """The lab's choice for a listing: an unfit unit is blocked (takes no bookings) or only
    flagged (booked with a warning). No row: flagged. `blocked_since_dt` is when blocking
    began, so the consistency check judges only bookings made under the rule."""

    __tablename__ = "calibration_policy"

    listing_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("listing.id", ondelete="CASCADE"), primary_key=True
    )
    blocks_unfit: so.Mapped[bool] = so.mapped_column(default=False)
    blocked_since_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    updated_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    listing: so.Mapped[Listing] = so.relationship()


class Reminder(Model):
    """A reminder sent for a certificate `days_before` its due date: the row is the claim,
    so a second run (or a second machine) sends nothing again."""

    __tablename__ = "calibration_reminder"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    certificate_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("calibration_certificate.id", ondelete="CASCADE")
    )
    days_before: so.Mapped[int] = so.mapped_column(sa.SmallInteger)
    sent_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("certificate_id", "days_before", name="uq_reminder"),)
