"""Demo authorisations: a few of the first lab's instruments need an authorisation (one is
operated by staff only), with a staff calendar and a trainers' calendar; some buyers are
authorised, one of them expiring in ten days, and one training request is open."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from sharehub.accounts.models import Membership, Role, User
from sharehub.catalog.models import (
    Field,
    Listing,
    ListingKind,
    ListingStatus,
    OpeningInterval,
    PriceUnit,
    Unit,
)
from sharehub.catalog.search import index_fields
from sharehub.competence.models import Level
from sharehub.competence.services import (
    grant,
    record_completion,
    request_training,
    save_requirement,
)
from sharehub.core.clock import utcnow
from sharehub.extensions import db

LAB_MANAGER = "lab@demo.sharehub.cn"


def _user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _calendar(lab, name: str, name_en: str, units: list[str], like: Listing) -> Listing:
    """An expert-time listing whose units are the lab's staff (operators or trainers)."""
    listing = Listing(
        lab=lab,
        kind=ListingKind.EXPERT,
        status=ListingStatus.PUBLISHED,
        name=name,
        name_en=name_en,
        field=like.field or Field.NEW_MATERIALS,
        price_unit=PriceUnit.HOUR,
        price_internal=10000,
        price_external=20000,
        approval_required=False,
        lead_hours=like.lead_hours,
        slot_minutes=like.slot_minutes,
        min_minutes=like.slot_minutes,
        max_minutes=max(like.max_minutes, 480),
        expert_name=units[0],
        published_dt=utcnow(),
    )
    listing.units.extend(Unit(name=unit) for unit in units)
    listing.opening_hours.extend(
        OpeningInterval(weekday=i.weekday, start_minute=i.start_minute, end_minute=i.end_minute)
        for i in like.opening_hours
    )
    index_fields(listing)
    db.session.add(listing)
    return listing


def seed_demo_competence() -> None:
    manager = _user(LAB_MANAGER)
    if manager is None:
        return
    membership = db.session.scalar(
        sa.select(Membership).where(Membership.user_id == manager.id, Membership.role == Role.OWNER)
    )
    if membership is None:
        return
    lab = membership.organisation
    equipment = db.session.scalars(
        sa.select(Listing)
        .where(
            Listing.lab_id == lab.id,
            Listing.kind == ListingKind.EQUIPMENT,
            Listing.status == ListingStatus.PUBLISHED,
        )
        .order_by(Listing.id)
        .limit(3)
    ).all()
    if len(equipment) < 2:
        return
    staff = _calendar(
        lab, "仪器操作技术员（陪同上机）", "Instrument operators", ["王工", "李工"], equipment[0]
    )
    trainers = _calendar(lab, "上机操作培训", "Operator training", ["培训师 陈老师"], equipment[0])
    for listing in equipment:
        listing.assisted_rate = 8000  # ¥80 an hour for a staff operator
    db.session.flush()
    alone = save_requirement(
        manager,
        lab,
        name="大型仪器上机资格",
        validity_months=12,
        course="上机操作培训（4 学时）及考核",
        pass_score=80,
        listing_ids=[listing.id for listing in equipment[:2]],
        staff_listing_id=staff.id,
        trainer_listing_id=trainers.id,
    )
    if len(equipment) > 2:
        save_requirement(
            manager,
            lab,
            name="仅限技术员操作",
            validity_months=12,
            assistance_required=True,
            listing_ids=[equipment[2].id],
            staff_listing_id=staff.id,
        )
    now = utcnow()
    # Authorised a year ago less ten days: expires in ten days (the 30-day reminder is due).
    people = [
        ("buyer@demo.sharehub.cn", now - timedelta(days=355), Level.INDEPENDENT),
        ("buyer2@demo.sharehub.cn", now - timedelta(days=40), Level.INDEPENDENT),
        ("buyer3@demo.sharehub.cn", now - timedelta(days=90), Level.TRAINER),
    ]
    for email, when, level in people:
        user = _user(email)
        if user is not None:
            record_completion(manager, alone, user, score=Decimal("88.5"), level=level, now=when)
    supervised = _user("buyer5@demo.sharehub.cn")
    if supervised is not None:
        grant(manager, alone, supervised, Level.ASSISTED)
    newcomer = _user("buyer4@demo.sharehub.cn")
    if newcomer is not None:
        request_training(newcomer, alone, "希望下周安排培训。")
    db.session.flush()
