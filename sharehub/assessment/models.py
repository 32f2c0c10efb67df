"""Supervision of labs: spot checks, rectification notices, assessment schemes, rounds and
their frozen scorecards."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from sharehub.core.clock import local_today
from sharehub.core.db import UTCDateTime, str_enum, utcnow
from sharehub.core.uploads import StoredFileMixin
from sharehub.extensions import Model

if TYPE_CHECKING:
    from sharehub.accounts.models import Cluster, Organisation, Region, User

# --- spot checks (随机抽查) -------------------------------------------------------------------


class SpotCheckKind(enum.StrEnum):
    LAB = "lab"
    BOOKING = "booking"
    USAGE = "usage"


SPOT_CHECK_KIND_LABELS = {
    SpotCheckKind.LAB: _l("Laboratories"),
    SpotCheckKind.BOOKING: _l("Completed bookings"),
    SpotCheckKind.USAGE: _l("Usage records"),
}


class FindingResult(enum.StrEnum):
    OPEN = "open"  # not inspected yet
    PASSED = "passed"
    FAILED = "failed"


FINDING_RESULT_LABELS = {
    FindingResult.OPEN: _l("Not inspected yet"),
    FindingResult.PASSED: _l("No problem found"),
    FindingResult.FAILED: _l("Problem found"),
}


class SpotCheck(Model):
    """A random draw: the population is ordered by id, the seed is kept, so the same seed
    over the same population gives the same sample (the digest shows the population)."""

    __tablename__ = "spot_check"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    kind: so.Mapped[SpotCheckKind] = so.mapped_column(str_enum(SpotCheckKind, 16))
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    seed: so.Mapped[str] = so.mapped_column(sa.String(64))
    sample_size: so.Mapped[int]
    population_size: so.Mapped[int]
    population_digest: so.Mapped[str] = so.mapped_column(sa.String(64))
    # Service records are drawn from a period; labs may be narrowed to a cluster.
    period_start_date: so.Mapped[date | None] = so.mapped_column(sa.Date)
    period_end_date: so.Mapped[date | None] = so.mapped_column(sa.Date)
    cluster_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("cluster.id", ondelete="SET NULL")
    )
    # The region whose labs were drawn from (a regulator draws in its own region); None:
    # the whole platform. Kept so that a redraw uses the same population.
    region_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("region.id", ondelete="RESTRICT"), index=True
    )
    drawn_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    drawn_by: so.Mapped[User | None] = so.relationship()
    cluster: so.Mapped[Cluster | None] = so.relationship()
    region: so.Mapped[Region | None] = so.relationship()
    items: so.Mapped[list[SpotCheckItem]] = so.relationship(
        back_populates="spot_check", cascade="all, delete-orphan", order_by="SpotCheckItem.position"
    )

    @property
    def kind_label(self):
        return SPOT_CHECK_KIND_LABELS[self.kind]

    def can_view(self, user) -> bool:
        """Platform administrators; regulators of the region it was drawn from."""
        return user.is_authenticated and user.can_oversee_region(self.region)


class SpotCheckItem(Model):
    """One drawn lab or service record, and what the inspection found."""

    __tablename__ = "spot_check_item"
    __table_args__ = (sa.UniqueConstraint("spot_check_id", "position"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    spot_check_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("spot_check.id", ondelete="CASCADE"), index=True
    )
    position: so.Mapped[int]
    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    object_type: so.Mapped[str] = so.mapped_column(sa.String(32))
    object_id: so.Mapped[int]
    result: so.Mapped[FindingResult] = so.mapped_column(
        str_enum(FindingResult, 16), default=FindingResult.OPEN
    )
    findings: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    inspected_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    inspected_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    spot_check: so.Mapped[SpotCheck] = so.relationship(back_populates="items")
    lab: so.Mapped[Organisation] = so.relationship()
    inspected_by: so.Mapped[User | None] = so.relationship()

    @property
    def result_label(self):
        return FINDING_RESULT_LABELS[self.result]


# --- rectification (整改) ---------------------------------------------------------------------


class NoticeStatus(enum.StrEnum):
    OPEN = "open"  # waiting for the lab's answer
    ANSWERED = "answered"  # the lab answered; the administrator decides
    CLOSED = "closed"  # rectified
    ESCALATED = "escalated"  # not rectified; the lab's status was moved on


NOTICE_STATUS_LABELS = {
    NoticeStatus.OPEN: _l("Open: waiting for the laboratory's answer"),
    NoticeStatus.ANSWERED: _l("Answered, to be decided"),
    NoticeStatus.CLOSED: _l("Closed: rectified"),
    NoticeStatus.ESCALATED: _l("Escalated"),
}


class RectificationNotice(Model):
    __tablename__ = "rectification_notice"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    spot_check_item_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("spot_check_item.id", ondelete="SET NULL"), index=True
    )
    scorecard_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("scorecard.id", ondelete="SET NULL"), index=True
    )
    status: so.Mapped[NoticeStatus] = so.mapped_column(
        str_enum(NoticeStatus, 16), default=NoticeStatus.OPEN, index=True
    )
    findings: so.Mapped[str] = so.mapped_column(sa.Text)
    requirements: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    deadline_date: so.Mapped[date] = so.mapped_column(sa.Date)
    issued_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    issued_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    response: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    responded_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    responded_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    decision_note: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    decided_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    decided_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Set when the lab was reminded of the deadline / the supervisor told it passed.
    reminded_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    overdue_reported_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    lab: so.Mapped[Organisation] = so.relationship()
    spot_check_item: so.Mapped[SpotCheckItem | None] = so.relationship()
    scorecard: so.Mapped[Scorecard | None] = so.relationship()
    issued_by: so.Mapped[User | None] = so.relationship(foreign_keys=[issued_by_id])
    responded_by: so.Mapped[User | None] = so.relationship(foreign_keys=[responded_by_id])
    decided_by: so.Mapped[User | None] = so.relationship(foreign_keys=[decided_by_id])
    evidence: so.Mapped[list[RectificationEvidence]] = so.relationship(
        back_populates="notice", cascade="all, delete-orphan", order_by="RectificationEvidence.id"
    )

    @property
    def status_label(self):
        return NOTICE_STATUS_LABELS[self.status]

    @property
    def is_overdue(self) -> bool:
        return self.status == NoticeStatus.OPEN and self.deadline_date < local_today()

    def can_view(self, user) -> bool:
        return user.is_authenticated and (
            user.can_oversee(self.lab) or user.membership_in(self.lab_id) is not None
        )

    def can_answer(self, user) -> bool:
        return user.is_authenticated and user.can_manage(self.lab)


class RectificationEvidence(StoredFileMixin, Model):
    """A document the lab sent with its answer (PDF or image, checked by content)."""

    __tablename__ = "rectification_evidence"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    notice_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("rectification_notice.id", ondelete="CASCADE"), index=True
    )
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    uploaded_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    notice: so.Mapped[RectificationNotice] = so.relationship(back_populates="evidence")


# --- assessment schemes, rounds and scorecards ----------------------------------------------


class IndicatorGroup(enum.StrEnum):
    ORGANISATION = "organisation"  # 组织管理
    OPERATION = "operation"  # 运行使用
    SHARING = "sharing"  # 共享服务


INDICATOR_GROUP_LABELS = {
    IndicatorGroup.ORGANISATION: _l("Organisation and management"),
    IndicatorGroup.OPERATION: _l("Operation and use"),
    IndicatorGroup.SHARING: _l("Sharing services"),
}


class AssessmentScheme(Model):
    """Weights, formulas and grade bands are data: an administrator edits them here.

    `bands` is a list of {"min": points, "name": ..., "name_en": ...}; a total earns the
    first band (highest minimum first) whose minimum it reaches.
    """

    __tablename__ = "assessment_scheme"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200), unique=True)
    name_en: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    bands: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    tie_break_group: so.Mapped[str] = so.mapped_column(
        sa.String(16), default=IndicatorGroup.SHARING.value
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    indicators: so.Mapped[list[SchemeIndicator]] = so.relationship(
        back_populates="scheme", cascade="all, delete-orphan", order_by="SchemeIndicator.position"
    )


class SchemeIndicator(Model):
    """One line of a scheme.

    Metric indicators: points = min(cap, weight × value ÷ target), never below 0; the value
    is one of the sharing metrics (or a per-unit figure derived from them).
    Qualitative indicators: named reviewers give 0..cap points with a comment; the
    indicator earns the mean of their points.
    """

    __tablename__ = "scheme_indicator"
    __table_args__ = (
        sa.UniqueConstraint("scheme_id", "code"),
        sa.CheckConstraint("cap >= 0 AND weight >= 0", name="non_negative"),
        sa.CheckConstraint("qualitative OR target > 0", name="target_positive"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    scheme_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("assessment_scheme.id", ondelete="CASCADE"), index=True
    )
    position: so.Mapped[int] = so.mapped_column(default=0)
    code: so.Mapped[str] = so.mapped_column(sa.String(32))
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    name_en: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    group: so.Mapped[str] = so.mapped_column(sa.String(16))
    qualitative: so.Mapped[bool] = so.mapped_column(default=False)
    metric: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    weight: so.Mapped[float] = so.mapped_column(sa.Float, default=0.0)
    target: so.Mapped[float] = so.mapped_column(sa.Float, default=1.0)
    cap: so.Mapped[float] = so.mapped_column(sa.Float)

    scheme: so.Mapped[AssessmentScheme] = so.relationship(back_populates="indicators")


class RoundStatus(enum.StrEnum):
    OPEN = "open"  # reviewers score the qualitative indicators
    COMPUTED = "computed"  # scorecards frozen, not yet public
    PUBLISHED = "published"


ROUND_STATUS_LABELS = {
    RoundStatus.OPEN: _l("Open for review"),
    RoundStatus.COMPUTED: _l("Scorecards computed"),
    RoundStatus.PUBLISHED: _l("Published"),
}


class AssessmentRound(Model):
    """An assessment of every admitted lab over a period with one scheme.

    `scheme_snapshot` keeps the scheme as it was when the round was opened, so editing
    the scheme later changes nothing in this round."""

    __tablename__ = "assessment_round"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    scheme_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("assessment_scheme.id", ondelete="RESTRICT"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    start_date: so.Mapped[date] = so.mapped_column(sa.Date)
    end_date: so.Mapped[date] = so.mapped_column(sa.Date)  # inclusive
    status: so.Mapped[RoundStatus] = so.mapped_column(
        str_enum(RoundStatus, 16), default=RoundStatus.OPEN, index=True
    )
    scheme_snapshot: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    computed_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    published_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    scheme: so.Mapped[AssessmentScheme] = so.relationship()
    scorecards: so.Mapped[list[Scorecard]] = so.relationship(
        back_populates="round", cascade="all, delete-orphan", order_by="Scorecard.rank"
    )

    __table_args__ = (sa.CheckConstraint("start_date <= end_date", name="valid_period"),)

    @property
    def status_label(self):
        return ROUND_STATUS_LABELS[self.status]


class ReviewerScore(Model):
    """A named reviewer's points for a qualitative indicator of one lab in one round."""

    __tablename__ = "reviewer_score"
    __table_args__ = (sa.UniqueConstraint("round_id", "lab_id", "indicator_code", "reviewer_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    round_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("assessment_round.id", ondelete="CASCADE"), index=True
    )
    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    indicator_code: so.Mapped[str] = so.mapped_column(sa.String(32))
    reviewer_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id", ondelete="RESTRICT"))
    points: so.Mapped[float] = so.mapped_column(sa.Float)
    comment: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    reviewer: so.Mapped[User] = so.relationship()
    lab: so.Mapped[Organisation] = so.relationship()


class Scorecard(Model):
    """The frozen result of one lab in one round: later data does not change it."""

    __tablename__ = "scorecard"
    __table_args__ = (sa.UniqueConstraint("round_id", "lab_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    round_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("assessment_round.id", ondelete="CASCADE"), index=True
    )
    lab_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    total: so.Mapped[float] = so.mapped_column(sa.Float)
    tie_break_score: so.Mapped[float] = so.mapped_column(sa.Float)
    grade: so.Mapped[str] = so.mapped_column(sa.String(32))
    grade_en: so.Mapped[str] = so.mapped_column(sa.String(32), default="")
    rank: so.Mapped[int]
    metrics: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    computed_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    round: so.Mapped[AssessmentRound] = so.relationship(back_populates="scorecards")
    lab: so.Mapped[Organisation] = so.relationship()
    lines: so.Mapped[list[ScorecardLine]] = so.relationship(
        back_populates="scorecard", cascade="all, delete-orphan", order_by="ScorecardLine.position"
    )

    def can_view(self, user) -> bool:
        if not user.is_authenticated:
            return False
        if user.can_oversee(self.lab):
            return True
        return (
            self.round.status == RoundStatus.PUBLISHED
            and user.membership_in(self.lab_id) is not None
        )


class ScorecardLine(Model):
    """How one indicator's points were earned: value, parameters, points and the working."""

    __tablename__ = "scorecard_line"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    scorecard_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("scorecard.id", ondelete="CASCADE"), index=True
    )
    position: so.Mapped[int]
    code: so.Mapped[str] = so.mapped_column(sa.String(32))
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    name_en: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    group: so.Mapped[str] = so.mapped_column(sa.String(16))
    qualitative: so.Mapped[bool] = so.mapped_column(default=False)
    metric: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    value: so.Mapped[float | None] = so.mapped_column(sa.Float)
    weight: so.Mapped[float] = so.mapped_column(sa.Float)
    target: so.Mapped[float] = so.mapped_column(sa.Float)
    cap: so.Mapped[float] = so.mapped_column(sa.Float)
    points: so.Mapped[float] = so.mapped_column(sa.Float)
    working: so.Mapped[str] = so.mapped_column(sa.Text, default="")

    scorecard: so.Mapped[Scorecard] = so.relationship(back_populates="lines")
