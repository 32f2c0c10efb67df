"""Test reports (检测报告): the results per sample and parameter, the three signatures
(编制 prepared, 审核 reviewed, 批准 approved), the number and verification code given at
issue, and the versions an amendment makes.

A report is written as a draft and never changes once issued: its results, signatures,
number and PDF stay as they were (`testing.reports` refuses every change, and
`check-consistency` compares the PDF with the hash taken at issue). An amendment is a new
report (version + 1) that names the one it supersedes; issuing it marks the old one
"amended". A withdrawn report stays on record with its reason.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from sharehub.core.db import UTCDateTime, str_enum, utcnow
from sharehub.core.uploads import StoredFileMixin
from sharehub.extensions import Model

if TYPE_CHECKING:
    from sharehub.accounts.models import Organisation, User
    from sharehub.testing.models import Sample, TestingRequest


class ReportStatus(enum.StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"  # valid
    AMENDED = "amended"  # superseded by a later version
    WITHDRAWN = "withdrawn"


REPORT_STATUS_LABELS = {
    ReportStatus.DRAFT: _l("Draft"),
    ReportStatus.ISSUED: _l("Valid"),
    ReportStatus.AMENDED: _l("Amended"),
    ReportStatus.WITHDRAWN: _l("Withdrawn"),
}


class Verdict(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NA = "na"


VERDICT_LABELS = {
    Verdict.PASS: _l("Pass"),
    Verdict.FAIL: _l("Fail"),
    Verdict.NA: _l("Not applicable"),
}


class SignRole(enum.StrEnum):
    PREPARED = "prepared"  # 编制
    REVIEWED = "reviewed"  # 审核
    APPROVED = "approved"  # 批准 (an authorised signatory)


SIGN_ROLE_LABELS = {
    SignRole.PREPARED: _l("Prepared by"),
    SignRole.REVIEWED: _l("Reviewed by"),
    SignRole.APPROVED: _l("Approved by"),
}
SIGN_ORDER = (SignRole.PREPARED, SignRole.REVIEWED, SignRole.APPROVED)


class ReportCounter(Model):
    """The last report number of a lab in a year, locked while a number is taken, so
    report numbers run without gaps per lab and year (as billing's InvoiceCounter)."""

    __tablename__ = "report_counter"

    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    year: so.Mapped[int] = so.mapped_column(primary_key=True)
    last_number: so.Mapped[int] = so.mapped_column(default=0)


class Report(Model):
    __tablename__ = "test_report"
    __table_args__ = (
        sa.UniqueConstraint("lab_id", "year", "sequence", name="uq_test_report_lab_year_seq"),
        sa.Index(
            "uq_test_report_open_version",
            "supersedes_id",
            unique=True,
            postgresql_where=sa.text("supersedes_id IS NOT NULL"),
            sqlite_where=sa.text("supersedes_id IS NOT NULL"),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    order_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("testing_request.id", ondelete="RESTRICT"), index=True
    )
    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    status: so.Mapped[ReportStatus] = so.mapped_column(
        str_enum(ReportStatus, 16), default=ReportStatus.DRAFT, index=True
    )
    version: so.Mapped[int] = so.mapped_column(default=1)
    supersedes_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("test_report.id", ondelete="RESTRICT")
    )
    amendment_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    conclusion: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    # Signatures, in this order, by three different people
    prepared_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="RESTRICT")
    )
    prepared_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    reviewed_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="RESTRICT")
    )
    reviewed_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    approved_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="RESTRICT")
    )
    approved_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    # Given at issue
    year: so.Mapped[int | None] = so.mapped_column()
    sequence: so.Mapped[int | None] = so.mapped_column()
    number: so.Mapped[str | None] = so.mapped_column(sa.String(40), unique=True)
    verification_code: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    issue_date: so.Mapped[date | None] = so.mapped_column(sa.Date, index=True)
    issued_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    issued_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    overall_verdict: so.Mapped[Verdict | None] = so.mapped_column(str_enum(Verdict, 8))
    # The marks printed: [{"kind": "cma", "number": "..."}], decided on the issue date
    marks: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    content_hash: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    withdrawn_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    withdrawn_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    order: so.Mapped[TestingRequest] = so.relationship()
    lab: so.Mapped[Organisation] = so.relationship()
    supersedes: so.Mapped[Report | None] = so.relationship(
        remote_side=[id], foreign_keys=[supersedes_id]
    )
    prepared_by: so.Mapped[User | None] = so.relationship(foreign_keys=[prepared_by_id])
    reviewed_by: so.Mapped[User | None] = so.relationship(foreign_keys=[reviewed_by_id])
    approved_by: so.Mapped[User | None] = so.relationship(foreign_keys=[approved_by_id])
    results: so.Mapped[list[ReportResult]] = so.relationship(
        back_populates="report",
        cascade="all, delete-orphan",
        order_by="(ReportResult.position, ReportResult.id)",
    )
    documents: so.Mapped[list[ReportDocument]] = so.relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="ReportDocument.id"
    )

    @property
    def status_label(self):
        return REPORT_STATUS_LABELS[self.status]

    @property
    def is_draft(self) -> bool:
        return self.status == ReportStatus.DRAFT

    @property
    def is_issued(self) -> bool:
        return self.status != ReportStatus.DRAFT

    @property
    def overall_verdict_label(self):
        return VERDICT_LABELS[self.overall_verdict] if self.overall_verdict else "—"

    def signer(self, role: SignRole):
        return getattr(self, f"{role.value}_by")

    def signed_dt(self, role: SignRole):
        return getattr(self, f"{role.value}_dt")

    @property
    def next_role(self) -> SignRole | None:
        return next((r for r in SIGN_ORDER if getattr(self, f"{r.value}_by_id") is None), None)

    @property
    def uploaded_pdf(self) -> ReportDocument | None:
        return next((d for d in self.documents if d.purpose == "upload"), None)

    @property
    def issued_pdf(self) -> ReportDocument | None:
        return next((d for d in self.documents if d.purpose == "issued"), None)

    @property
    def superseded_by(self) -> Report | None:
        from sharehub.extensions import db

        return db.session.scalar(
            sa.select(Report).where(
                Report.supersedes_id == self.id, Report.status != ReportStatus.DRAFT
            )
        )

    # --- who may do what (the services check the same) --------------------------------

    def is_lab_staff(self, user) -> bool:
        return bool(user and user.is_authenticated and user.membership_in(self.lab_id))

    def is_customer(self, user) -> bool:
        return bool(
            user and user.is_authenticated and user.membership_in(self.order.customer_org_id)
        )

    def can_view(self, user) -> bool:
        """The lab's staff (drafts too); the customer and the order's readers (platform,
        regulators of the lab's region) once it is issued."""
        if self.is_lab_staff(user):
            return True
        return self.is_issued and self.order.can_view(user)


class ReportResult(Model):
    """One result: a sample, a parameter of a service, the value as reported (a number
    where the parameter has a unit), its unit and limit, and the verdict."""

    __tablename__ = "report_result"
    __table_args__ = (sa.UniqueConstraint("report_id", "sample_id", "service_id", "parameter"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    report_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("test_report.id", ondelete="CASCADE"), index=True
    )
    position: so.Mapped[int] = so.mapped_column(default=0)
    sample_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("sample.id", ondelete="RESTRICT"), index=True
    )
    service_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("testing_service.id", ondelete="RESTRICT")
    )
    parameter: so.Mapped[str] = so.mapped_column(sa.String(200))
    method: so.Mapped[str] = so.mapped_column(sa.String(200))  # the standard and method
    value: so.Mapped[str] = so.mapped_column(sa.String(100))
    numeric_value: so.Mapped[Decimal | None] = so.mapped_column(sa.Numeric(20, 6))
    unit: so.Mapped[str] = so.mapped_column(sa.String(32), default="")
    limit_text: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    verdict: so.Mapped[Verdict] = so.mapped_column(str_enum(Verdict, 8))
    # Whether the result was inside a valid accreditation scope on the issue date
    accredited: so.Mapped[bool] = so.mapped_column(default=False)

    report: so.Mapped[Report] = so.relationship(back_populates="results")
    sample: so.Mapped[Sample] = so.relationship()

    @property
    def verdict_label(self):
        return VERDICT_LABELS[self.verdict]


class ReportDocument(StoredFileMixin, Model):
    """A report's PDF: one uploaded by the lab ("upload", the draft's content when the
    lab writes its reports elsewhere) or the PDF as issued ("issued", never replaced)."""

    __tablename__ = "report_document"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    report_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("test_report.id", ondelete="CASCADE"), index=True
    )
    purpose: so.Mapped[str] = so.mapped_column(sa.String(16))
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    report: so.Mapped[Report] = so.relationship(back_populates="documents")
