"""Listing operations for lab managers and administrators.

Every function takes the acting user, checks permission on the object, validates,
writes, audits and flushes; the caller commits.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, OrgKind, User
from sharehub.catalog.models import (
    Favourite,
    InstrumentCategory,
    Listing,
    ListingKind,
    ListingRevision,
    ListingStatus,
    OpeningInterval,
    Outage,
    OutageKind,
    Unit,
)
from sharehub.catalog.search import index_fields
from sharehub.core import audit
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.inputs import check_date, check_length, clean_tax_code
from sharehub.core.mail import queue_mail
from sharehub.extensions import db

# Fields a lab may set on a listing (everything else is managed by the platform).
EDITABLE = (
    "name",
    "name_en",
    "description",
    "description_en",
    "field",
    "category_code",
    "contact_name",
    "contact_phone",
    "contact_email",
    "price_unit",
    "price_internal",
    "price_external",
    "price_cluster",
    "min_charge",
    "assisted_rate",
    "slot_minutes",
    "min_minutes",
    "max_minutes",
    "lead_hours",
    "horizon_days",
    "buffer_minutes",
    "approval_required",
    "free_cancel_hours",
    "cancel_fee_percent",
    "training_note",
    "instrument_number",
    "model",
    "tax_code",
    "main_indicators",
    "test_fields",
    "manufacturer",
    "country_of_origin",
    "original_value",
    "commissioning_date",
    "location",
    "instrument_status",
    "usage_class",
    "expert_name",
    "expert_title",
    "expert_fields",
    "qualifications",
    "languages",
    "licence",
    "data_format",
    "data_size",
    "access_mode",
    "access_days",
)
MAX_TEXT = 20_000


def require_manager(actor: User, lab: Organisation) -> None:
    if not actor.is_authenticated or not actor.can_manage(lab):
        raise PermissionDenied(_l("Only managers of this laboratory may do this."))


def _require_admin(actor: User) -> None:
    if not actor.is_platform_admin:
        raise PermissionDenied(_l("Only platform administrators may do this."))


def validate(kind: ListingKind, data: dict) -> dict:
    """Check the values a lab gave; raise ValidationError naming the field at fault."""
    for key, value in data.items():
        if key not in EDITABLE:
            raise ValidationError(_l("Unknown field."), field=key)
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise ValidationError(
                _l("This text is too long (at most %(n)s characters).", n=MAX_TEXT), field=key
            )
    if not (data.get("name") or "").strip():
        raise ValidationError(_l("Give the listing a name."), field="name")
    for key in (
        "price_internal",
        "price_external",
        "price_cluster",
        "min_charge",
        "assisted_rate",
        "original_value",
    ):
        value = data.get(key)
        if value is not None and value < 0:
            raise ValidationError(_l("Prices and values cannot be negative."), field=key)
    if "tax_code" in data:
        data["tax_code"] = clean_tax_code(data["tax_code"])
    code = data.get("category_code")
    if code:
        if db.session.get(InstrumentCategory, code) is None:
            raise ValidationError(_l("Unknown instrument category code."), field="category_code")
    elif kind == ListingKind.EQUIPMENT:
        raise ValidationError(
            _l("Equipment needs its 6-digit instrument category code."), field="category_code"
        )
    slot = data.get("slot_minutes", 60)
    low, high = data.get("min_minutes", slot), data.get("max_minutes", slot)
    if slot <= 0 or slot > 1440 or 1440 % slot:
        raise ValidationError(
            _l("The slot length must divide a day (e.g. 15, 30, 60 minutes)."), field="slot_minutes"
        )
    if low < slot or high < low or low % slot or high % slot:
        raise ValidationError(
            _l(
                "Minimum and maximum durations are whole slots, and the maximum is not below "
                "the minimum."
            ),
            field="max_minutes",
        )
    percent = data.get("cancel_fee_percent", 0)
    if not 0 <= percent <= 100:
        raise ValidationError(
            _l("The cancellation fee is a percentage from 0 to 100."), field="cancel_fee_percent"
        )
    for key in ("lead_hours", "horizon_days", "buffer_minutes", "free_cancel_hours"):
        if data.get(key, 0) < 0:
            raise ValidationError(_l("This value cannot be negative."), field=key)
    if kind == ListingKind.EXPERT and not (data.get("expert_name") or "").strip():
        raise ValidationError(_l("Name the expert."), field="expert_name")
    if kind == ListingKind.DATASET and not data.get("access_mode"):
        raise ValidationError(_l("Choose how the data is accessed."), field="access_mode")
    return data


def revive_values(stored: dict) -> dict:
    """Turn a revision's JSON back into column values (dates were stored as text)."""
    data = dict(stored)
    if isinstance(data.get("commissioning_date"), str):
        data["commissioning_date"] = date.fromisoformat(data["commissioning_date"])
    return data


def _apply(listing: Listing, data: dict) -> dict:
    changes = {}
    for key, value in data.items():
        if getattr(listing, key) != value:
            changes[key] = value
            setattr(listing, key, value)
    category = (
        db.session.get(InstrumentCategory, listing.category_code) if listing.category_code else None
    )
    index_fields(listing, [category.name, category.name_en] if category else None)
    listing.updated_dt = utcnow()
    return changes


def create_listing(
    actor: User, lab: Organisation, kind: ListingKind, data: dict, units: int = 1
) -> Listing:
    require_manager(actor, lab)
    if lab.kind != OrgKind.LAB:
        raise PermissionDenied(_l("Only laboratories list resources."))
    validate(kind, data)
    listing = Listing(lab=lab, kind=kind, status=ListingStatus.DRAFT)
    _apply(listing, data)
    db.session.add(listing)
    if kind == ListingKind.EQUIPMENT:
        for n in range(1, max(1, min(units, 50)) + 1):
            listing.units.append(Unit(name=f"#{n}", location=data.get("location", "")))
    elif kind == ListingKind.EXPERT:
        listing.units.append(Unit(name=data.get("expert_name", "")))
    db.session.flush()
    audit.record(
        actor, "listing.created", listing, organisation=lab, kind=kind.value, name=listing.name
    )
    db.session.flush()
    return listing


def update_listing(actor: User, listing: Listing, data: dict) -> ListingRevision | None:
    """Drafts change at once; a published listing's change waits for review."""
    require_manager(actor, listing.lab)
    validate(listing.kind, data)
    if listing.status == ListingStatus.PUBLISHED:
        pending = db.session.scalar(
            sa.select(ListingRevision).where(
                ListingRevision.listing_id == listing.id, ListingRevision.status == "pending"
            )
        )
        stored = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}
        if pending is not None:
            pending.data, pending.created_dt, pending.submitted_by_id = stored, utcnow(), actor.id
            revision = pending
        else:
            revision = ListingRevision(listing=listing, data=stored, submitted_by_id=actor.id)
            db.session.add(revision)
        db.session.flush()
        audit.record(
            actor,
            "listing.change_submitted",
            listing,
            organisation=listing.lab_id,
            revision=revision.id,
        )
        db.session.flush()
        return revision
    if listing.status == ListingStatus.PENDING:
        raise Conflict(_l("The listing is being reviewed; withdraw it first to change it."))
    changes = _apply(listing, data)
    if changes:
        audit.record(
            actor, "listing.updated", listing, organisation=listing.lab_id, fields=sorted(changes)
        )
    db.session.flush()
    return None


def submit(actor: User, listing: Listing) -> None:
    require_manager(actor, listing.lab)
    if not listing.lab.is_serving:
        raise Conflict(_l("Your laboratory must be admitted (and not suspended) to publish."))
    if listing.status not in (ListingStatus.DRAFT, ListingStatus.REJECTED, ListingStatus.WITHDRAWN):
        raise Conflict(_l("Only drafts, rejected or withdrawn listings can be submitted."))
    if listing.kind != ListingKind.DATASET and not listing.opening_hours:
        raise ValidationError(_l("Set the opening hours before submitting."))
    listing.status = ListingStatus.PENDING
    listing.review_note = ""
    audit.record(actor, "listing.submitted", listing, organisation=listing.lab_id)
    db.session.flush()


def withdraw(actor: User, listing: Listing) -> None:
    require_manager(actor, listing.lab)
    if listing.status not in (ListingStatus.PUBLISHED, ListingStatus.PENDING):
        raise Conflict(_l("Only published or submitted listings can be withdrawn."))
    listing.status = ListingStatus.WITHDRAWN
    audit.record(actor, "listing.withdrawn", listing, organisation=listing.lab_id)
    db.session.flush()


def _tell_lab(listing: Listing, subject, template: str, **context) -> None:
    for membership in listing.lab.memberships:
        if membership.user.can_manage(listing.lab):
            queue_mail(
                membership.user.email,
                subject,
                template,
                locale=membership.user.locale,
                listing=listing,
                user=membership.user,
                **context,
            )


def approve(actor: User, listing: Listing) -> None:
    _require_admin(actor)
    if listing.status != ListingStatus.PENDING:
        raise Conflict(_l("This listing is not waiting for review."))
    if not listing.lab.is_serving:
        raise Conflict(_l("The laboratory is not active; it cannot publish."))
    listing.status = ListingStatus.PUBLISHED
    listing.published_dt = listing.published_dt or utcnow()
    audit.record(actor, "listing.approved", listing, organisation=listing.lab_id)
    _tell_lab(
        listing,
        _l("Your listing is published on ShareHub"),
        "mail/listing_decided.txt",
        approved=True,
        reason="",
    )
    db.session.flush()


def reject(actor: User, listing: Listing, reason: str) -> None:
    _require_admin(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_l("Give the reason for the rejection."), field="reason")
    if listing.status != ListingStatus.PENDING:
        raise Conflict(_l("This listing is not waiting for review."))
    listing.status = ListingStatus.REJECTED
    listing.review_note = reason
    audit.record(actor, "listing.rejected", listing, organisation=listing.lab_id, reason=reason)
    _tell_lab(
        listing,
        _l("Your listing needs changes"),
        "mail/listing_decided.txt",
        approved=False,
        reason=reason,
    )
    db.session.flush()


def decide_revision(
    actor: User, revision: ListingRevision, approve_it: bool, reason: str = ""
) -> None:
    _require_admin(actor)
    if revision.status != "pending":
        raise Conflict(_l("This change has already been decided."))
    listing = revision.listing
    if not approve_it and not reason.strip():
        raise ValidationError(_l("Give the reason for the rejection."), field="reason")
    revision.status = "approved" if approve_it else "rejected"
    revision.reason = reason.strip()
    revision.decided_by_id, revision.decided_dt = actor.id, utcnow()
    if approve_it:
        changes = _apply(listing, revive_values(revision.data))
        audit.record(
            actor,
            "listing.change_approved",
            listing,
            organisation=listing.lab_id,
            fields=sorted(changes),
        )
    else:
        audit.record(
            actor,
            "listing.change_rejected",
            listing,
            organisation=listing.lab_id,
            reason=revision.reason,
        )
    _tell_lab(
        listing,
        _l("A change to your listing was reviewed"),
        "mail/listing_decided.txt",
        approved=approve_it,
        reason=revision.reason,
    )
    db.session.flush()


# --- units, hours, outages ----------------------------------------------------------------


def add_unit(
    actor: User, listing: Listing, name: str, serial_number: str = "", location: str = ""
) -> Unit:
    require_manager(actor, listing.lab)
    if listing.kind != ListingKind.EQUIPMENT:
        raise ValidationError(_l("Only equipment has several units."))
    name = name.strip()
    if not name:
        raise ValidationError(_l("Name the unit."), field="name")
    if any(u.name == name for u in listing.units):
        raise Conflict(_l("A unit with this name exists already."), field="name")
    unit = Unit(
        listing=listing,
        name=name[:100],
        serial_number=serial_number.strip()[:100],
        location=location.strip()[:300],
    )
    db.session.add(unit)
    db.session.flush()
    audit.record(actor, "unit.added", unit, organisation=listing.lab_id, listing=listing.id)
    db.session.flush()
    return unit


def set_unit_active(actor: User, unit: Unit, active: bool) -> None:
    require_manager(actor, unit.listing.lab)
    if not active and sum(u.is_active for u in unit.listing.units) <= 1 and unit.is_active:
        raise Conflict(_l("A listing keeps at least one active unit."))
    unit.is_active = active
    audit.record(
        actor,
        "unit.activated" if active else "unit.deactivated",
        unit,
        organisation=unit.listing.lab_id,
    )
    db.session.flush()


def set_opening_hours(actor: User, listing: Listing, intervals: list[tuple[int, int, int]]) -> None:
    """Replace the weekly hours; intervals are (weekday, start minute, end minute)."""
    require_manager(actor, listing.lab)
    by_day: dict[int, list[tuple[int, int]]] = {}
    for weekday, start, end in intervals:
        if not (0 <= weekday <= 6 and 0 <= start < end <= 1440):
            raise ValidationError(_l("Each interval starts before it ends, within one day."))
        by_day.setdefault(weekday, []).append((start, end))
    for spans in by_day.values():
        spans.sort()
        for (_, end_a), (start_b, _) in zip(spans, spans[1:], strict=False):
            if start_b < end_a:
                raise ValidationError(_l("Opening intervals of one day must not overlap."))
    listing.opening_hours.clear()
    db.session.flush()
    for weekday, start, end in sorted(intervals):
        listing.opening_hours.append(
            OpeningInterval(weekday=weekday, start_minute=start, end_minute=end)
        )
    audit.record(
        actor, "listing.hours_set", listing, organisation=listing.lab_id, intervals=len(intervals)
    )
    db.session.flush()


def add_outage(
    actor: User,
    unit: Unit,
    kind: OutageKind,
    starts_dt: datetime,
    ends_dt: datetime,
    note: str = "",
) -> Outage:
    require_manager(actor, unit.listing.lab)
    check_date(starts_dt, field="starts")
    check_date(ends_dt, field="ends")
    if ends_dt <= starts_dt:
        raise ValidationError(_l("An outage ends after it starts."), field="ends")
    note = check_length(note.strip(), 300, _l("The note"), "note")
    outage = Outage(unit=unit, kind=kind, starts_dt=starts_dt, ends_dt=ends_dt, note=note)
    db.session.add(outage)
    db.session.flush()
    audit.record(
        actor,
        "outage.added",
        outage,
        organisation=unit.listing.lab_id,
        unit=unit.id,
        kind=kind.value,
        starts=starts_dt.isoformat(),
        ends=ends_dt.isoformat(),
    )
    db.session.flush()
    return outage


def remove_outage(actor: User, outage: Outage) -> None:
    require_manager(actor, outage.unit.listing.lab)
    audit.record(actor, "outage.removed", outage, organisation=outage.unit.listing.lab_id)
    db.session.delete(outage)
    db.session.flush()


def toggle_favourite(user: User, listing: Listing) -> bool:
    existing = db.session.scalar(
        sa.select(Favourite).where(Favourite.user_id == user.id, Favourite.listing_id == listing.id)
    )
    if existing is not None:
        db.session.delete(existing)
        db.session.flush()
        return False
    db.session.add(Favourite(user_id=user.id, listing_id=listing.id))
    db.session.flush()
    return True
