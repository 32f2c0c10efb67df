"""Innovation vouchers (科技创新券): an authority's programme, a firm's yearly quota, the
amounts applied to invoices, and the labs' settlement claims (申请兑付) with their evidence."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from sharehub.core.db import UTCDateTime, str_enum, utcnow
from sharehub.core.uploads import StoredFileMixin
from sharehub.extensions import Model

if TYPE_CHECKING:
    from sharehub.accounts.models import Organisation
    from sharehub.billing.models import Invoice


class VoucherProgramme(Model):
    __tablename__ = "voucher_programme"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    authority_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    subsidy_bp: so.Mapped[int]  # share of the price the voucher pays, in basis points
    yearly_cap: so.Mapped[int] = so.mapped_column(sa.BigInteger)  # fen per firm and year
    order_cap: so.Mapped[int] = so.mapped_column(sa.BigInteger)  # fen per order
    valid_from: so.Mapped[date] = so.mapped_column(sa.Date)
    valid_to: so.Mapped[date] = so.mapped_column(sa.Date)
    # Empty lists mean "any".
    region_ids: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    cluster_ids: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    fields: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    lab_ids: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    # Days a claim stays publicly noticed (公示) before it may be approved.
    notice_days: so.Mapped[int] = so.mapped_column(default=7, server_default="7")
    # Labs found to have used vouchers fraudulently: they take no new vouchers or claims.
    barred_lab_ids: so.Mapped[list] = so.mapped_column(
        sa.JSON, default=list, server_default=sa.text("'[]'")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    authority: so.Mapped[Organisation] = so.relationship()

    @property
    def subsidy_percent(self) -> float:
        return self.subsidy_bp / 100

    def is_open_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to

    __table_args__ = (
        sa.CheckConstraint("subsidy_bp > 0 AND subsidy_bp <= 10000", name="subsidy_share"),
        sa.CheckConstraint("yearly_cap >= 0 AND order_cap >= 0", name="caps"),
    )


class VoucherQuota(Model):
    """A firm's quota in a programme for one year: applied for, then granted."""

    __tablename__ = "voucher_quota"
    __table_args__ = (
        sa.UniqueConstraint("programme_id", "firm_id", "year", name="uq_voucher_quota_year"),
        sa.CheckConstraint(
            "used_amount >= 0 AND used_amount <= granted_amount", name="within_grant"
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    programme_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("voucher_programme.id", ondelete="RESTRICT"), index=True
    )
    firm_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    year: so.Mapped[int]
    requested_amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    granted_amount: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    used_amount: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="applied")
    # Why the authority refused the application.
    reason: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default="")
    decided_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    programme: so.Mapped[VoucherProgramme] = so.relationship()
    firm: so.Mapped[Organisation] = so.relationship()

    @property
    def remaining(self) -> int:
        return self.granted_amount - self.used_amount if self.status == "granted" else 0


class VoucherUse(Model):
    """An amount of a quota applied to an invoice; cancelled uses return to the quota, void
    (fraudulent) ones do not. An invoice takes one voucher use in force: the programme's
    share applies once to the invoice's amount."""

    __tablename__ = "voucher_use"
    __table_args__ = (
        sa.Index(
            "uq_voucher_use_applied_invoice",
            "invoice_id",
            unique=True,
            postgresql_where=sa.text("status = 'applied'"),
            sqlite_where=sa.text("status = 'applied'"),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    quota_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("voucher_quota.id", ondelete="RESTRICT"), index=True
    )
    invoice_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("invoice.id", ondelete="RESTRICT"), index=True
    )
    payment_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("payment.id", ondelete="SET NULL")
    )
    amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="applied")
    # The settlement claim that covers it; cleared again when that claim is rejected.
    claim_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("settlement_claim.id", ondelete="SET NULL"), index=True
    )
    void_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="", server_default="")
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    quota: so.Mapped[VoucherQuota] = so.relationship()
    invoice: so.Mapped[Invoice] = so.relationship()
    claim: so.Mapped[SettlementClaim | None] = so.relationship(back_populates="uses")


class ClaimStatus(enum.StrEnum):
    DRAFT = "draft"  # the lab is attaching its evidence
    SUBMITTED = "submitted"
    PUBLICISED = "publicised"  # under public notice (公示) until notice_until
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"


CLAIM_STATUS_LABELS = {
    ClaimStatus.DRAFT: _l("Draft"),
    ClaimStatus.SUBMITTED: _l("Submitted"),
    ClaimStatus.PUBLICISED: _l("Under public notice"),
    ClaimStatus.APPROVED: _l("Approved"),
    ClaimStatus.PAID: _l("Paid"),
    ClaimStatus.REJECTED: _l("Rejected"),
}


class DocumentKind(enum.StrEnum):
    CONTRACT = "contract"
    INVOICE = "invoice"
    PAYMENT_PROOF = "payment_proof"
    SERVICE_REPORT = "service_report"


DOCUMENT_KIND_LABELS = {
    DocumentKind.CONTRACT: _l("Contract"),
    DocumentKind.INVOICE: _l("Fapiao"),
    DocumentKind.PAYMENT_PROOF: _l("Payment proof"),
    DocumentKind.SERVICE_REPORT: _l("Service report"),
}


class SettlementClaim(Model):
    """A lab's claim (申请兑付) for the voucher amounts it received in one programme."""

    __tablename__ = "settlement_claim"
    __table_args__ = (sa.CheckConstraint("amount >= 0", name="claim_amount"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    programme_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("voucher_programme.id", ondelete="RESTRICT"), index=True
    )
    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    status: so.Mapped[ClaimStatus] = so.mapped_column(
        str_enum(ClaimStatus, 16), default=ClaimStatus.DRAFT, index=True
    )
    amount: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)  # fen
    notice_until: so.Mapped[date | None] = so.mapped_column(sa.Date)
    reject_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    paid_date: so.Mapped[date | None] = so.mapped_column(sa.Date)
    payment_reference: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    submitted_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    decided_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    programme: so.Mapped[VoucherProgramme] = so.relationship()
    lab: so.Mapped[Organisation] = so.relationship()
    uses: so.Mapped[list[VoucherUse]] = so.relationship(
        back_populates="claim", order_by="VoucherUse.id"
    )
    documents: so.Mapped[list[ClaimDocument]] = so.relationship(
        back_populates="claim", cascade="all, delete-orphan", order_by="ClaimDocument.id"
    )

    @property
    def status_label(self):
        return CLAIM_STATUS_LABELS[self.status]

    def can_manage(self, user) -> bool:
        """The claiming lab's managers prepare, submit and discard it."""
        return user.is_authenticated and user.can_manage(self.lab)

    def can_review(self, user) -> bool:
        """The programme's authority reviews it once submitted (a draft is the lab's own)."""
        return (
            user.is_authenticated
            and self.status != ClaimStatus.DRAFT
            and user.can_manage(self.programme.authority)
        )

    def can_view(self, user) -> bool:
        return self.can_manage(user) or self.can_review(user)

    def document_of(self, kind: DocumentKind) -> ClaimDocument | None:
        return next((d for d in reversed(self.documents) if d.kind == kind), None)

    @property
    def missing_kinds(self) -> list[DocumentKind]:
        return [kind for kind in DocumentKind if self.document_of(kind) is None]


class ClaimDocument(StoredFileMixin, Model):
    """Evidence of a claim: a PDF or image checked by content, stored outside static/."""

    __tablename__ = "claim_document"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    claim_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("settlement_claim.id", ondelete="CASCADE"), index=True
    )
    kind: so.Mapped[DocumentKind] = so.mapped_column(str_enum(DocumentKind, 16))
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    uploaded_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    claim: so.Mapped[SettlementClaim] = so.relationship(back_populates="documents")

    @property
    def kind_label(self):
        return DOCUMENT_KIND_LABELS[self.kind]
