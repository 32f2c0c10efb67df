"""Invoices and credit notes: numbered without gaps per lab and year, never changed once
issued (a correction is a credit note)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from sharehub.core.db import UTCDateTime, str_enum, utcnow
from sharehub.core.sealed import Sealed
from sharehub.extensions import Model

if TYPE_CHECKING:
    from sharehub.accounts.models import Organisation
    from sharehub.booking.models import AccessGrant, Booking


class InvoiceStatus(enum.StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PAID = "paid"
    VOID = "void"


STATUS_LABELS = {
    InvoiceStatus.DRAFT: _l("Draft"),
    InvoiceStatus.ISSUED: _l("Issued"),
    InvoiceStatus.PAID: _l("Paid"),
    InvoiceStatus.VOID: _l("Void"),
}


# A booking's invoice that still counts: not a credit note and not voided (drafts count).
LIVE_BOOKING_INVOICE = "booking_id IS NOT NULL AND NOT is_credit_note AND status <> 'void'"


class InvoiceCounter(Model):
    """The last number used by a lab in a year; locked while a number is taken."""

    __tablename__ = "invoice_counter"

    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    year: so.Mapped[int] = so.mapped_column(primary_key=True)
    last_number: so.Mapped[int] = so.mapped_column(default=0)


class Invoice(Model):
    __tablename__ = "invoice"
    __table_args__ = (
        sa.UniqueConstraint("lab_id", "year", "sequence", name="uq_invoice_lab_year_sequence"),
        sa.CheckConstraint("net_total + vat_total = gross_total", name="totals_add_up"),
        # One live invoice per booking: two sessions drafting it at once cannot both win.
        sa.Index(
            "uq_invoice_live_booking",
            "booking_id",
            unique=True,
            postgresql_where=sa.text(LIVE_BOOKING_INVOICE),
            sqlite_where=sa.text(LIVE_BOOKING_INVOICE),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    customer_org_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    booking_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("booking.id", ondelete="SET NULL"), index=True
    )
    credit_for_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("invoice.id", ondelete="RESTRICT")
    )
    # A dataset access grant invoiced for its price (instead of a booking).
    access_grant_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("access_grant.id", ondelete="SET NULL"), index=True
    )
    is_credit_note: so.Mapped[bool] = so.mapped_column(default=False)
    status: so.Mapped[InvoiceStatus] = so.mapped_column(
        str_enum(InvoiceStatus, 16),
        default=InvoiceStatus.DRAFT,
        index=True,
    )
    year: so.Mapped[int | None] = so.mapped_column()
    sequence: so.Mapped[int | None] = so.mapped_column()
    number: so.Mapped[str | None] = so.mapped_column(sa.String(32), unique=True)
    currency: so.Mapped[str] = so.mapped_column(sa.String(3), default="CNY")
    net_total: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    vat_total: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    gross_total: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    # What the parties were called when it was issued (names and codes may change later).
    seller: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    buyer: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # The field of the service billed (catalog Field), for programmes limited to fields;
    # a booking's statement takes its listing's.
    field: so.Mapped[str | None] = so.mapped_column(sa.String(32))
    issued_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime, index=True)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    lab: so.Mapped[Organisation] = so.relationship(foreign_keys=[lab_id])
    customer_org: so.Mapped[Organisation] = so.relationship(foreign_keys=[customer_org_id])
    booking: so.Mapped[Booking | None] = so.relationship()
    access_grant: so.Mapped[AccessGrant | None] = so.relationship()
    credit_for: so.Mapped[Invoice | None] = so.relationship(
        remote_side=[id], back_populates="credit_notes"
    )
    lines: so.Mapped[list[InvoiceLine]] = so.relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.position"
    )
    payments: so.Mapped[list[Payment]] = so.relationship(
        back_populates="invoice", order_by="Payment.id"
    )
    refunds: so.Mapped[list[Refund]] = so.relationship(
        back_populates="invoice", order_by="Refund.id"
    )
    credit_notes: so.Mapped[list[Invoice]] = so.relationship(back_populates="credit_for")

    @property
    def status_label(self):
        return STATUS_LABELS[self.status]

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT

    def can_manage(self, user) -> bool:
        """The issuing lab's managers draft, issue, void and record payments."""
        return user.is_authenticated and user.can_manage(self.lab)

    def can_view(self, user) -> bool:
        """The lab; the customer's members once it is issued (a draft is the lab's own);
        platform administrators."""
        if not user.is_authenticated:
            return False
        is_customer = user.membership_in(self.customer_org_id) is not None
        return (
            self.can_manage(user) or (is_customer and not self.is_draft) or user.is_platform_admin
        )

    @property
    def paid_amount(self) -> int:
        """Money received and kept: payments less refunds not failed."""
        return sum(p.amount for p in self.payments) - sum(
            r.amount for r in self.refunds if r.status != RefundStatus.FAILED
        )

    @property
    def effective_total(self) -> int:
        """What the customer owes after credit notes against this invoice."""
        if self.is_credit_note or self.status == InvoiceStatus.DRAFT:
            return 0
        return self.gross_total + sum(c.gross_total for c in self.credit_notes)

    @property
    def outstanding(self) -> int:
        if self.is_credit_note or self.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            return 0
        return max(0, self.effective_total - self.paid_amount)

    @property
    def overpaid(self) -> int:
        """Received beyond what is owed: to be refunded."""
        if self.is_credit_note or self.status == InvoiceStatus.DRAFT:
            return 0
        return max(0, self.paid_amount - self.effective_total)

    @property
    def payment_reference(self) -> str:
        """What the customer writes on a bank transfer so the lab can match it."""
        return f"SH{self.id:08d}"

    @property
    def payee(self) -> dict:
        """Where to pay by bank transfer: account holder (户名), bank (开户行) and account,
        as printed on the statement when issued, else the lab's current details. The
        holder is the seller's name when none was given; empty account: no bank details."""
        seller, lab = self.seller or {}, self.lab
        account = seller.get("bank_account") or lab.bank_account
        bank = seller.get("bank_name") or lab.bank_name
        holder = seller.get("bank_holder") or lab.bank_holder or seller.get("name") or lab.name
        return {"holder": holder, "bank": bank, "account": account}


class InvoiceLine(Model):
    __tablename__ = "invoice_line"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    invoice_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("invoice.id", ondelete="CASCADE"), index=True
    )
    position: so.Mapped[int] = so.mapped_column(default=0)
    description: so.Mapped[str] = so.mapped_column(sa.String(300))
    quantity: so.Mapped[str] = so.mapped_column(sa.String(32), default="1")
    unit_price: so.Mapped[int] = so.mapped_column(sa.BigInteger)  # fen, before VAT
    net: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    vat_rate_bp: so.Mapped[int]
    vat: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    # What a fapiao line needs besides the amounts: the 税收分类编码 copied from the
    # listing, its 规格型号 and the unit (单位) it is sold by.
    tax_code: so.Mapped[str] = so.mapped_column(sa.String(19), default="", server_default="")
    spec: so.Mapped[str] = so.mapped_column(sa.String(200), default="", server_default="")
    unit: so.Mapped[str] = so.mapped_column(sa.String(20), default="", server_default="")
    # The funding account (grant, cost centre) the line is charged to, and its code and
    # name as they were when the line was made (what the statement prints).
    funding_account_id: so.Mapped[int | None] = so.mapped_column()
    funding_label: so.Mapped[str] = so.mapped_column(sa.String(300), default="", server_default="")

    invoice: so.Mapped[Invoice] = so.relationship(back_populates="lines")

    @property
    def gross(self) -> int:
        return self.net + self.vat


class PaymentMethod(enum.StrEnum):
    BANK_TRANSFER = "bank_transfer"
    CARD = "card"
    ALIPAY = "alipay"
    WECHAT_PAY = "wechat_pay"
    VOUCHER = "voucher"


METHOD_LABELS = {
    PaymentMethod.BANK_TRANSFER: _l("Bank transfer"),
    PaymentMethod.CARD: _l("Card"),
    PaymentMethod.ALIPAY: _l("Alipay"),
    PaymentMethod.WECHAT_PAY: _l("WeChat Pay"),
    PaymentMethod.VOUCHER: _l("Innovation voucher"),
}


class Payment(Model):
    """Money received against an invoice (a bank transfer the lab recorded, or an online
    payment confirmed by the gateway)."""

    __tablename__ = "payment"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    invoice_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("invoice.id", ondelete="RESTRICT"), index=True
    )
    method: so.Mapped[PaymentMethod] = so.mapped_column(str_enum(PaymentMethod, 16))
    amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)  # fen
    payer_reference: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    provider_ref: so.Mapped[str | None] = so.mapped_column(sa.String(100), unique=True)
    paid_date: so.Mapped[date | None] = so.mapped_column(sa.Date)
    recorded_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    invoice: so.Mapped[Invoice] = so.relationship(back_populates="payments")
    refunds: so.Mapped[list[Refund]] = so.relationship(
        back_populates="payment", order_by="Refund.id"
    )

    __table_args__ = (sa.CheckConstraint("amount > 0", name="positive_amount"),)

    @property
    def method_label(self):
        return METHOD_LABELS[self.method]

    @property
    def refundable(self) -> int:
        return self.amount - sum(r.amount for r in self.refunds if r.status != RefundStatus.FAILED)


class RefundStatus(enum.StrEnum):
    REQUESTED = "requested"  # to be sent: by the gateway after commit, or by the lab's bank
    SUBMITTED = "submitted"  # the gateway accepted it and will confirm by webhook
    SUCCEEDED = "succeeded"
    FAILED = "failed"


REFUND_LABELS = {
    RefundStatus.REQUESTED: _l("To be refunded"),
    RefundStatus.SUBMITTED: _l("Refund under way"),
    RefundStatus.SUCCEEDED: _l("Refunded"),
    RefundStatus.FAILED: _l("Refund failed"),
}


class Refund(Model):
    """Money going back to the customer against one payment. Online refunds are written
    here first and sent to the gateway after the commit (with the row id as idempotency
    key), so a crash between the two neither loses nor repeats a refund."""

    __tablename__ = "refund"
    __table_args__ = (sa.CheckConstraint("amount > 0", name="positive_refund"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    invoice_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("invoice.id", ondelete="RESTRICT"), index=True
    )
    payment_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("payment.id", ondelete="RESTRICT"), index=True
    )
    method: so.Mapped[PaymentMethod] = so.mapped_column(str_enum(PaymentMethod, 16))
    amount: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    status: so.Mapped[RefundStatus] = so.mapped_column(
        str_enum(RefundStatus, 16), default=RefundStatus.REQUESTED, index=True
    )
    reason: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    provider_ref: so.Mapped[str | None] = so.mapped_column(sa.String(100), unique=True)
    reference: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    failure: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    recorded_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    completed_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    invoice: so.Mapped[Invoice] = so.relationship(back_populates="refunds")
    payment: so.Mapped[Payment] = so.relationship(back_populates="refunds")

    @property
    def status_label(self):
        return REFUND_LABELS[self.status]

    @property
    def method_label(self):
        return METHOD_LABELS[self.method]


class GatewayEvent(Model):
    """A payment gateway event, stored by its id: a replayed or late event changes nothing
    twice."""

    __tablename__ = "gateway_event"

    id: so.Mapped[str] = so.mapped_column(sa.String(100), primary_key=True)
    type: so.Mapped[str] = so.mapped_column(sa.String(100))
    payload: so.Mapped[dict] = so.mapped_column(sa.JSON)
    outcome: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    # The gateway's id of the payment the event concerns (payments and refunds), so money
    # the gateway reported is found again: a payment event without its payment row, a
    # refund event waiting for its payment.
    payment_ref: so.Mapped[str | None] = so.mapped_column(sa.String(100), index=True)
    awaiting_payment: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    received_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class GatewayKind(enum.StrEnum):
    """Gateways paid straight into the lab's own merchant account (no money passes through
    the platform: the "二清" rule)."""

    ALIPAY = "alipay"
    WECHAT_PAY = "wechat_pay"


GATEWAY_LABELS = {
    GatewayKind.ALIPAY: _l("Alipay"),
    GatewayKind.WECHAT_PAY: _l("WeChat Pay"),
}


class MerchantAccount(Model):
    """A lab's own merchant account at one gateway. The credentials are one sealed JSON
    object (sharehub.core.sealed): never shown again once entered; `hints` keeps the last
    characters of each, which is all the settings page shows."""

    __tablename__ = "merchant_account"
    __table_args__ = (sa.UniqueConstraint("lab_id", "kind", name="uq_merchant_account_lab_kind"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    kind: so.Mapped[GatewayKind] = so.mapped_column(str_enum(GatewayKind, 16))
    # The gateway's public identifier of the account (Alipay app id, WeChat Pay mchid).
    merchant_id: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    enabled: so.Mapped[bool] = so.mapped_column(default=False)
    credentials: so.Mapped[str | None] = so.mapped_column(Sealed)
    hints: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    checked_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    check_ok: so.Mapped[bool | None] = so.mapped_column()
    updated_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )

    lab: so.Mapped[Organisation] = so.relationship()

    @property
    def label(self):
        return GATEWAY_LABELS[self.kind]

    def secrets(self) -> dict:
        import json

        return json.loads(self.credentials) if self.credentials else {}

    def can_manage(self, user) -> bool:
        """Only the lab's owners and managers see or change its merchant settings."""
        return user.is_authenticated and user.can_manage(self.lab)

    def __repr__(self) -> str:  # never the credentials, even in a traceback
        return f"<MerchantAccount {self.id} lab={self.lab_id} {self.kind}>"


class OnlinePaymentStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    CLOSED = "closed"
    FAILED = "failed"


ONLINE_STATUS_LABELS = {
    OnlinePaymentStatus.PENDING: _l("Waiting for payment"),
    OnlinePaymentStatus.PAID: _l("Paid"),
    OnlinePaymentStatus.CLOSED: _l("Closed"),
    OnlinePaymentStatus.FAILED: _l("Failed"),
}


class OnlinePayment(Model):
    """One attempt to pay a statement through a lab's merchant account: the order the
    gateway knows by `out_trade_no`. It becomes paid once, by a verified notification or by
    a trade query, and then points at its Payment."""

    __tablename__ = "online_payment"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    invoice_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("invoice.id", ondelete="RESTRICT"), index=True
    )
    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    account_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("merchant_account.id", ondelete="RESTRICT"), index=True
    )
    kind: so.Mapped[GatewayKind] = so.mapped_column(str_enum(GatewayKind, 16))
    channel: so.Mapped[str] = so.mapped_column(sa.String(16), default="qr")
    out_trade_no: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    amount_fen: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    currency: so.Mapped[str] = so.mapped_column(sa.String(3), default="CNY")
    status: so.Mapped[OnlinePaymentStatus] = so.mapped_column(
        str_enum(OnlinePaymentStatus, 16), default=OnlinePaymentStatus.PENDING, index=True
    )
    code_url: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    expires_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    trade_no: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    payment_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("payment.id", ondelete="RESTRICT"), unique=True
    )
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    queried_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    finished_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    invoice: so.Mapped[Invoice] = so.relationship()
    account: so.Mapped[MerchantAccount] = so.relationship()
    payment: so.Mapped[Payment | None] = so.relationship()

    __table_args__ = (sa.CheckConstraint("amount_fen > 0", name="positive_online_amount"),)

    @property
    def status_label(self):
        return ONLINE_STATUS_LABELS[self.status]

    @property
    def is_pending(self) -> bool:
        return self.status == OnlinePaymentStatus.PENDING

    def can_view(self, user) -> bool:
        return self.invoice.can_view(user)
