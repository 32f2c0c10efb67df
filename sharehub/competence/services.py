"""Competence operations: requirements, training requests and records, authorisations,
the rule the booking service applies, and the expiry reminders (cron).

Services take the acting user, check permission on the object, validate, write, audit and
flush; they never commit. The booking service (a layer above) asks `check_operator`
before it books; nothing here imports booking.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from sharehub.accounts.models import User
from sharehub.catalog.models import Listing, ListingKind
from sharehub.competence.models import (
    LEVEL_LABELS,
    LEVEL_RANK,
    MAX_VALIDITY_MONTHS,
    SCORE_MAX,
    Authorisation,
    Level,
    Requirement,
    TrainingRecord,
    TrainingRequest,
    TrainingStatus,
    requirement_listing,
)
from sharehub.core import audit
from sharehub.core.clock import LAB_TZ, local_date, utcnow
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.inputs import check_length
from sharehub.core.uploads import sniff_document, store_bytes
from sharehub.extensions import db

MAX_CERTIFICATE_BYTES = 10 * 1024 * 1024


class NotAuthorised(PermissionDenied):
    """A self-operated booking by a user without an authorisation valid at its start."""


def require_lab(actor: User, lab) -> None:
    if not (actor.is_authenticated and actor.can_manage(lab)):
        raise PermissionDenied(_l("Only the laboratory's managers may do this."))


# --- dates -------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def expiry_of(granted: datetime, months: int) -> datetime:
    """Midnight Asia/Shanghai at the end of the validity: granted on 10 June for 12 months,
    an authorisation holds through 9 June of the next year and ends as 10 June begins."""
    return datetime.combine(add_months(local_date(granted), months), time(), LAB_TZ)


# --- requirements ------------------------------------------------------------------------


def check_validity_months(months: int | None) -> int:
    if months is None or months < 1 or months > MAX_VALIDITY_MONTHS:
        raise ValidationError(
            _l(
                "The validity is a whole number of months from 1 to %(n)s.",
                n=MAX_VALIDITY_MONTHS,
            ),
            field="validity_months",
        )
    return months


def _check_pass_score(score: int | None) -> None:
    if score is not None and not 0 <= score <= 100:
        raise ValidationError(_l("The pass mark is between 0 and 100."), field="pass_score")


def save_requirement(
    actor: User,
    lab,
    *,
    name: str,
    validity_months: int | None,
    course: str = "",
    pass_score: int | None = None,
    assistance_required: bool = False,
    listing_ids: list[int] = (),  # type: ignore[assignment]
    staff_listing_id: int | None = None,
    trainer_listing_id: int | None = None,
    requirement: Requirement | None = None,
    levels: list[Level] | None = None,
    prerequisite_ids: list[int] | None = None,
) -> Requirement:
    """Create (or change) what the lab requires for a group of its equipment listings:
    the levels it grants (all when not given), the requirements a user must hold first
    (unchanged when not given), the validity and who needs a staff operator."""
    require_lab(actor, lab)
    if requirement is not None and requirement.lab_id != lab.id:
        raise PermissionDenied(_l("Only the laboratory's managers may do this."))
    name = (name or "").strip()
    if not name:
        raise ValidationError(_l("Name the requirement."), field="name")
    check_length(name, 200, _l("The name"), "name")
    check_length((course or "").strip(), 300, _l("The training course"), "course")
    check_validity_months(validity_months)
    _check_pass_score(pass_score)
    listings = []
    for listing_id in dict.fromkeys(listing_ids):
        listing = db.session.get(Listing, listing_id)
        if listing is None or listing.lab_id != lab.id or listing.kind != ListingKind.EQUIPMENT:
            raise ValidationError(
                _l("Choose equipment listings of your laboratory."), field="listing_ids"
            )
        other = db.session.scalar(
            sa.select(requirement_listing.c.requirement_id).where(
                requirement_listing.c.listing_id == listing.id
            )
        )
        if other is not None and (requirement is None or other != requirement.id):
            raise Conflict(
                _l("%(name)s already follows another requirement.", name=listing.name),
                field="listing_ids",
            )
        listings.append(listing)
    staff = _expert_listing(lab, staff_listing_id, "staff_listing_id")
    trainers = _expert_listing(lab, trainer_listing_id, "trainer_listing_id")
    offered = _check_levels(levels)
    prerequisites = (
        _check_prerequisites(lab, requirement, prerequisite_ids)
        if prerequisite_ids is not None
        else None
    )
    if requirement is None:
        requirement = Requirement(lab_id=lab.id, name=name, validity_months=validity_months)
        db.session.add(requirement)
        action = "competence.requirement_created"
    else:
        action = "competence.requirement_changed"
    requirement.name = name
    requirement.validity_months = validity_months  # type: ignore[assignment]
    requirement.course = (course or "").strip()
    requirement.pass_score = pass_score
    requirement.assistance_required = bool(assistance_required)
    requirement.staff_listing = staff
    requirement.trainer_listing = trainers
    requirement.listings = listings
    requirement.levels = ",".join(level.value for level in offered)
    if prerequisites is not None:
        requirement.prerequisites = prerequisites
    db.session.flush()
    audit.record(
        actor,
        action,
        requirement,
        organisation=lab.id,
        validity_months=validity_months,
        listings=[listing.id for listing in listings],
        assistance_required=requirement.assistance_required,
        levels=requirement.levels,
        prerequisites=[p.id for p in requirement.prerequisites],
    )
    db.session.flush()
    return requirement


def _check_levels(levels: list[Level] | None) -> list[Level]:
    if levels is None:
        return list(Level)
    chosen = {Level(level) for level in levels}
    if not chosen:
        raise ValidationError(
            _l("Choose at least one level the laboratory grants."), field="levels"
        )
    return [level for level in Level if level in chosen]


def _check_prerequisites(
    lab, requirement: Requirement | None, prerequisite_ids: list[int]
) -> list[Requirement]:
    """Other requirements of the lab, without a circle (A needs B needs A)."""
    chosen = []
    for prerequisite_id in dict.fromkeys(prerequisite_ids):
        prerequisite = db.session.get(Requirement, prerequisite_id)
        if prerequisite is None or prerequisite.lab_id != lab.id:
            raise ValidationError(
                _l("Choose prerequisites among your laboratory's requirements."),
                field="prerequisite_ids",
            )
        if requirement is not None and _needs(prerequisite, requirement.id):
            raise ValidationError(
                _l(
                    "%(name)s cannot be a prerequisite: it needs this requirement itself.",
                    name=prerequisite.name,
                ),
                field="prerequisite_ids",
            )
        chosen.append(prerequisite)
    return chosen


def _needs(requirement: Requirement, target_id: int) -> bool:
    """Is `target_id` the requirement itself or among its prerequisites, at any depth?"""
    seen: set[int] = set()
    todo = [requirement]
    while todo:
        current = todo.pop()
        if current.id == target_id:
            return True
        if current.id not in seen:
            seen.add(current.id)
            todo.extend(current.prerequisites)
    return False


def missing_prerequisites(user: User, requirement: Requirement, at: datetime) -> list[Requirement]:
    """The prerequisites of which `user` holds no authorisation valid at `at`."""
    missing = []
    for prerequisite in requirement.prerequisites:
        held = current_authorisation(user.id, prerequisite.id)
        if held is None or not held.is_valid_at(at):
            missing.append(prerequisite)
    return missing


def _expert_listing(lab, listing_id: int | None, field: str) -> Listing | None:
    if listing_id is None:
        return None
    listing = db.session.get(Listing, listing_id)
    if listing is None or listing.lab_id != lab.id or listing.kind != ListingKind.EXPERT:
        raise ValidationError(
            _l("Choose an expert-time listing of your laboratory (its units are the staff)."),
            field=field,
        )
    return listing


def requirement_for(listing: Listing) -> Requirement | None:
    return db.session.scalar(
        sa.select(Requirement)
        .join(requirement_listing, requirement_listing.c.requirement_id == Requirement.id)
        .where(requirement_listing.c.listing_id == listing.id)
    )


def current_authorisation(user_id: int, requirement_id: int) -> Authorisation | None:
    return db.session.scalar(
        sa.select(Authorisation).where(
            Authorisation.user_id == user_id,
            Authorisation.requirement_id == requirement_id,
            Authorisation.superseded_dt.is_(None),
        )
    )


# --- the booking rule --------------------------------------------------------------------


def how_to_get_trained(requirement: Requirement):
    if requirement.course:
        return _l(
            "Request the training “%(course)s” from the laboratory on the listing's page.",
            course=requirement.course,
        )
    return _l("Request training from the laboratory on the listing's page.")


def check_operator(
    user: User, listing: Listing, starts_dt: datetime, assisted: bool
) -> Requirement | None:
    """The rule of who may book `listing` how, for the booking service: a self-operated
    booking needs an authorisation to operate alone that is valid at the booking's start;
    an assisted one needs the lab's staff calendar. Returns the listing's requirement
    (None when it has none); raises with the explanation otherwise."""
    requirement = requirement_for(listing)
    if requirement is None:
        if assisted:
            raise ValidationError(_l("This listing does not offer bookings with a staff operator."))
        return None
    if assisted:
        if requirement.staff_listing is None or not any(
            u.is_active for u in requirement.staff_listing.units
        ):
            raise Conflict(
                _l("The laboratory has no staff operators to book; contact the laboratory.")
            )
        return requirement
    if requirement.assistance_required:
        raise NotAuthorised(
            _l(
                "%(name)s is operated only by the laboratory's staff: "
                "book it with a staff operator.",
                name=listing.name,
            )
        )
    held = current_authorisation(user.id, requirement.id)
    if held is not None and held.operates_alone and held.is_valid_at(starts_dt):
        return requirement
    day = local_date(starts_dt).isoformat()
    if held is not None and held.operates_alone and held.starts_dt <= starts_dt:
        reason = _l(
            "Your authorisation to operate %(name)s alone expires before %(day)s.",
            name=listing.name,
            day=day,
        )
    else:
        reason = _l(
            "You are not authorised to operate %(name)s alone on %(day)s.",
            name=listing.name,
            day=day,
        )
    raise NotAuthorised(
        _l(
            "%(reason)s Book it with a staff operator, or get trained: %(how)s",
            reason=reason,
            how=how_to_get_trained(requirement),
        )
    )


# --- training ----------------------------------------------------------------------------


def request_training(actor: User, requirement: Requirement, note: str = "") -> TrainingRequest:
    if not actor.is_authenticated:
        raise PermissionDenied(_l("Sign in to request training."))
    note = (note or "").strip()
    check_length(note, 2000, _l("The note"), "note")
    open_request = db.session.scalar(
        sa.select(TrainingRequest).where(
            TrainingRequest.user_id == actor.id,
            TrainingRequest.requirement_id == requirement.id,
            TrainingRequest.status.in_((TrainingStatus.REQUESTED, TrainingStatus.SCHEDULED)),
        )
    )
    if open_request is not None:
        raise Conflict(_l("You have already requested this training."))
    training = TrainingRequest(requirement=requirement, user_id=actor.id, note=note)
    db.session.add(training)
    db.session.flush()
    audit.record(actor, "competence.training_requested", training, organisation=requirement.lab_id)
    db.session.flush()
    return training


def check_session_booking(actor: User, training: TrainingRequest) -> Listing:
    """The trainers' listing a session of `training` is booked on (by booking.training)."""
    if training.user_id != actor.id:
        raise PermissionDenied(_l("This is not your training request."))
    if not training.is_open:
        raise Conflict(_l("This training request is closed."))
    if training.booking_id is not None:
        raise Conflict(_l("A session is already booked for this training."))
    listing = training.requirement.trainer_listing
    if listing is None:
        raise Conflict(_l("The laboratory schedules this training itself; it will contact you."))
    return listing


def session_booked(actor: User, training: TrainingRequest, booking_id: int) -> None:
    training.booking_id = booking_id
    training.status = TrainingStatus.SCHEDULED
    audit.record(
        actor,
        "competence.session_booked",
        training,
        organisation=training.requirement.lab_id,
        booking=booking_id,
    )
    db.session.flush()


def parse_score(text: str) -> Decimal | None:
    """A score from 0 to 100 with at most two decimals; blank: no test."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        score = Decimal(text)
    except InvalidOperation:
        score = None
    if (
        score is None
        or not score.is_finite()
        or not Decimal(0) <= score <= SCORE_MAX
        or score != score.quantize(Decimal("0.01"))
    ):
        raise ValidationError(
            _l("The score is a number from 0 to 100 (at most two decimals)."), field="score"
        )
    return score


def record_completion(
    actor: User,
    requirement: Requirement,
    user: User,
    *,
    score: Decimal | None,
    level: Level | None,
    completed: date | None = None,
    certificate: tuple[bytes, str] | None = None,
    training: TrainingRequest | None = None,
    now: datetime | None = None,
) -> tuple[TrainingRecord, Authorisation | None]:
    """The lab records a finished training (and test); when it is passed and a level is
    given, the authorisation starts at once."""
    require_lab(actor, requirement.lab)
    if training is not None and (
        training.requirement_id != requirement.id or training.user_id != user.id
    ):
        raise ValidationError(_l("This training request is for someone else."))
    if score is not None and not Decimal(0) <= score <= SCORE_MAX:
        raise ValidationError(
            _l("The score is a number from 0 to 100 (at most two decimals)."), field="score"
        )
    if requirement.pass_score is not None and score is None:
        raise ValidationError(_l("This training ends with a test: give the score."), field="score")
    passed = requirement.pass_score is None or (
        score is not None and score >= requirement.pass_score
    )
    if training is None:  # recorded by email: it answers the user's open request, if any
        training = db.session.scalar(
            sa.select(TrainingRequest)
            .where(
                TrainingRequest.user_id == user.id,
                TrainingRequest.requirement_id == requirement.id,
                TrainingRequest.status.in_((TrainingStatus.REQUESTED, TrainingStatus.SCHEDULED)),
            )
            .order_by(TrainingRequest.id)
        )
    stored = None
    if certificate is not None:
        data, original = certificate
        if len(data) > MAX_CERTIFICATE_BYTES:
            raise ValidationError(_l("The certificate is larger than 10 MB."), field="certificate")
        content_type = sniff_document(data)  # a PDF or an image, or a clear refusal
        stored = store_bytes(data, original, content_type)
    now = now or utcnow()
    record = TrainingRecord(
        requirement_id=requirement.id,
        user_id=user.id,
        request_id=training.id if training is not None else None,
        completed_date=completed or local_date(now),
        score=score,
        passed=passed,
        recorded_by_id=actor.id,
        certificate_name=stored.original_name if stored else None,
        certificate_stored=stored.stored_name if stored else None,
        certificate_type=stored.content_type if stored else None,
    )
    db.session.add(record)
    if training is not None:
        training.status = TrainingStatus.COMPLETED
    db.session.flush()
    audit.record(
        actor,
        "competence.training_recorded",
        record,
        organisation=requirement.lab_id,
        user=user.id,
        score=str(score) if score is not None else None,
        passed=passed,
    )
    authorisation = None
    if passed and level is not None:
        authorisation = grant(actor, requirement, user, level, record=record, now=now)
    db.session.flush()
    return record, authorisation


def grant(
    actor: User,
    requirement: Requirement,
    user: User,
    level: Level,
    *,
    record: TrainingRecord | None = None,
    now: datetime | None = None,
) -> Authorisation:
    """Authorise `user` at `level` from now for the requirement's validity; a current
    authorisation of theirs is superseded. Two grants at once: one wins, the other gets
    a Conflict (the partial unique index on the current authorisation)."""
    require_lab(actor, requirement.lab)
    if level not in requirement.offered_levels:
        raise ValidationError(
            _l(
                "This requirement grants only: %(levels)s.",
                levels=", ".join(str(LEVEL_LABELS[lv]) for lv in requirement.offered_levels),
            ),
            field="level",
        )
    now = now or utcnow()
    missing = missing_prerequisites(user, requirement, now)
    if missing:
        raise Conflict(
            _l(
                "%(user)s must first hold a valid authorisation for: %(names)s.",
                user=user.name,
                names=", ".join(r.name for r in missing),
            ),
            field="email",
        )
    if LEVEL_RANK[level] >= LEVEL_RANK[Level.INDEPENDENT] and (
        requirement.course or requirement.pass_score is not None
    ):
        record = record or db.session.scalar(
            sa.select(TrainingRecord)
            .where(
                TrainingRecord.user_id == user.id,
                TrainingRecord.requirement_id == requirement.id,
                TrainingRecord.passed.is_(True),
            )
            .order_by(TrainingRecord.id.desc())
        )
        if record is None or not record.passed:
            raise Conflict(
                _l("Record the passed training first; then the authorisation can be granted.")
            )
    expires = expiry_of(now, requirement.validity_months)
    current = current_authorisation(user.id, requirement.id)
    try:
        with db.session.begin_nested():
            if current is not None:
                claimed = db.session.execute(
                    sa.update(Authorisation)
                    .where(Authorisation.id == current.id, Authorisation.superseded_dt.is_(None))
                    .values(superseded_dt=now)
                    .execution_options(synchronize_session=False)
                )
                assert isinstance(claimed, sa.CursorResult)
                if not claimed.rowcount:
                    raise Conflict(_l("Someone has just changed this authorisation; reload."))
            authorisation = Authorisation(
                requirement_id=requirement.id,
                user_id=user.id,
                level=level,
                starts_dt=now,
                expires_dt=expires,
                granted_by_id=actor.id,
                training_record_id=record.id if record is not None else None,
            )
            db.session.add(authorisation)
            db.session.flush()
    except IntegrityError as exc:
        if "uq_authorisation_current" not in str(exc.orig) and "authorisation" not in str(exc.orig):
            raise
        raise Conflict(
            _l("This person has just been authorised by someone else; reload the page.")
        ) from exc
    if current is not None:
        db.session.refresh(current)
    audit.record(
        actor,
        "competence.authorised",
        authorisation,
        organisation=requirement.lab_id,
        user=user.id,
        level=level.value,
        expires=expires.isoformat(),
        supersedes=current.id if current is not None else None,
    )
    db.session.flush()
    return authorisation


def revoke(actor: User, authorisation: Authorisation, reason: str) -> Authorisation:
    """The lab withdraws a current authorisation before its expiry, with the reason the
    holder reads: it ends at once (superseded now), so the holder no longer books, moves
    or starts a self-operated session on its instruments. Of two revocations at once, one
    wins and the other gets a Conflict. The caller tells the holder (notify.tell_revoked)."""
    require_lab(actor, authorisation.requirement.lab)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_l("Give the reason; the holder will read it."), field="reason")
    check_length(reason, 2000, _l("The reason"), "reason")
    now = utcnow()
    if authorisation.superseded_dt is not None or authorisation.expires_dt <= now:
        raise Conflict(_l("This authorisation is no longer current; nothing to revoke."))
    claimed = db.session.execute(
        sa.update(Authorisation)
        .where(Authorisation.id == authorisation.id, Authorisation.superseded_dt.is_(None))
        .values(superseded_dt=now, revoked_dt=now, revoked_by_id=actor.id, revoke_reason=reason)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(claimed, sa.CursorResult)
    if not claimed.rowcount:
        raise Conflict(_l("Someone has just changed this authorisation; reload."))
    db.session.refresh(authorisation)
    audit.record(
        actor,
        "competence.revoked",
        authorisation,
        organisation=authorisation.requirement.lab_id,
        user=authorisation.user_id,
        reason=reason,
    )
    db.session.flush()
    return authorisation


# --- expiry reminders (cron) -------------------------------------------------------------

REMINDER_DAYS = (30, 7)


def due_reminders(now: datetime) -> list[tuple[int, int]]:
    """(authorisation id, days) of current authorisations whose reminder is due: the 7-day
    one within a week of expiry, else the 30-day one within 30 days."""
    rows = db.session.execute(
        sa.select(
            Authorisation.id,
            Authorisation.expires_dt,
            Authorisation.reminded_30_dt,
            Authorisation.reminded_7_dt,
        ).where(
            Authorisation.superseded_dt.is_(None),
            Authorisation.expires_dt > now,
            Authorisation.expires_dt <= now + timedelta(days=30),
        )
    ).all()
    due = []
    for auth_id, expires, reminded_30, reminded_7 in rows:
        if expires <= now + timedelta(days=7):
            if reminded_7 is None:
                due.append((auth_id, 7))
        elif reminded_30 is None:
            due.append((auth_id, 30))
    return due


def claim_reminder(auth_id: int, days: int, now: datetime) -> bool:
    """Mark the reminder sent with a conditional UPDATE: of two runs at once (or twice),
    one claims it. The 7-day reminder also stands for a 30-day one not sent."""
    column = Authorisation.reminded_7_dt if days == 7 else Authorisation.reminded_30_dt
    values = {"reminded_7_dt": now} if days == 7 else {"reminded_30_dt": now}
    claim = db.session.execute(
        sa.update(Authorisation)
        .where(Authorisation.id == auth_id, column.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(claim, sa.CursorResult)
    if claim.rowcount and days == 7:
        db.session.execute(
            sa.update(Authorisation)
            .where(Authorisation.id == auth_id, Authorisation.reminded_30_dt.is_(None))
            .values(reminded_30_dt=now)
            .execution_options(synchronize_session=False)
        )
    return bool(claim.rowcount)
