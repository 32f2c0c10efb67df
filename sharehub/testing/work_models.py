"""The work of a testing order on the lab's instruments, and the statements it is billed by.

A test run is a booking the lab makes on one of its units for the order
(booking.services.create_lab_booking): it blocks the unit against self-service
customers, and its check-in and check-out make usage records served to the order's
customer, so they count as external service hours for the enterprise served. The booking
itself is never invoiced; the order is, from its lines (`OrderStatement`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.core.db import UTCDateTime, utcnow
from sharehub.extensions import Model

if TYPE_CHECKING:
    from sharehub.accounts.models import User
    from sharehub.billing.models import Invoice
    from sharehub.booking.models import Booking
    from sharehub.testing.models import TestingRequest


class TestRun(Model):
    """One scheduled run of an order's tests on a unit (its booking)."""

    __tablename__ = "test_run"
    __test__ = False

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    order_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("testing_request.id", ondelete="CASCADE"), index=True
    )
    booking_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("booking.id", ondelete="RESTRICT"), unique=True
    )
    note: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    order: so.Mapped[TestingRequest] = so.relationship()
    booking: so.Mapped[Booking] = so.relationship()
    created_by: so.Mapped[User | None] = so.relationship()


class OrderStatement(Model):
    """A statement of charges drafted from an order's lines. An order has at most one live
    statement (not void); the order row is locked while one is drafted."""

    __tablename__ = "order_statement"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    order_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("testing_request.id", ondelete="CASCADE"), index=True
    )
    invoice_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("invoice.id", ondelete="RESTRICT"), unique=True
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    order: so.Mapped[TestingRequest] = so.relationship()
    invoice: so.Mapped[Invoice] = so.relationship()
