"""Requirements, training and authorisations to operate a lab's instruments.

A requirement names what a user needs to operate its listings alone (a training course,
a test with a pass mark) and how long an authorisation lasts. An authorisation runs from
its grant until midnight Beijing time at the end of its validity; a new grant for the
same user and requirement supersedes the current one (one current authorisation each,
kept by a partial unique index, so two staff granting at once cannot both write one).
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
from sharehub.extensions import Model

if TYPE_CHECKING:
    from sharehub.accounts.models import Organisation, User
    from sharehub.catalog.models import Listing


class Level(enum.StrEnum):
    ASSISTED = "assisted"  # operates under a staff member's supervision only
    INDEPENDENT = "independent"  # operates alone
    TRAINER = "trainer"  # operates alone and trains others


LEVEL_RANK = {Level.ASSISTED: 0, Level.INDEPENDENT: 1, Level.TRAINER: 2}
LEVEL_LABELS = {
    Level.ASSISTED: _l("Assisted only"),
    Level.INDEPENDENT: _l("Independent"),
    Level.TRAINER: _l("Trainer"),
}


class TrainingStatus(enum.StrEnum):
    REQUESTED = "requested"
    SCHEDULED = "scheduled"  # a session with a trainer is booked
    COMPLETED = "completed"
    CANCELLED = "cancelled"


TRAINING_STATUS_LABELS = {
    TrainingStatus.REQUESTED: _l("Requested"),
    TrainingStatus.SCHEDULED: _l("Session booked"),
    TrainingStatus.COMPLETED: _l("Completed"),
    TrainingStatus.CANCELLED: _l("Cancelled"),
}

MAX_VALIDITY_MONTHS = 120
SCORE_MAX = Decimal(100)

requirement_listing = sa.Table(
    "competence_requirement_listing",
    Model.metadata,
    sa.Column(
        "requirement_id",
        sa.ForeignKey("competence_requirement.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    # A listing follows one requirement at most.
    sa.Column(
        "listing_id", sa.ForeignKey("listing.id", ondelete="CASCADE"), primary_key=True, unique=True
    ),
)

# A requirement may need others held first (the basic course before the advanced one).
requirement_prerequisite = sa.Table(
    "competence_requirement_prerequisite",
    Model.metadata,
    sa.Column(
        "requirement_id",
        sa.ForeignKey("competence_requirement.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "prerequisite_id",
        sa.ForeignKey("competence_requirement.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)

ALL_LEVELS = ",".join(level.value for level in Level)


class Requirement(Model):
    """What a user needs to operate the requirement's listings alone."""

    __tablename__ = "competence_requirement"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    validity_months: so.Mapped[int]
    course: so.Mapped[str] = so.mapped_column(sa.String(300), default="")  # the training course
    pass_score: so.Mapped[int | None]  # a test is required when set (0–100)
    # Everyone books these listings with a staff operator, authorised or not.
    assistance_required: so.Mapped[bool] = so.mapped_column(default=False)
    # The levels the lab grants for it, comma-separated (Level values).
    levels: so.Mapped[str] = so.mapped_column(
        sa.String(64), default=ALL_LEVELS, server_default=ALL_LEVELS
    )
    # The lab's staff calendar: an expert-time listing whose units are the staff operators.
    staff_listing_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("listing.id", ondelete="SET NULL")
    )
    # The trainers' time: an expert-time listing on which training sessions are booked.
    trainer_listing_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("listing.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    lab: so.Mapped[Organisation] = so.relationship()
    listings: so.Mapped[list[Listing]] = so.relationship(
        secondary=requirement_listing, order_by="Listing.id"
    )
    staff_listing: so.Mapped[Listing | None] = so.relationship(foreign_keys=[staff_listing_id])
    trainer_listing: so.Mapped[Listing | None] = so.relationship(foreign_keys=[trainer_listing_id])
    prerequisites: so.Mapped[list[Requirement]] = so.relationship(
        secondary=requirement_prerequisite,
        primaryjoin=lambda: Requirement.id == requirement_prerequisite.c.requirement_id,
        secondaryjoin=lambda: Requirement.id == requirement_prerequisite.c.prerequisite_id,
        order_by="Requirement.id",
    )

    __table_args__ = (
        sa.CheckConstraint("validity_months > 0", name="validity_positive"),
        sa.CheckConstraint(
            "pass_score IS NULL OR (pass_score >= 0 AND pass_score <= 100)", name="pass_score"
        ),
    )

    def can_manage(self, user) -> bool:
        return user.is_authenticated and user.can_manage(self.lab)

    @property
    def offered_levels(self) -> list[Level]:
        chosen = set((self.levels or ALL_LEVELS).split(","))
        return [level for level in Level if level.value in chosen]


class TrainingRequest(Model):
    """A user asks a lab to be trained for a requirement; a session may be booked."""

    __tablename__ = "training_request"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    requirement_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("competence_requirement.id", ondelete="CASCADE"), index=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    status: so.Mapped[TrainingStatus] = so.mapped_column(
        str_enum(TrainingStatus, 16), default=TrainingStatus.REQUESTED, index=True
    )
    note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    # The session with a trainer, booked through the booking engine on the trainers' listing.
    booking_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("booking.id", ondelete="SET NULL"), index=True
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    requirement: so.Mapped[Requirement] = so.relationship()
    user: so.Mapped[User] = so.relationship()

    @property
    def status_label(self):
        return TRAINING_STATUS_LABELS[self.status]

    @property
    def is_open(self) -> bool:
        return self.status in (TrainingStatus.REQUESTED, TrainingStatus.SCHEDULED)


class TrainingRecord(Model):
    """A completed training (and test) as the lab recorded it, with its certificate."""

    __tablename__ = "training_record"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    requirement_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("competence_requirement.id", ondelete="CASCADE"), index=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    request_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("training_request.id", ondelete="SET NULL")
    )
    completed_date: so.Mapped[date] = so.mapped_column(sa.Date)
    score: so.Mapped[Decimal | None] = so.mapped_column(sa.Numeric(5, 2))
    passed: so.Mapped[bool]
    recorded_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    certificate_name: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    certificate_stored: so.Mapped[str | None] = so.mapped_column(sa.String(64), unique=True)
    certificate_type: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    requirement: so.Mapped[Requirement] = so.relationship()
    user: so.Mapped[User] = so.relationship(foreign_keys=[user_id])

    __table_args__ = (
        sa.CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score_range"),
    )


class Authorisation(Model):
    """A user may operate the requirement's listings at `level` from `starts_dt` until
    `expires_dt` (midnight Asia/Shanghai), unless a later grant supersedes it."""

    __tablename__ = "authorisation"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    requirement_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("competence_requirement.id", ondelete="CASCADE"), index=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    level: so.Mapped[Level] = so.mapped_column(str_enum(Level, 16))
    starts_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    expires_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, index=True)
    superseded_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    granted_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    training_record_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("training_record.id", ondelete="SET NULL")
    )
    reminded_30_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    reminded_7_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Withdrawn by the lab before its expiry: it ends (superseded_dt) at that moment.
    revoked_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    revoked_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    revoke_reason: so.Mapped[str | None] = so.mapped_column(sa.Text)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    requirement: so.Mapped[Requirement] = so.relationship()
    user: so.Mapped[User] = so.relationship(foreign_keys=[user_id])

    __table_args__ = (
        sa.CheckConstraint("starts_dt < expires_dt", name="valid_range"),
        sa.Index(
            "uq_authorisation_current",
            "requirement_id",
            "user_id",
            unique=True,
            sqlite_where=sa.text("superseded_dt IS NULL"),
            postgresql_where=sa.text("superseded_dt IS NULL"),
        ),
    )

    @property
    def level_label(self):
        return LEVEL_LABELS[self.level]

    def is_valid_at(self, moment: datetime) -> bool:
        return self.superseded_dt is None and self.starts_dt <= moment < self.expires_dt

    @property
    def is_current(self) -> bool:
        return self.is_valid_at(utcnow())

    @property
    def is_revoked(self) -> bool:
        return self.revoked_dt is not None

    @property
    def operates_alone(self) -> bool:
        return LEVEL_RANK[self.level] >= LEVEL_RANK[Level.INDEPENDENT]
