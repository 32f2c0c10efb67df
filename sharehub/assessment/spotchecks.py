"""Random spot checks (随机抽查) of labs or service records, and what inspections found.

The population is ordered by id and the seed is stored, so anyone can redraw the sample:
the same seed over the same population gives the same sample. The population's size and
digest are kept with the draw, so a later redraw shows whether the population changed.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Cluster, Organisation, OrgKind, Power, Region, User
from sharehub.assessment.models import FindingResult, SpotCheck, SpotCheckItem, SpotCheckKind
from sharehub.assessment.status import require_power, require_power_in
from sharehub.booking.models import CAPTURED, Booking, BookingStatus, UsageRecord
from sharehub.catalog.models import Listing, Unit
from sharehub.core import audit
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, ValidationError
from sharehub.extensions import db

# Periods are calendar days where the labs are.
PERIOD_ZONE = ZoneInfo("Asia/Shanghai")
MAX_SAMPLE = 500


def _utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[local midnight of start, local midnight after end) in UTC."""
    return (
        datetime.combine(start, time(), PERIOD_ZONE),
        datetime.combine(end + timedelta(days=1), time(), PERIOD_ZONE),
    )


def population(
    kind: SpotCheckKind,
    *,
    start: date | None = None,
    end: date | None = None,
    cluster_id: int | None = None,
    region_id: int | None = None,
) -> list[tuple[int, int]]:
    """(object id, lab id) of every member of the population, ordered by object id."""
    region_ids = db.session.get(Region, region_id).subtree_ids() if region_id else None
    if kind == SpotCheckKind.LAB:
        query = sa.select(Organisation.id).where(
            Organisation.kind == OrgKind.LAB, Organisation.is_serving
        )
        if cluster_id is not None:
            query = query.where(Organisation.cluster_id == cluster_id)
        if region_ids is not None:
            query = query.where(Organisation.region_id.in_(region_ids))
        return [(lab_id, lab_id) for lab_id in db.session.scalars(query.order_by(Organisation.id))]
    if start is None or end is None:
        raise ValidationError(_l("Service records are drawn from a period: give both dates."))
    lower, upper = _utc_bounds(start, end)
    if kind == SpotCheckKind.BOOKING:
        query = (
            sa.select(Booking.id, Listing.lab_id)
            .join(Listing, Booking.listing_id == Listing.id)
            .where(
                Booking.status == BookingStatus.COMPLETED,
                Booking.starts_dt >= lower,
                Booking.starts_dt < upper,
            )
            .order_by(Booking.id)
        )
    else:
        query = (
            sa.select(UsageRecord.id, Listing.lab_id)
            .join(Unit, UsageRecord.unit_id == Unit.id)
            .join(Listing, Unit.listing_id == Listing.id)
            .where(UsageRecord.started_dt >= lower, UsageRecord.started_dt < upper)
            .order_by(UsageRecord.id)
        )
    if cluster_id is not None or region_ids is not None:
        query = query.join(Organisation, Listing.lab_id == Organisation.id)
    if cluster_id is not None:
        query = query.where(Organisation.cluster_id == cluster_id)
    if region_ids is not None:
        query = query.where(Organisation.region_id.in_(region_ids))
    return [tuple(row) for row in db.session.execute(query)]


@dataclass(frozen=True)
class CaptureShare:
    """A lab's usage records of a period by how they came: typed by people (the lab's
    staff on the usage page, a CSV import, the API) or captured at the instrument (kiosk,
    device). Only records that count (the latest of each line of corrections)."""

    typed: int
    captured: int

    @property
    def total(self) -> int:
        return self.typed + self.captured

    @property
    def typed_share(self) -> Fraction | None:
        return Fraction(self.typed, self.total) if self.total else None

    @property
    def typed_percent(self):
        """The typed share in percent, rounded once (1 decimal) for display."""
        from sharehub.stats.figures import round_half_up

        share = self.typed_share
        return None if share is None else round_half_up(share * 100, 1)


def capture_period(check: SpotCheck) -> tuple[date, date]:
    """The period the check looks at: its own, or the year before its draw."""
    if check.period_start_date and check.period_end_date:
        return check.period_start_date, check.period_end_date
    drawn = check.created_dt.astimezone(PERIOD_ZONE).date()
    return drawn - timedelta(days=365), drawn


def capture_shares(lab_ids: list[int], start: date, end: date) -> dict[int, CaptureShare]:
    """Per lab, typed against captured usage records started in [start, end] (lab days)."""
    lower, upper = _utc_bounds(start, end)
    captured = UsageRecord.source.in_([s.value for s in CAPTURED])
    rows = db.session.execute(
        sa.select(
            Listing.lab_id,
            sa.func.sum(sa.case((captured, 0), else_=1)),
            sa.func.sum(sa.case((captured, 1), else_=0)),
        )
        .select_from(UsageRecord)
        .join(Unit, UsageRecord.unit_id == Unit.id)
        .join(Listing, Unit.listing_id == Listing.id)
        .where(
            Listing.lab_id.in_(lab_ids),
            UsageRecord.is_current(),
            UsageRecord.started_dt >= lower,
            UsageRecord.started_dt < upper,
        )
        .group_by(Listing.lab_id)
    )
    found = {lab_id: CaptureShare(int(t or 0), int(c or 0)) for lab_id, t, c in rows}
    return {lab_id: found.get(lab_id, CaptureShare(0, 0)) for lab_id in lab_ids}


def digest(members: list[tuple[int, int]]) -> str:
    return hashlib.sha256(",".join(str(m[0]) for m in members).encode()).hexdigest()


def sample(members: list[tuple[int, int]], seed: str, size: int) -> list[tuple[int, int]]:
    """The members drawn, in the order drawn; depends only on the seed and the members."""
    picks = random.Random(seed).sample(range(len(members)), min(size, len(members)))
    return [members[i] for i in picks]


def draw(
    actor: User,
    kind: SpotCheckKind,
    size: int,
    *,
    title: str = "",
    seed: str = "",
    start: date | None = None,
    end: date | None = None,
    cluster_id: int | None = None,
    region: Region | None = None,
) -> SpotCheck:
    """Draw a sample from the serving labs (or their service records) of `region` (None:
    the whole platform, for platform administrators); a regulator draws in its region."""
    require_power_in(actor, region, Power.INSPECT)
    if not 1 <= size <= MAX_SAMPLE:
        raise ValidationError(
            _l("Draw between 1 and %(n)s items.", n=MAX_SAMPLE), field="sample_size"
        )
    if start and end and start > end:
        raise ValidationError(_l("The period ends before it starts."), field="end")
    if cluster_id is not None and db.session.get(Cluster, cluster_id) is None:
        raise ValidationError(_l("Choose an industrial cluster from the list."), field="cluster")
    seed = (seed or "").strip() or secrets.token_hex(8)
    if len(seed) > 64:
        raise ValidationError(_l("A seed has at most 64 characters."), field="seed")
    region_id = region.id if region is not None else None
    members = population(kind, start=start, end=end, cluster_id=cluster_id, region_id=region_id)
    if not members:
        raise Conflict(_l("There is nothing to draw from with these choices."))
    drawn = sample(members, seed, size)
    check = SpotCheck(
        kind=kind,
        title=(title or "").strip()[:200] or str(_l("Spot check")),
        seed=seed,
        sample_size=len(drawn),
        population_size=len(members),
        population_digest=digest(members),
        period_start_date=start if kind != SpotCheckKind.LAB else None,
        period_end_date=end if kind != SpotCheckKind.LAB else None,
        cluster_id=cluster_id,
        region_id=region_id,
        drawn_by=actor,
    )
    object_type = {"lab": "organisation", "booking": "booking", "usage": "usage_record"}[kind]
    for position, (object_id, lab_id) in enumerate(drawn, start=1):
        check.items.append(
            SpotCheckItem(
                position=position, lab_id=lab_id, object_type=object_type, object_id=object_id
            )
        )
    db.session.add(check)
    db.session.flush()
    audit.record(
        actor,
        "spot_check.drawn",
        check,
        kind=kind.value,
        seed=seed,
        population=len(members),
        digest=check.population_digest,
        drawn=[object_id for object_id, _ in drawn],
    )
    db.session.flush()
    return check


def redraw(check: SpotCheck) -> dict:
    """Draw again with the stored seed over today's population, for verification."""
    members = population(
        check.kind,
        start=check.period_start_date,
        end=check.period_end_date,
        cluster_id=check.cluster_id,
        region_id=check.region_id,
    )
    again = [object_id for object_id, _ in sample(members, check.seed, check.sample_size)]
    return {
        "same_population": digest(members) == check.population_digest,
        "same_sample": again == [item.object_id for item in check.items],
        "population_size": len(members),
    }


def record_finding(actor: User, item: SpotCheckItem, result: FindingResult, findings: str) -> None:
    require_power(actor, item.lab, Power.INSPECT)
    findings = (findings or "").strip()
    if result == FindingResult.OPEN:
        raise ValidationError(_l("Choose what the inspection found."), field="result")
    if result == FindingResult.FAILED and not findings:
        raise ValidationError(_l("Describe the problem found."), field="findings")
    item.result, item.findings = result, findings
    item.inspected_by, item.inspected_dt = actor, utcnow()
    audit.record(
        actor,
        "spot_check.finding",
        item.spot_check,
        organisation=item.lab_id,
        item=item.id,
        result=result.value,
        findings=findings,
    )
    db.session.flush()
