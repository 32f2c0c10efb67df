"""Tables every domain shares: the audit log, the mail outbox and in-app notifications."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.core.db import UTCDateTime, utcnow
from sharehub.extensions import db


class AuditEntry(db.Model):
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

    actor: so.Mapped[User | None] = so.relationship(foreign_keys=[actor_id])  # noqa: F821
    organisation: so.Mapped[Organisation | None] = so.relationship(  # noqa: F821
        foreign_keys=[organisation_id]
    )

    __table_args__ = (sa.Index("ix_audit_entry_object", "object_type", "object_id"),)


class OutboxMessage(db.Model):
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


class Notification(db.Model):
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
