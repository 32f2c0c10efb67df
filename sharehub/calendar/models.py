"""Calendars: the secret feeds of bookings, and the outside calendars whose busy times
block a unit."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.core.db import UTCDateTime, utcnow
from sharehub.extensions import db


class CalendarFeed(db.Model):
    """A secret feed URL of a user's or a lab's bookings; revoking it makes a new one."""

    __tablename__ = "calendar_feed"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    token: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    organisation_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    revoked_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)


class ExternalCalendar(db.Model):
    """An outside calendar (URL or uploaded file) whose busy times block a unit."""

    __tablename__ = "external_calendar"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    unit_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("unit.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    url: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    last_refreshed_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    last_error: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    busy: so.Mapped[list[ExternalBusy]] = so.relationship(
        back_populates="calendar", cascade="all, delete-orphan"
    )


class ExternalBusy(db.Model):
    """One expanded busy interval of an external calendar (recurrences already unrolled)."""

    __tablename__ = "external_busy"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    calendar_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("external_calendar.id", ondelete="CASCADE"), index=True
    )
    unit_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("unit.id", ondelete="CASCADE"))
    starts_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    ends_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime)

    calendar: so.Mapped[ExternalCalendar] = so.relationship(back_populates="busy")

    __table_args__ = (sa.Index("ix_external_busy_unit_time", "unit_id", "starts_dt"),)
