"""Innovation vouchers (科技创新券): an authority's programme, a firm's yearly quota, and the
amounts applied to invoices."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.core.db import UTCDateTime, utcnow
from sharehub.extensions import db


class VoucherProgramme(db.Model):
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
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    authority: so.Mapped[Organisation] = so.relationship()  # noqa: F821

    __table_args__ = (
        sa.CheckConstraint("subsidy_bp > 0 AND subsidy_bp <= 10000", name="subsidy_share"),
        sa.CheckConstraint("yearly_cap >= 0 AND order_cap >= 0", name="caps"),
    )


class VoucherQuota(db.Model):
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
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    programme: so.Mapped[VoucherProgramme] = so.relationship()
    firm: so.Mapped[Organisation] = so.relationship()  # noqa: F821

    @property
    def remaining(self) -> int:
        return self.granted_amount - self.used_amount if self.status == "granted" else 0


class VoucherUse(db.Model):
    """An amount of a quota applied to an invoice; cancelled uses return to the quota."""

    __tablename__ = "voucher_use"

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
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    quota: so.Mapped[VoucherQuota] = so.relationship()
