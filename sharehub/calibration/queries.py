"""Reads of a unit's fitness for use, for pages and for other domains (booking refuses a
blocked unit; testing orders will ask `fit_for_use`).

Days are Asia/Shanghai days: a certificate due on 1 March covers the whole of 1 March in
Beijing, and the unit is overdue from 00:00 Beijing time on 2 March.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.calibration.models import (
    DUE_SOON_DAYS,
    FITNESS_BADGES,
    FITNESS_LABELS,
    CalibrationPolicy,
    Certificate,
    Fitness,
)
from sharehub.catalog.models import Listing, Unit
from sharehub.core.clock import LAB_TZ, local_date, local_today
from sharehub.extensions import db

Interval = tuple[datetime, datetime]
# The end of an interval that does not end (a unit overdue until someone records a new
# certificate).
OPEN_END = datetime(2200, 1, 1, tzinfo=UTC)
UNFIT = (Fitness.OVERDUE, Fitness.FAILED)


@dataclass(frozen=True)
class UnitStatus:
    fitness: Fitness
    certificate: Certificate | None  # the one governing the day
    days_left: int | None  # until the due date (negative: overdue by that many days)

    @property
    def label(self):
        return FITNESS_LABELS[self.fitness]

    @property
    def badge(self) -> str:
        return FITNESS_BADGES[self.fitness]

    @property
    def is_fit(self) -> bool:
        return self.fitness not in UNFIT

    @property
    def is_tracked(self) -> bool:
        return self.fitness != Fitness.UNTRACKED


def certificates_of(unit: Unit | int, recorded_before: datetime | None = None) -> list[Certificate]:
    """The unit's certificates in the order they govern (issue date, then recording);
    only those recorded before `recorded_before` when given (what was known then)."""
    unit_id = unit if isinstance(unit, int) else unit.id
    query = sa.select(Certificate).where(Certificate.unit_id == unit_id)
    if recorded_before is not None:
        query = query.where(Certificate.created_dt <= recorded_before)
    return list(db.session.scalars(query.order_by(Certificate.issued_date, Certificate.id)))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), LAB_TZ).astimezone(UTC)


def _governing(certificates: list[Certificate], day: date) -> Certificate | None:
    current = None
    for certificate in certificates:
        if certificate.issued_date > day:
            break
        current = certificate
    return current


def status_on(unit: Unit, day: date, certificates: list[Certificate] | None = None) -> UnitStatus:
    """The unit's state on a Beijing day."""
    if certificates is None:
        certificates = certificates_of(unit)
    certificate = _governing(certificates, day)
    if certificate is None:
        return UnitStatus(Fitness.UNTRACKED, None, None)
    days_left = (certificate.due_date - day).days
    if not certificate.passed:
        fitness = Fitness.FAILED
    elif days_left < 0:
        fitness = Fitness.OVERDUE
    elif days_left <= DUE_SOON_DAYS:
        fitness = Fitness.DUE_SOON
    else:
        fitness = Fitness.VALID
    return UnitStatus(fitness, certificate, days_left)


def unit_status(unit: Unit, today: date | None = None) -> UnitStatus:
    return status_on(unit, today or local_today())


def fit_for_use(unit: Unit, at: datetime) -> bool:
    """May the unit be used at this instant (its certificate neither overdue nor failed on
    that Beijing day)? A unit without certificates is not tracked here and is fit."""
    return status_on(unit, local_date(at)).is_fit


def unfit_intervals(unit: Unit, certificates: list[Certificate] | None = None) -> list[Interval]:
    """The instants at which the unit is unfit, as [start, end) in UTC: each certificate
    governs from its issue date until the next one's; within that, a failed one makes the
    whole span unfit and a passed one the days after its due date."""
    if certificates is None:
        certificates = certificates_of(unit)
    spans: list[Interval] = []
    for n, certificate in enumerate(certificates):
        following = certificates[n + 1] if n + 1 < len(certificates) else None
        until = _midnight(following.issued_date) if following else OPEN_END
        if certificate.passed:
            start = _midnight(max(certificate.issued_date, certificate.due_date + timedelta(1)))
        else:
            start = _midnight(certificate.issued_date)
        if start < until:
            if spans and spans[-1][1] >= start:
                spans[-1] = (spans[-1][0], until)
            else:
                spans.append((start, until))
    return spans


NO_POLICY_KEY = "sharehub.listings_without_calibration_policy"


def policy_of(listing: Listing | int) -> CalibrationPolicy | None:
    listing_id = listing if isinstance(listing, int) else listing.id
    if listing_id in db.session.info.get(NO_POLICY_KEY, ()):
        return None  # the identity map remembers rows, not their absence
    policy = db.session.get(CalibrationPolicy, listing_id)
    if policy is None:
        known_without_policy(listing_id)
    return policy


def known_without_policy(listing_id: int) -> None:
    """Remember, until the transaction ends or a policy is made, that the listing has no
    policy (for a caller that loaded it with an outer join)."""
    db.session.info.setdefault(NO_POLICY_KEY, set()).add(listing_id)


@sa.event.listens_for(CalibrationPolicy, "init")
def _forget_absent_policies(target, args, kwargs) -> None:
    db.session.info.pop(NO_POLICY_KEY, None)


@sa.event.listens_for(so.Session, "after_transaction_end")
def _forget_absent_policies_after(session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended
        session.info.pop(NO_POLICY_KEY, None)


def blocks_unfit(listing: Listing | int) -> bool:
    """Does the listing refuse bookings of a unit whose certificate is overdue or failed?"""
    policy = policy_of(listing)
    return policy is not None and policy.blocks_unfit


def blocked_intervals(unit: Unit, start: datetime, end: datetime) -> list[Interval]:
    """When the unit takes no bookings for its certificates between start and end: its
    unfit times if its listing blocks them, else nothing (a flagged unit stays bookable)."""
    if not blocks_unfit(unit.listing_id):
        return []
    return [(max(a, start), min(b, end)) for a, b in unfit_intervals(unit) if a < end and b > start]


def unfit_units(listing: Listing, starts: datetime, ends: datetime) -> list[Unit]:
    """Active units of the listing that would be unfit at some instant of [starts, ends)."""
    return [
        u
        for u in listing.units
        if u.is_active and any(a < ends and b > starts for a, b in unfit_intervals(u))
    ]


def flagged_units(
    listing: Listing, starts: datetime, ends: datetime, unit: Unit | None = None
) -> list[Unit]:
    """The units (or `unit`) of a flagging listing that would be unfit during a booking:
    the booking goes ahead with a warning naming them. A blocking listing refuses such a
    booking instead, so it has none."""
    if blocks_unfit(listing):
        return []
    return [u for u in unfit_units(listing, starts, ends) if unit is None or u.id == unit.id]


def listing_statuses(listing: Listing, today: date | None = None) -> list[tuple[Unit, UnitStatus]]:
    """Each active unit with its status today (for the listing page and the lab's pages)."""
    day = today or local_today()
    return [(u, status_on(u, day)) for u in listing.units if u.is_active]
