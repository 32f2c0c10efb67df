"""Tables every domain shares: the audit log, the mail outbox and in-app notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.core.db import UTCDateTime, utcnow
from sharehub.extensions import Model


class AuditEntry(Model):
    """One state change: who did what to which object, with the details that matter."""

    __tablename__ = "audit_entry"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    organisation_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    action: so.Mapped[str] = so.mapped_column(sa.String(64), index=True)
    object_type: so.Mapped[str] = so.mapped_column(sa.String(32))
    object_id: so.Mapped[int | None] = so.mapped_column(sa.Integer)
    data: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    ip: so.Mapped[str | None] = so.mapped_column(sa.String(64))

    # core sits below accounts (tests/core/test_layers.py) and may not import it, not even
    # for a type: the targets are named to the mapper, and the attributes are typed Any
    # (an accounts User and Organisation, or None).
    actor: so.Mapped[Any] = so.relationship("User", foreign_keys=[actor_id])
    organisation: so.Mapped[Any] = so.relationship("Organisation", foreign_keys=[organisation_id])

    __table_args__ = (sa.Index("ix_audit_entry_object", "object_type", "object_id"),)


class OutboxMessage(Model):
    """Mail written in the same transaction as the change it reports, sent after commit."""

    __tablename__ = "outbox_message"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    recipient: so.Mapped[str] = so.mapped_column(sa.String(254))
    subject: so.Mapped[str] = so.mapped_column(sa.String(200))
    body_text: so.Mapped[str] = so.mapped_column(sa.Text)
    attachments: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    sent_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime, index=True)
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    next_attempt_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)


class OutboxEvent(Model):
    """Something that happened, stored in the change's own transaction and told later: the
    outbox worker (or the hook after the commit) renders the mail, the invite, the in-app
    messages and the webhook deliveries from it, so the request that made the change does
    none of that work (core/mail.py `defer_event`, `process_events`)."""

    __tablename__ = "outbox_event"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    kind: so.Mapped[str] = so.mapped_column(sa.String(32))  # the handler, e.g. "booking"
    object_id: so.Mapped[int] = so.mapped_column(sa.Integer)
    event: so.Mapped[str] = so.mapped_column(sa.String(32))
    data: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    done_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime, index=True)
    attempts: so.Mapped[int] = so.mapped_column(default=0)


class Notification(Model):
    """An in-app message; the same event is also mailed through the outbox."""

    __tablename__ = "notification"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    text: so.Mapped[str] = so.mapped_column(sa.String(500))
    link: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    read_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
