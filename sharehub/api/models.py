"""API tokens of users acting for an organisation, and outgoing webhooks with their
delivery log (an outbox: a delivery is written in the transaction of its event)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from sharehub.core.db import UTCDateTime, str_enum, utcnow
from sharehub.extensions import Model

if TYPE_CHECKING:
    from sharehub.accounts.models import Organisation, User

SCOPES = {
    "bookings:read": _l("Read the organisation's bookings"),
    "bookings:write": _l("Book, cancel and reschedule"),
    "usage:read": _l("Read the laboratory's usage records"),
    "usage:write": _l("Record usage for the laboratory"),
    "invoices:read": _l("Read statements of charges and download their PDFs"),
    "metrics:read": _l("Read sharing metrics and the national report"),
    "orders:read": _l("Read the organisation's testing requests, orders and samples"),
    "orders:write": _l("Request testing, quote, accept quotes and receive samples"),
    "reports:read": _l("Read test reports and download their PDFs"),
    "fapiao:read": _l("Read invoice profiles and fapiao requests, download fapiao"),
    "fapiao:write": _l("Ask for the fapiao of a statement"),
}

EVENTS = {
    "booking.created": _l("Booking created"),
    "booking.confirmed": _l("Booking confirmed"),
    "booking.declined": _l("Booking declined"),
    "booking.cancelled": _l("Booking cancelled"),
    "booking.rescheduled": _l("Booking rescheduled"),
    "booking.completed": _l("Booking completed"),
    "invoice.issued": _l("Statement issued"),
    "invoice.paid": _l("Statement paid"),
    "order.submitted": _l("Testing request submitted"),
    "order.quoted": _l("Testing request quoted"),
    "order.accepted": _l("Testing order accepted"),
    "order.samples_in_transit": _l("Samples sent"),
    "order.received": _l("Samples received"),
    "order.in_testing": _l("Testing started"),
    "order.reported": _l("Testing order reported"),
    "order.completed": _l("Testing order completed"),
    "order.cancelled": _l("Testing request cancelled"),
    "order.refused": _l("Testing request refused"),
    "order.lapsed": _l("Testing quote lapsed"),
    "report.issued": _l("Test report issued"),
    "report.withdrawn": _l("Test report withdrawn"),
}


class ApiToken(Model):
    """A bearer token of one user acting for one organisation. Only its SHA-256 is kept
    (the token has 256 random bits, so a plain hash cannot be guessed back)."""

    __tablename__ = "api_token"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    organisation_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    prefix: so.Mapped[str] = so.mapped_column(sa.String(16))  # shown to tell tokens apart
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    scopes: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    expires_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_used_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    revoked_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    user: so.Mapped[User] = so.relationship()
    organisation: so.Mapped[Organisation] = so.relationship()

    @property
    def is_usable(self) -> bool:
        return self.revoked_dt is None and self.expires_dt > utcnow()

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last retry


class WebhookEndpoint(Model):
    """A URL an organisation registered to receive events. The secret signs each delivery
    (HMAC-SHA256), so it is kept as is; it is shown to the owner once."""

    __tablename__ = "webhook_endpoint"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    organisation_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    url: so.Mapped[str] = so.mapped_column(sa.String(500))
    secret: so.Mapped[str] = so.mapped_column(sa.String(64))
    events: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    is_active: so.Mapped[bool] = so.mapped_column(default=True)
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    organisation: so.Mapped[Organisation] = so.relationship()
    deliveries: so.Mapped[list[WebhookDelivery]] = so.relationship(
        back_populates="endpoint", cascade="all, delete-orphan", passive_deletes=True
    )


class WebhookDelivery(Model):
    """One event for one endpoint, retried with exponential backoff until it is taken
    (2xx) or the last attempt failed."""

    __tablename__ = "webhook_delivery"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    endpoint_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True
    )
    event_id: so.Mapped[str] = so.mapped_column(sa.String(40), index=True)
    event_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    payload: so.Mapped[dict] = so.mapped_column(sa.JSON)
    status: so.Mapped[DeliveryStatus] = so.mapped_column(
        str_enum(DeliveryStatus, 16), default=DeliveryStatus.PENDING
    )
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    next_attempt_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_attempt_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_status_code: so.Mapped[int | None] = so.mapped_column()
    last_error: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    delivered_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    endpoint: so.Mapped[WebhookEndpoint] = so.relationship(back_populates="deliveries")

    __table_args__ = (sa.Index("ix_webhook_delivery_due", "status", "next_attempt_dt"),)


class IdempotencyKey(Model):
    """The answer to a POST sent with an `Idempotency-Key` header, kept for a day so a
    retry of the same request gets the same answer instead of acting twice.

    The row is written in the transaction of the change it answers for: if that commits,
    so does the answer, and a client whose answer was lost (a killed worker, a dropped
    connection) reads it back. The key is the client's, per user; `request_hash` is the
    fingerprint (method, path, organisation, body) that a reuse of the key must match.
    """

    __tablename__ = "idempotency_key"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    key: so.Mapped[str] = so.mapped_column(sa.String(255))
    request_hash: so.Mapped[str] = so.mapped_column(sa.String(64))
    status_code: so.Mapped[int] = so.mapped_column(default=0)  # 0 while the request runs
    response_body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    content_type: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("user_id", "key"),
        sa.Index("ix_idempotency_key_created_dt", "created_dt"),
    )
