"""Assessment schemes and rounds: qualitative reviews, frozen scorecards, publication."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, OrgKind, OrgStatus, Power, User
from sharehub.assessment import scoring
from sharehub.assessment.models import (
    AssessmentRound,
    AssessmentScheme,
    IndicatorGroup,
    ReviewerScore,
    RoundStatus,
    SchemeIndicator,
    Scorecard,
    ScorecardLine,
)
from sharehub.assessment.notify import lab_managers, tell
from sharehub.assessment.status import require_power
from sharehub.core import audit
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, ValidationError
from sharehub.extensions import db

DEFAULT_SCHEME_NAME = "开放共享评价考核（默认方案）"
# Organisation 40, operation 40, sharing 20 (a published university weighting); the
# sharing formulas and the hours rule are the published scoring template (DOMAIN.md).
DEFAULT_INDICATORS = [
    (
        "org_management",
        "组织管理与制度建设",
        "Coordination and rules",
        "organisation",
        True,
        "",
        0,
        1,
        20,
    ),
    (
        "org_staff_platform",
        "技术队伍与在线服务平台",
        "Technical staff and online service",
        "organisation",
        True,
        "",
        0,
        1,
        20,
    ),
    (
        "effective_hours",
        "有效工作机时（每台）",
        "Effective hours per unit",
        "operation",
        False,
        "effective_hours_per_unit",
        1,
        100,
        15,
    ),
    (
        "utilisation",
        "利用率（定额机时）",
        "Utilisation against rated hours",
        "operation",
        False,
        "utilisation_rated",
        10,
        1,
        10,
    ),
    ("revenue_rate", "收入率", "Revenue rate", "operation", False, "revenue_rate", 15, 0.2, 15),
    ("share_rate", "共享率", "Share rate", "sharing", False, "share_rate", 10, 0.1, 10),
    ("satisfaction", "用户评价", "User ratings", "sharing", False, "satisfaction", 5, 5, 5),
    (
        "external_orgs",
        "服务外部单位数",
        "External organisations served",
        "sharing",
        False,
        "external_orgs_served",
        1,
        1,
        5,
    ),
]
# Labs assessed by a round: admitted and not revoked.
ASSESSED_STATUSES = (OrgStatus.ACTIVE, OrgStatus.RECTIFYING, OrgStatus.SUSPENDED)


def ensure_default_scheme() -> AssessmentScheme:
    """The default scheme, created once (seed and first use); later runs change nothing."""
    scheme = db.session.scalar(
        sa.select(AssessmentScheme).where(AssessmentScheme.name == DEFAULT_SCHEME_NAME)
    )
    if scheme is not None:
        return scheme
    scheme = AssessmentScheme(
        name=DEFAULT_SCHEME_NAME,
        name_en="Open-sharing assessment (default scheme)",
        description="国科办基〔2022〕93号：组织管理 40、运行使用 40、共享服务 20；"
        "优秀 ≥ 90，良好 75–90，合格 60–75，较差 < 60；同分按共享服务得分排序。",
        bands=scoring.DEFAULT_BANDS,
        tie_break_group=IndicatorGroup.SHARING.value,
    )
    for position, row in enumerate(DEFAULT_INDICATORS):
        code, name, name_en, group, qualitative, metric, weight, target, cap = row
        scheme.indicators.append(
            SchemeIndicator(
                position=position,
                code=code,
                name=name,
                name_en=name_en,
                group=group,
                qualitative=qualitative,
                metric=metric,
                weight=weight,
                target=target,
                cap=cap,
            )
        )
    db.session.add(scheme)
    db.session.flush()
    return scheme


def snapshot(scheme: AssessmentScheme) -> dict:
    return {
        "id": scheme.id,
        "name": scheme.name,
        "name_en": scheme.name_en,
        "bands": list(scheme.bands),
        "tie_break_group": scheme.tie_break_group,
        "indicators": [
            {
                "code": i.code,
                "name": i.name,
                "name_en": i.name_en,
                "group": i.group,
                "qualitative": i.qualitative,
                "metric": i.metric,
                "weight": i.weight,
                "target": i.target,
                "cap": i.cap,
            }
            for i in scheme.indicators
        ],
    }


def update_indicator(
    actor: User, indicator: SchemeIndicator, *, weight: float, target: float, cap: float
) -> None:
    require_power(actor, None, Power.PROGRAMME)
    if weight < 0 or cap < 0:
        raise ValidationError(_l("Weights and caps are not negative."))
    if not indicator.qualitative and target <= 0:
        raise ValidationError(_l("The target must be above 0."), field="target")
    old = {"weight": indicator.weight, "target": indicator.target, "cap": indicator.cap}
    indicator.weight, indicator.target, indicator.cap = weight, target, cap
    audit.record(
        actor,
        "assessment_scheme.indicator_updated",
        indicator.scheme,
        indicator=indicator.code,
        old=old,
        new={"weight": weight, "target": target, "cap": cap},
    )
    db.session.flush()


def create_round(
    actor: User, scheme: AssessmentScheme, name: str, start: date | None, end: date | None
) -> AssessmentRound:
    require_power(actor, None, Power.PROGRAMME)
    name = (name or "").strip()
    if not name:
        raise ValidationError(_l("Give the round a name."), field="name")
    if start is None or end is None:
        raise ValidationError(_l("Give the period's first and last day."), field="start")
    if start > end:
        raise ValidationError(_l("The period ends before it starts."), field="end")
    round_ = AssessmentRound(
        scheme=scheme,
        name=name[:200],
        start_date=start,
        end_date=end,
        created_by_id=actor.id,
        scheme_snapshot=snapshot(scheme),
    )
    db.session.add(round_)
    db.session.flush()
    audit.record(
        actor,
        "assessment_round.created",
        round_,
        scheme=scheme.id,
        start=start.isoformat(),
        end=end.isoformat(),
    )
    db.session.flush()
    return round_


def _indicators(round_: AssessmentRound) -> list[scoring.Indicator]:
    return [scoring.Indicator(**row) for row in round_.scheme_snapshot["indicators"]]


def assessed_labs_query():
    return (
        sa.select(Organisation)
        .where(Organisation.kind == OrgKind.LAB, Organisation.status.in_(ASSESSED_STATUSES))
        .order_by(Organisation.id)
    )


def review(
    actor: User,
    round_: AssessmentRound,
    lab: Organisation,
    code: str,
    points: float | None,
    comment: str,
) -> ReviewerScore:
    """A named reviewer scores a qualitative indicator; scoring again replaces their own."""
    require_power(actor, lab, Power.REVIEW)
    if round_.status == RoundStatus.PUBLISHED:
        # Until then a missing score can still be given; the round is computed again.
        raise Conflict(_l("This round is published; reviews are closed."))
    indicator = next((i for i in _indicators(round_) if i.code == code and i.qualitative), None)
    if indicator is None:
        raise ValidationError(_l("Unknown qualitative indicator."), field="indicator")
    if lab.kind != OrgKind.LAB or lab.status not in ASSESSED_STATUSES:
        raise ValidationError(_l("This laboratory is not assessed in the round."))
    if points is None or not 0 <= points <= indicator.cap:
        raise ValidationError(
            _l("Points are between 0 and %(cap)s.", cap=scoring._fmt(indicator.cap)),
            field="points",
        )
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError(_l("Explain the points in a comment."), field="comment")
    score = db.session.scalar(
        sa.select(ReviewerScore).where(
            ReviewerScore.round_id == round_.id,
            ReviewerScore.lab_id == lab.id,
            ReviewerScore.indicator_code == code,
            ReviewerScore.reviewer_id == actor.id,
        )
    )
    if score is None:
        score = ReviewerScore(
            round_id=round_.id, lab_id=lab.id, indicator_code=code, reviewer_id=actor.id
        )
        db.session.add(score)
    score.points, score.comment, score.created_dt = points, comment, utcnow()
    db.session.flush()
    audit.record(
        actor,
        "assessment_round.reviewed",
        round_,
        organisation=lab,
        indicator=code,
        points=points,
    )
    db.session.flush()
    return score


def _reviews(round_: AssessmentRound) -> dict[int, dict[str, list[float]]]:
    out: dict[int, dict[str, list[float]]] = {}
    rows = db.session.execute(
        sa.select(ReviewerScore.lab_id, ReviewerScore.indicator_code, ReviewerScore.points)
        .where(ReviewerScore.round_id == round_.id)
        .order_by(ReviewerScore.lab_id, ReviewerScore.indicator_code, ReviewerScore.id)
    )
    for lab_id, code, points in rows:
        out.setdefault(lab_id, {}).setdefault(code, []).append(points)
    return out


def _default_metrics(start: date, end: date, lab_ids: list[int]) -> dict[int, dict]:
    """The sharing metrics over the round's days; the round's last day is inclusive, the
    metrics take [start, end)."""
    from sharehub.stats.metrics import lab_metrics

    return lab_metrics(start, end + timedelta(days=1), lab_ids=lab_ids)


def _stored(figures: dict) -> dict:
    """The figures as frozen on a scorecard (JSON): as the statistics pages show them."""
    from decimal import Decimal

    from sharehub.stats.figures import shown

    return {
        key: float(value) if isinstance(value, Decimal) else value
        for key, value in shown(figures).items()
    }


def compute(
    actor: User,
    round_: AssessmentRound,
    metrics_fn: Callable[[date, date, list[int]], dict[int, dict]] | None = None,
) -> int:
    """Freeze a scorecard per assessed lab: values, points with their working, total,
    grade and rank. Returns the number of scorecards. Later data changes none of it; the
    round may be computed again only until it is published."""
    require_power(actor, None, Power.PROGRAMME)
    if round_.status == RoundStatus.PUBLISHED:
        raise Conflict(_l("This round is published; its scorecards are final."))
    labs, _not_assessed = round_labs(round_)
    if not labs:
        raise Conflict(_l("No laboratory is assessed in this round."))
    lab_ids = [lab.id for lab in labs]
    metrics = (metrics_fn or _default_metrics)(round_.start_date, round_.end_date, lab_ids)
    reviews = _reviews(round_)
    indicators = _indicators(round_)
    bands = round_.scheme_snapshot["bands"]
    tie_group = round_.scheme_snapshot["tie_break_group"]
    if round_.status == RoundStatus.COMPUTED:
        # Computed again before publication: the old scorecards and lines go, in two
        # statements rather than one DELETE per row.
        db.session.flush()
        for obj in list(db.session.identity_map.values()):
            if (isinstance(obj, Scorecard) and obj.round_id == round_.id) or (
                isinstance(obj, ScorecardLine) and obj.scorecard.round_id == round_.id
            ):
                db.session.expunge(obj)
        db.session.expire(round_, ["scorecards"])
        old = sa.select(Scorecard.id).where(Scorecard.round_id == round_.id)
        for statement in (
            sa.delete(ScorecardLine).where(ScorecardLine.scorecard_id.in_(old)),
            sa.delete(Scorecard).where(Scorecard.round_id == round_.id),
        ):
            db.session.execute(statement.execution_options(synchronize_session=False))
    results = {
        lab_id: scoring.score(indicators, metrics.get(lab_id, {}), reviews.get(lab_id, {}))
        for lab_id in lab_ids
    }
    ranks = scoring.rank(
        [(lab_id, r.total, r.groups.get(tie_group, 0.0)) for lab_id, r in results.items()]
    )
    now = utcnow()
    cards = []
    for lab_id, result in results.items():
        band = scoring.grade(bands, result.total)
        card = Scorecard(
            round_id=round_.id,
            lab_id=lab_id,
            total=float(result.total),
            tie_break_score=float(result.groups.get(tie_group, 0)),
            grade=band["name"],
            grade_en=band.get("name_en", ""),
            rank=ranks[lab_id],
            metrics=_stored(metrics.get(lab_id, {})),
            computed_dt=now,
        )
        db.session.add(card)
        cards.append((card, result))
    db.session.flush()  # the scorecards' ids; their lines go in one batched INSERT
    db.session.execute(
        sa.insert(ScorecardLine),
        [
            {
                "scorecard_id": card.id,
                "position": position,
                "code": line.indicator.code,
                "name": line.indicator.name,
                "name_en": line.indicator.name_en,
                "group": line.indicator.group,
                "qualitative": line.indicator.qualitative,
                "metric": line.indicator.metric,
                "value": None if line.value is None else float(line.value),
                "weight": line.indicator.weight,
                "target": line.indicator.target,
                "cap": line.indicator.cap,
                "points": float(line.points),
                "working": line.working,
            }
            for card, result in cards
            for position, line in enumerate(result.lines)
        ],
    )
    round_.status = RoundStatus.COMPUTED
    round_.computed_dt = now
    db.session.flush()
    db.session.expire(round_, ["scorecards"])  # reloaded in rank order
    audit.record(actor, "assessment_round.computed", round_, labs=len(results))
    db.session.flush()
    return len(results)


# --- who is graded, what is missing, publication ------------------------------------------

# A lab admitted after the period began and less than this many months before its last
# day is not graded in the round (too little of the period to judge, and a grade of 较差
# would be published against it); it is listed as "not assessed: admitted on <date>" and
# graded in the next round. Setting ASSESSMENT_MIN_ADMITTED_MONTHS.
MIN_ADMITTED_MONTHS = 6


def min_admitted_months() -> int:
    from flask import current_app

    return int(current_app.config.get("ASSESSMENT_MIN_ADMITTED_MONTHS", MIN_ADMITTED_MONTHS))


def _months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    following = date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return date(year, month + 1, min(day.day, (following - timedelta(days=1)).day))


def admission_cutoff(round_: AssessmentRound) -> date:
    """Labs admitted after this day are not graded in the round."""
    return max(round_.start_date, _months_before(round_.end_date, min_admitted_months()))


def admission_dates(lab_ids: list[int]) -> dict[int, date]:
    """The day (in China) each lab was last admitted, from the audit log; labs created
    admitted (seeded, imported) have no such entry and count as admitted long ago."""
    from sharehub.booking.availability import LAB_TZ
    from sharehub.core.models import AuditEntry

    rows = db.session.execute(
        sa.select(AuditEntry.object_id, sa.func.max(AuditEntry.created_dt))
        .where(
            AuditEntry.action == "organisation.admitted",
            AuditEntry.object_type == "organisation",
            AuditEntry.object_id.in_(lab_ids),
        )
        .group_by(AuditEntry.object_id)
    ).all()
    out = {}
    for lab_id, moment in rows:
        if moment.tzinfo is None:  # SQLite keeps no zone in an aggregate
            moment = moment.replace(tzinfo=UTC)
        out[lab_id] = moment.astimezone(LAB_TZ).date()
    return out


def round_labs(
    round_: AssessmentRound,
) -> tuple[list[Organisation], list[tuple[Organisation, date]]]:
    """The labs graded in the round, and those not assessed with their admission day."""
    labs = db.session.scalars(assessed_labs_query()).all()
    admitted = admission_dates([lab.id for lab in labs])
    cutoff = admission_cutoff(round_)
    graded, not_assessed = [], []
    for lab in labs:
        day = admitted.get(lab.id)
        if day is not None and day > cutoff:
            not_assessed.append((lab, day))
        else:
            graded.append(lab)
    return graded, not_assessed


def missing_reviews(round_: AssessmentRound) -> list[tuple[Organisation, list[dict]]]:
    """Graded labs with reviewed (qualitative) indicators nobody has scored: published
    as they are, they count 0 points."""
    indicators = [
        i for i in round_.scheme_snapshot["indicators"] if i["qualitative"] and i["cap"] > 0
    ]
    if not indicators:
        return []
    if round_.status == RoundStatus.OPEN:
        labs, _not_assessed = round_labs(round_)
    else:
        labs = [card.lab for card in sorted(round_.scorecards, key=lambda c: c.lab_id)]
    scored = set(
        db.session.execute(
            sa.select(ReviewerScore.lab_id, ReviewerScore.indicator_code)
            .where(ReviewerScore.round_id == round_.id)
            .distinct()
        ).all()
    )
    out = []
    for lab in labs:
        missing = [i for i in indicators if (lab.id, i["code"]) not in scored]
        if missing:
            out.append((lab, missing))
    return out


def publish(actor: User, round_: AssessmentRound, *, accept_missing: bool = False) -> None:
    """Publish the frozen scorecards to every graded lab. Refused while reviews are newer
    than the scorecards, and while reviewed indicators are unscored unless the
    administrator explicitly accepts publishing them at 0 points (recorded in the audit)."""
    require_power(actor, None, Power.PROGRAMME)
    if round_.status != RoundStatus.COMPUTED:
        raise Conflict(_l("Compute the scorecards before publishing the round."))
    latest_review = db.session.scalar(
        sa.select(sa.func.max(ReviewerScore.created_dt)).where(ReviewerScore.round_id == round_.id)
    )
    if latest_review is not None and round_.computed_dt is not None:
        computed = round_.computed_dt
        if latest_review.tzinfo is None:
            latest_review = latest_review.replace(tzinfo=computed.tzinfo)
        if latest_review > computed:
            raise Conflict(
                _l("Reviews were given after the scorecards were computed: compute them again.")
            )
    missing = missing_reviews(round_)
    if missing and not accept_missing:
        raise Conflict(
            _l(
                "%(n)s laboratories have reviewed indicators without a score (%(labs)s); "
                "they would count 0 points. Score them and compute again, or confirm that "
                "you publish without them.",
                n=len(missing),
                labs=", ".join(lab.name for lab, _codes in missing[:10]),
            )
        )
    round_.status = RoundStatus.PUBLISHED
    round_.published_dt = utcnow()
    audit.record(
        actor,
        "assessment_round.published",
        round_,
        unscored={str(lab.id): [i["code"] for i in codes] for lab, codes in missing},
    )
    for card in round_.scorecards:
        for manager in lab_managers(card.lab):
            tell(
                manager,
                _l("Assessment results published: %(round)s", round=round_.name),
                "assessment/mail/scorecard.txt",
                "assessment.scorecard",
                url_scorecard_id=card.id,
                card=card,
                round=round_,
            )
    db.session.flush()
