"""The entry/exit (进退) lifecycle of an admitted lab: active → rectifying → suspended → revoked.

A lab under rectification still serves; a suspended or revoked lab leaves the catalogue and
takes no new bookings (`Organisation.is_serving`), and customers with bookings still ahead
are told. Revocation is final: the lab must apply again.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import (
    SERVING_STATUSES,
    Organisation,
    OrgKind,
    OrgStatus,
    Power,
    Region,
    User,
)
from sharehub.assessment.notify import lab_managers, tell
from sharehub.booking.models import HOLDING, Booking
from sharehub.catalog.models import Listing
from sharehub.core import audit
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.extensions import db

# Where a lab may go from each admitted status. Back from suspension when the causes are
# fixed; revoked is the end of the road.
TRANSITIONS: dict[OrgStatus, tuple[OrgStatus, ...]] = {
    OrgStatus.ACTIVE: (OrgStatus.RECTIFYING, OrgStatus.SUSPENDED, OrgStatus.REVOKED),
    OrgStatus.RECTIFYING: (OrgStatus.ACTIVE, OrgStatus.SUSPENDED, OrgStatus.REVOKED),
    OrgStatus.SUSPENDED: (OrgStatus.RECTIFYING, OrgStatus.ACTIVE, OrgStatus.REVOKED),
    OrgStatus.REVOKED: (),
}
ADMITTED_STATUSES = tuple(TRANSITIONS)

SUBJECTS = {
    OrgStatus.ACTIVE: _l("Your laboratory is active again on ShareHub"),
    OrgStatus.RECTIFYING: _l("Your laboratory has been placed under rectification"),
    OrgStatus.SUSPENDED: _l("Your laboratory has been suspended on ShareHub"),
    OrgStatus.REVOKED: _l("Your laboratory's status on ShareHub has been revoked"),
}


def can_supervise(user) -> bool:
    """Platform administrators and regulators read the supervision pages; what each may
    change is `User.can_supervise(lab, power)` (README, "Supervision roles")."""
    return user.is_authenticated and (user.is_platform_admin or user.is_regulator)


DENIED = {
    Power.STATUS: _l(
        "Only platform administrators and the administrators of the laboratory's "
        "supervising authority may change its status or decide its notices."
    ),
    Power.NOTICE: _l(
        "Only platform administrators and the administrators and inspectors of the "
        "laboratory's supervising authority may issue rectification notices."
    ),
    Power.INSPECT: _l(
        "Only platform administrators and the administrators and inspectors of an "
        "authority may inspect, and only laboratories in the authority's region."
    ),
    Power.REVIEW: _l(
        "Only platform administrators and the administrators and inspectors of the "
        "laboratory's supervising authority may review it."
    ),
    Power.PROGRAMME: _l("Only platform administrators keep assessment schemes and rounds."),
}


def require_power(actor: User, lab: Organisation | None, power: Power) -> None:
    """Refuse unless `actor` may exercise `power` over `lab` (None: platform-wide)."""
    allowed = actor.is_platform_admin if lab is None else actor.can_supervise(lab, power)
    if not allowed:
        raise PermissionDenied(DENIED[power])


def require_power_in(actor: User, region: Region | None, power: Power) -> None:
    """Refuse unless `actor` may exercise `power` over every lab in `region`."""
    if not actor.can_supervise_region(region, power):
        raise PermissionDenied(DENIED[power])


def allowed_targets(org: Organisation) -> tuple[OrgStatus, ...]:
    if org.kind != OrgKind.LAB:
        return ()
    return TRANSITIONS.get(org.status, ())


def change_lab_status(actor: User, lab: Organisation, target: OrgStatus, reason: str) -> int:
    """Move the lab; returns how many customers with bookings ahead were told."""
    require_power(actor, lab, Power.STATUS)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_l("Give the reason for the change."), field="reason")
    if lab.kind != OrgKind.LAB:
        raise ValidationError(_l("Only laboratories have an admission status."))
    if target not in allowed_targets(lab):
        raise Conflict(
            _l(
                "A laboratory cannot go from %(old)s to %(new)s.",
                old=lab.status_label,
                new=_status_label(target),
            )
        )
    old = lab.status
    lab.status = target
    lab.status_reason = reason
    lab.status_changed_dt = utcnow()
    audit.record(
        actor, "organisation.status_changed", lab, old=old.value, new=target.value, reason=reason
    )
    for manager in lab_managers(lab):
        tell(
            manager,
            SUBJECTS[target],
            "assessment/mail/lab_status.txt",
            "accounts.organisation",
            lab=lab,
            reason=reason,
        )
    told = 0
    if old in SERVING_STATUSES and target not in SERVING_STATUSES:
        told = _tell_customers(lab, reason)
    db.session.flush()
    return told


def _status_label(status: OrgStatus):
    from sharehub.accounts.models import ORG_STATUS_LABELS

    return ORG_STATUS_LABELS[status]


def _tell_customers(lab: Organisation, reason: str) -> int:
    """Each customer user with a holding booking that has not ended is told once, listing
    those bookings; the bookings themselves stay for the customer and lab to settle."""
    bookings = db.session.scalars(
        sa.select(Booking)
        .join(Listing, Booking.listing_id == Listing.id)
        .where(
            Listing.lab_id == lab.id,
            Booking.status.in_(HOLDING),
            Booking.ends_dt > utcnow(),
            Booking.customer_user_id.is_not(None),
        )
        .order_by(Booking.customer_user_id, Booking.starts_dt, Booking.id)
    ).all()
    by_user: dict[int, list[Booking]] = {}
    for booking in bookings:
        by_user.setdefault(booking.customer_user_id, []).append(booking)
    for user_bookings in by_user.values():
        user = user_bookings[0].customer_user
        zone = ZoneInfo(user.timezone)
        lines = [
            f"#{b.id} {b.listing.name} · {b.starts_dt.astimezone(zone):%Y-%m-%d %H:%M}"
            for b in user_bookings
        ]
        tell(
            user,
            _l("%(lab)s no longer takes bookings on ShareHub", lab=lab.name),
            "assessment/mail/customer_lab_status.txt",
            "booking.my_bookings",
            lab=lab,
            reason=reason,
            lines=lines,
        )
    return len(by_user)


def admitted_labs_query(status: str = "", q: str = ""):
    """The public register: every admitted lab (including suspended and revoked ones, so
    the public sees the decision), by status then name."""
    query = sa.select(Organisation).where(
        Organisation.kind == OrgKind.LAB, Organisation.status.in_(ADMITTED_STATUSES)
    )
    if status in {s.value for s in ADMITTED_STATUSES}:
        query = query.where(Organisation.status == status)
    if q.strip():
        pattern = f"%{q.strip()}%"
        query = query.where(
            sa.or_(
                Organisation.name.ilike(pattern),
                Organisation.name_en.ilike(pattern),
                Organisation.host_name.ilike(pattern),
            )
        )
    order = sa.case(
        {s.value: n for n, s in enumerate(ADMITTED_STATUSES)}, value=Organisation.status
    )
    return query.order_by(order, Organisation.name, Organisation.id)
