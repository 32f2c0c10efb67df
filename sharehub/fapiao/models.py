"""Tax invoices (增值税发票, today 数电发票 from the national tax system) asked for on a
lab's statement of charges.

A statement (billing's Invoice) is the lab's own billing document; the fapiao is issued by
the lab in the tax system and attached here. An enterprise keeps invoice profiles (抬头,
纳税人识别号 and, for a 专票, address, phone, bank and account) and picks one when it asks
for the fapiao of a statement; the lab exports the requests in the tax system's bulk-issue
layout, then attaches the issued fapiao (file, 20-digit number, date). A red fapiao
(红字发票) reverses an issued one with its 红字确认单 number and reason.
"""

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
    from sharehub.accounts.models import Organisation, User
    from sharehub.billing.models import Invoice


class FapiaoKind(enum.StrEnum):
    NORMAL = "normal"  # 普通发票
    SPECIAL = "special"  # 增值税专用发票 (the buyer deducts input VAT)


KIND_LABELS = {
    FapiaoKind.NORMAL: _l("Ordinary fapiao (普票)"),
    FapiaoKind.SPECIAL: _l("Special VAT fapiao (专票)"),
}
# The words of the tax system's bulk-issue template (发票类型 column).
KIND_TEMPLATE = {FapiaoKind.NORMAL: "普通发票", FapiaoKind.SPECIAL: "增值税专用发票"}


class RedReason(enum.StrEnum):
    """The four reasons a red fapiao (红字发票) may give."""

    ERROR = "error"  # 开票有误
    RETURN = "return"  # 销货退回
    TERMINATED = "terminated"  # 服务中止
    ALLOWANCE = "allowance"  # 销售折让


RED_REASON_LABELS = {
    RedReason.ERROR: _l("Issued in error (开票有误)"),
    RedReason.RETURN: _l("Goods returned (销货退回)"),
    RedReason.TERMINATED: _l("Service terminated (服务中止)"),
    RedReason.ALLOWANCE: _l("Sales allowance (销售折让)"),
}


class InvoiceProfile(Model):
    """An enterprise's buyer details for fapiao (开票信息), kept once and picked per request."""

    __tablename__ = "fapiao_profile"
    __table_args__ = (
        # One default profile per organisation.
        sa.Index(
            "uq_fapiao_profile_default",
            "organisation_id",
            unique=True,
            postgresql_where=sa.text("is_default"),
            sqlite_where=sa.text("is_default"),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    organisation_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    kind: so.Mapped[FapiaoKind] = so.mapped_column(
        str_enum(FapiaoKind, 16), default=FapiaoKind.NORMAL
    )
    title: so.Mapped[str] = so.mapped_column(sa.String(200))  # 名称 / 抬头
    tax_id: so.Mapped[str] = so.mapped_column(sa.String(20))  # 纳税人识别号
    address: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    phone: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    bank_name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    bank_account: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    email: so.Mapped[str] = so.mapped_column(sa.String(254), default="")
    is_default: so.Mapped[bool] = so.mapped_column(default=False)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    organisation: so.Mapped[Organisation] = so.relationship()

    @property
    def kind_label(self):
        return KIND_LABELS[self.kind]

    def can_edit(self, user) -> bool:
        """The enterprise's own members keep its profiles."""
        return user.is_authenticated and user.membership_in(self.organisation_id) is not None

    def snapshot(self) -> dict:
        """What the request keeps: the profile may change or go after the fapiao is asked."""
        return {
            "kind": self.kind.value,
            "title": self.title,
            "tax_id": self.tax_id,
            "address": self.address,
            "phone": self.phone,
            "bank_name": self.bank_name,
            "bank_account": self.bank_account,
            "email": self.email,
        }


class RequestStatus(enum.StrEnum):
    REQUESTED = "requested"  # the enterprise asked; the lab has not exported it yet
    EXPORTED = "exported"  # in a bulk-issue file given to the tax software
    ISSUED = "issued"  # the fapiao is attached
    REVERSED = "reversed"  # a red fapiao reversed it; the enterprise may ask again
    CANCELLED = "cancelled"  # the statement was voided before the fapiao was issued


REQUEST_LABELS = {
    RequestStatus.REQUESTED: _l("Requested"),
    RequestStatus.EXPORTED: _l("Exported for issuing"),
    RequestStatus.ISSUED: _l("Fapiao issued"),
    RequestStatus.REVERSED: _l("Reversed by a red fapiao"),
    RequestStatus.CANCELLED: _l("Cancelled"),
}
OPEN_STATUSES = (RequestStatus.REQUESTED, RequestStatus.EXPORTED, RequestStatus.ISSUED)
OPEN_REQUEST = "status IN ('requested', 'exported', 'issued')"


class FapiaoRequest(Model):
    """An enterprise's request for the fapiao of one statement; one open per statement."""

    __tablename__ = "fapiao_request"
    __table_args__ = (
        sa.Index(
            "uq_fapiao_request_open",
            "invoice_id",
            unique=True,
            postgresql_where=sa.text(OPEN_REQUEST),
            sqlite_where=sa.text(OPEN_REQUEST),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    invoice_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("invoice.id", ondelete="RESTRICT"), index=True
    )
    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    customer_org_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    profile_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("fapiao_profile.id", ondelete="SET NULL")
    )
    buyer: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)  # fen, tax included
    status: so.Mapped[RequestStatus] = so.mapped_column(
        str_enum(RequestStatus, 16), default=RequestStatus.REQUESTED, index=True
    )
    requested_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    exported_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    invoice: so.Mapped[Invoice] = so.relationship()
    lab: so.Mapped[Organisation] = so.relationship(foreign_keys=[lab_id])
    customer_org: so.Mapped[Organisation] = so.relationship(foreign_keys=[customer_org_id])
    requested_by: so.Mapped[User | None] = so.relationship()
    fapiaos: so.Mapped[list[Fapiao]] = so.relationship(
        back_populates="request", order_by="Fapiao.id"
    )

    @property
    def status_label(self):
        return REQUEST_LABELS[self.status]

    @property
    def kind(self) -> FapiaoKind:
        return FapiaoKind(self.buyer.get("kind", FapiaoKind.NORMAL))

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def issued(self) -> Fapiao | None:
        """The (blue) fapiao issued for the request."""
        return next((f for f in self.fapiaos if not f.is_red), None)

    def can_handle(self, user) -> bool:
        """The lab's owners and managers export, attach and reverse."""
        return user.is_authenticated and user.can_manage(self.lab)

    def can_view(self, user) -> bool:
        """The lab's owners and managers, and the enterprise's members."""
        return self.can_handle(user) or (
            user.is_authenticated and user.membership_in(self.customer_org_id) is not None
        )


class Fapiao(StoredFileMixin, Model):
    """An issued fapiao as the tax system produced it (PDF, OFD or XML), or a red one."""

    __tablename__ = "fapiao"
    __table_args__ = (
        sa.CheckConstraint("amount <> 0", name="nonzero_amount"),
        sa.CheckConstraint(
            "(is_red AND original_id IS NOT NULL AND red_confirmation_no IS NOT NULL)"
            " OR (NOT is_red AND original_id IS NULL)",
            name="red_links_original",
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    request_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("fapiao_request.id", ondelete="RESTRICT"), index=True
    )
    number: so.Mapped[str] = so.mapped_column(sa.String(20), unique=True)  # 20 digits
    issued_date: so.Mapped[date] = so.mapped_column(sa.Date)
    amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)  # fen, tax included; red < 0
    is_red: so.Mapped[bool] = so.mapped_column(default=False)
    original_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("fapiao.id", ondelete="RESTRICT"), index=True
    )
    red_confirmation_no: so.Mapped[str | None] = so.mapped_column(sa.String(40))  # 红字确认单
    red_reason: so.Mapped[RedReason | None] = so.mapped_column(str_enum(RedReason, 16))
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    uploaded_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    request: so.Mapped[FapiaoRequest] = so.relationship(back_populates="fapiaos")
    original: so.Mapped[Fapiao | None] = so.relationship(remote_side=[id])

    @property
    def red_reason_label(self):
        return RED_REASON_LABELS[self.red_reason] if self.red_reason else ""
