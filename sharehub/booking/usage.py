"""Usage records: what really happened on a unit (check-in/out, internal use, imports)."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_number
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, User
from sharehub.booking import chain, notify, services
from sharehub.booking.models import (
    Booking,
    CaptureDevice,
    ServiceWay,
    UsageRecord,
    UsageSource,
)
from sharehub.catalog.models import Listing, Unit
from sharehub.core import audit
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.inputs import check_date, check_length
from sharehub.extensions import db

CORRECTABLE = (
    "started_dt",
    "ended_dt",
    "prep_minutes",
    "run_minutes",
    "post_minutes",
    "samples",
    "service_way",
    "notes",
)


def _require_lab(actor: User, unit: Unit) -> None:
    if not actor.can_manage(unit.listing.lab):
        raise PermissionDenied(_l("Only managers of this laboratory record usage."))


# Clocks of the lab's PC and the server differ a little; a few minutes ahead is not "future".
CLOCK_SKEW = timedelta(minutes=5)


def _check_in_margin() -> timedelta:
    """How long before a booking's start it may be checked in (setting, default 1 hour);
    the same allowance applies to a check-out after the booking's end."""
    return timedelta(minutes=current_app.config.get("CHECK_IN_MARGIN_MINUTES", 60))


def _shown(actor: User | None, moment: datetime) -> str:
    zone = actor.timezone if actor is not None else "Asia/Shanghai"
    return f"{moment.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"


MAX_MINUTES = 60 * 24 * 31  # minutes of one use: a month at most
MAX_SAMPLES = 100_000


def _notes(notes: str) -> str:
    return check_length((notes or "").strip(), 5000, _l("The notes"), "notes")


def _validate(
    started: datetime,
    ended: datetime | None,
    minutes: tuple[int, int, int],
    samples: int,
    now: datetime | None = None,
) -> None:
    """Usage is what already happened: no time of it lies in the future."""
    check_date(started, field="started")
    check_date(ended, field="ended")
    if any(m > MAX_MINUTES for m in minutes) or samples > MAX_SAMPLES:
        raise ValidationError(
            _l(
                "Enter a whole number between %(low)s and %(high)s.",
                low=0,
                high=MAX_MINUTES if any(m > MAX_MINUTES for m in minutes) else MAX_SAMPLES,
            )
        )
    latest = (now or utcnow()) + CLOCK_SKEW
    if started > latest or (ended is not None and ended > latest):
        raise ValidationError(
            _l("Usage is recorded after it happens: the times cannot be in the future."),
            field="ended" if started <= latest else "started",
        )
    if ended is not None and ended < started:
        raise ValidationError(_l("Use ends after it starts."), field="ended")
    if any(m < 0 for m in minutes) or samples < 0:
        raise ValidationError(_l("Minutes and samples cannot be negative."))
    if ended is not None and sum(minutes) > (ended - started).total_seconds() // 60 + 24 * 60:
        raise ValidationError(
            _l("The minutes recorded exceed the time of use by more than a day; check the figures.")
        )


def check_in(
    actor: User | None,
    booking: Booking,
    at: datetime | None = None,
    *,
    now: datetime | None = None,
    device: CaptureDevice | None = None,
    entered_by: User | None = None,
) -> UsageRecord:
    """The use starts at `at` (by default now). It must have happened and lie near the
    booking: from the check-in margin before its start until its end, so a booking is not
    checked in days ahead and the usage record carries the real date.

    `actor` is a lab manager, or None when a kiosk (`device`) checks in on the word of
    `entered_by`, the booking's user whose signed code it read."""
    # Lock the booking and read it again: a check-in racing a cancellation (of the booking,
    # or of the testing order it runs) acts after it and sees it, or goes first.
    db.session.flush()
    db.session.refresh(booking, with_for_update=True)
    now = now or utcnow()
    at = at or now
    if at > now + CLOCK_SKEW:
        raise ValidationError(_l("The check-in time cannot be in the future."), field="started")
    margin = _check_in_margin()
    if at < booking.starts_dt - margin:
        raise ValidationError(
            _l(
                "This booking starts at %(start)s: it can be checked in from %(n)s minutes "
                "before its start.",
                start=_shown(actor, booking.starts_dt),
                n=int(margin.total_seconds() // 60),
            ),
            field="started",
        )
    if at >= booking.ends_dt:
        raise ValidationError(
            _l(
                "This booking ended at %(end)s: enter the time the use actually started.",
                end=_shown(actor, booking.ends_dt),
            ),
            field="started",
        )
    services.transition(
        actor, booking, "check_in", **({"device": device.id} if device is not None else {})
    )
    record = UsageRecord(
        unit=booking.unit,
        booking=booking,
        user_org_id=booking.customer_org_id,
        started_dt=at,
        recorded_by_id=(entered_by or actor).id if (entered_by or actor) else None,
        source=UsageSource.KIOSK if device is not None else UsageSource.LAB_STAFF,
        device_id=device.id if device is not None else None,
        lab_id=booking.listing.lab_id,
    )
    db.session.add(record)
    notify.booking_event(booking, "checked_in")
    db.session.flush()
    return record


def check_out(
    actor: User | None,
    booking: Booking,
    *,
    ended: datetime | None = None,
    prep_minutes: int = 0,
    run_minutes: int | None = None,
    post_minutes: int = 0,
    samples: int = 0,
    service_way: ServiceWay = ServiceWay.ON_SITE,
    notes: str = "",
    now: datetime | None = None,
    device: CaptureDevice | None = None,
) -> UsageRecord:
    """The use ends at `ended` (by default now): not in the future, and at most the
    check-in margin after the booking's end (a later check-out names the real end).
    The record is complete then and joins the lab's chain; it never changes again.
    `actor` None: a kiosk (`device`) checks out."""
    record = next((r for r in booking.usage if r.ended_dt is None), None)
    if record is None:
        raise ValidationError(_l("Check the booking in first."))
    now = now or utcnow()
    ended = ended or now
    if ended > booking.ends_dt + _check_in_margin():
        raise ValidationError(
            _l(
                "This booking ended at %(end)s: enter the time the use actually ended.",
                end=_shown(actor, booking.ends_dt),
            ),
            field="ended",
        )
    if run_minutes is None:
        run_minutes = max(0, int((ended - record.started_dt).total_seconds() // 60))
    _validate(record.started_dt, ended, (prep_minutes, run_minutes, post_minutes), samples, now=now)
    services.transition(
        actor, booking, "check_out", **({"device": device.id} if device is not None else {})
    )
    record.ended_dt, record.prep_minutes, record.run_minutes = ended, prep_minutes, run_minutes
    record.post_minutes, record.samples, record.service_way = post_minutes, samples, service_way
    record.notes, record.updated_dt = _notes(notes), utcnow()
    audit.record(
        actor,
        "usage.recorded",
        record,
        organisation=booking.listing.lab_id,
        booking=booking.id,
        effective=record.effective_minutes,
        source=record.source.value,
    )
    notify.booking_event(booking, "completed")
    chain.seal(record)
    return record


def served(lab: Organisation, credit_code: str = "", email: str = ""):
    """The organisation (by credit code) and person (by the email they sign in with)
    named as served on use logged without a booking; both optional. A person named
    alone is served for their organisation (the first they belong to)."""
    org = user = None
    code, email = (credit_code or "").strip().upper(), (email or "").strip().lower()
    if code:
        org = db.session.scalar(sa.select(Organisation).where(Organisation.credit_code == code))
        if org is None:
            raise ValidationError(
                _l("No organisation on the platform has this credit code."), field="served_org"
            )
    if email:
        user = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email))
        if user is None or not user.memberships:
            raise ValidationError(
                _l("No user of the platform signs in with this email."), field="served_user"
            )
        if org is None:
            org = user.memberships[0].organisation
        elif user.membership_in(org) is None:
            raise ValidationError(
                _l("The person served does not belong to the organisation served."),
                field="served_user",
            )
    return org, user


def log_usage(
    actor: User,
    unit: Unit,
    *,
    user_org: Organisation | None,
    user: User | None = None,
    started: datetime,
    ended: datetime,
    prep_minutes: int,
    run_minutes: int,
    post_minutes: int,
    samples: int = 0,
    service_way: ServiceWay = ServiceWay.ON_SITE,
    notes: str = "",
    source: UsageSource = UsageSource.LAB_STAFF,
) -> UsageRecord:
    """Use that never went through a booking (internal use by default); it may name the
    person served (`user`), who then counts among the users served. `source` says how it
    came (typed on the usage page, or through the API)."""
    _require_lab(actor, unit)
    _validate(started, ended, (prep_minutes, run_minutes, post_minutes), samples)
    record = UsageRecord(
        unit=unit,
        user_org_id=(user_org or unit.listing.lab).id,
        user_id=user.id if user is not None else None,
        started_dt=started,
        ended_dt=ended,
        prep_minutes=prep_minutes,
        run_minutes=run_minutes,
        post_minutes=post_minutes,
        samples=samples,
        service_way=service_way,
        notes=_notes(notes),
        recorded_by_id=actor.id,
        source=source,
        lab_id=unit.listing.lab_id,
    )
    db.session.add(record)
    db.session.flush()
    audit.record(
        actor,
        "usage.logged",
        record,
        organisation=unit.listing.lab_id,
        unit=unit.id,
        effective=record.effective_minutes,
        source=source.value,
    )
    chain.seal(record)
    return record


def correct_usage(actor: User, record: UsageRecord, *, reason: str, **fields) -> UsageRecord:
    """A correction is a new record naming the one it corrects and why; the corrected
    record stays as it was (usage records are append-only). Only the latest record of a
    line of corrections is corrected, and counts in the figures."""
    _require_lab(actor, record.unit)
    reason = check_length((reason or "").strip(), 2000, _l("The reason"), "reason")
    if not reason:
        raise ValidationError(_l("Give the reason for the correction."), field="reason")
    if not record.is_sealed:
        raise Conflict(_l("This use has not ended yet: check it out before correcting it."))
    if db.session.scalar(sa.select(UsageRecord.id).where(UsageRecord.corrects_id == record.id)):
        raise Conflict(_l("This record has been corrected already: correct its latest correction."))
    values = {key: getattr(record, key) for key in CORRECTABLE}
    for key, value in fields.items():
        if key not in CORRECTABLE:
            raise ValidationError(_l("Unknown field."))
        values[key] = value
    values["notes"] = _notes(values["notes"])
    _validate(
        values["started_dt"],
        values["ended_dt"],
        (values["prep_minutes"], values["run_minutes"], values["post_minutes"]),
        values["samples"],
    )
    changes = {
        key: [str(getattr(record, key)), str(value)]
        for key, value in values.items()
        if getattr(record, key) != value
    }
    if not changes:
        raise ValidationError(_l("The correction changes nothing."))
    correction = UsageRecord(
        unit_id=record.unit_id,
        booking_id=record.booking_id,
        user_org_id=record.user_org_id,
        user_id=record.user_id,
        recorded_by_id=actor.id,
        source=UsageSource.LAB_STAFF,
        corrects_id=record.id,
        correction_reason=reason,
        lab_id=record.lab_id,
        **values,
    )
    try:
        with db.session.begin_nested():  # two corrections at once: the second is refused
            db.session.add(correction)
            db.session.flush()
    except sa.exc.IntegrityError as exc:
        raise Conflict(
            _l("This record has been corrected already: correct its latest correction.")
        ) from exc
    audit.record(
        actor,
        "usage.corrected",
        correction,
        organisation=record.unit.listing.lab_id,
        corrects=record.id,
        reason=reason,
        changes=changes,
    )
    chain.seal(correction)
    return correction


CSV_COLUMNS = [
    "unit_id",
    "started",
    "ended",
    "prep_minutes",
    "run_minutes",
    "post_minutes",
    "samples",
    "service_way",
    "notes",
]


# What one import may hold: the rows are checked, inserted and audited in one request, so
# a file stays within what a request does in a few seconds (bench/usage_import.py).
MAX_IMPORT_ROWS = 20_000
MAX_IMPORT_BYTES = 4 * 1024 * 1024  # about 200 bytes a row at the row limit


def _read_rows(reader: csv.DictReader) -> list[dict]:
    """The rows of the file, refused as a whole when there are more than the limit."""
    try:
        rows = list(itertools.islice(reader, MAX_IMPORT_ROWS + 1))
    except csv.Error as exc:
        raise ValidationError(
            _l(
                "The CSV file cannot be read near line %(n)s: check its quotes and separators.",
                n=reader.line_num,
            )
        ) from exc
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationError(
            _l(
                "The CSV file has more than %(max)s rows: import at most %(max)s rows at a "
                "time (split the file). Nothing was imported.",
                max=format_number(MAX_IMPORT_ROWS),
            )
        )
    return rows


def _insert_records(rows: list[dict]) -> list[tuple[int, int, int]]:
    """Insert the records; (id, unit id, effective minutes) of each, by id.

    On PostgreSQL the ids are drawn from the table's sequence first and the rows sent as
    one prepared INSERT in a pipeline: a multi-row INSERT … RETURNING of thousands of rows
    spends most of its time in the driver splitting the statement's placeholders. SQLite
    returns the ids of one multi-row INSERT per batch."""
    if db.session.get_bind().dialect.name == "postgresql":
        ids = db.session.scalars(
            sa.text(
                "SELECT nextval(pg_get_serial_sequence('usage_record', 'id')) "
                "FROM generate_series(1, :n)"
            ),
            {"n": len(rows)},
        ).all()
        for record_id, row in zip(ids, rows, strict=True):
            row["id"] = record_id
        db.session.execute(sa.insert(UsageRecord.__table__), rows)
        inserted = [
            (
                row["id"],
                row["unit_id"],
                row["prep_minutes"] + row["run_minutes"] + row["post_minutes"],
            )
            for row in rows
        ]
    else:
        # RETURNING without asking for the rows' order keeps one statement per batch.
        inserted = db.session.execute(
            sa.insert(UsageRecord).returning(
                UsageRecord.id,
                UsageRecord.unit_id,
                UsageRecord.prep_minutes + UsageRecord.run_minutes + UsageRecord.post_minutes,
            ),
            rows,
        ).all()
    return sorted(inserted)


def import_csv(actor: User, lab: Organisation, text: str, zone) -> list[int]:
    """Internal use from a CSV file; every row is checked first, and one bad row imports
    nothing (the message names the row). The same checks as `log_usage`, but the lab's
    units are read once and the records and their audit entries go in as batches, so the
    number of statements does not grow with the rows. Returns the new records' ids."""
    if not actor.can_manage(lab):
        raise PermissionDenied(_l("Only managers of this laboratory record usage."))
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = set(CSV_COLUMNS[:6]) - set(reader.fieldnames or [])
    if missing:
        raise ValidationError(
            _l("The CSV file lacks the columns: %(cols)s.", cols=", ".join(sorted(missing)))
        )
    lines = _read_rows(reader)
    units = set(
        db.session.scalars(sa.select(Unit.id).join(Unit.listing).where(Listing.lab_id == lab.id))
    )
    now = utcnow()
    rows = []
    for number, row in enumerate(lines, start=2):
        try:
            unit_id = int(row["unit_id"])
            if unit_id not in units:
                raise ValueError("unit")
            started = datetime.fromisoformat(row["started"].strip()).replace(tzinfo=zone)
            ended = datetime.fromisoformat(row["ended"].strip()).replace(tzinfo=zone)
            values = [
                int(row.get(k) or 0)
                for k in ("prep_minutes", "run_minutes", "post_minutes", "samples")
            ]
            way = ServiceWay(row.get("service_way") or "on_site")
            _validate(started, ended, tuple(values[:3]), values[3], now=now)
            notes = _notes(row.get("notes") or "")
        except ValidationError as exc:
            raise ValidationError(
                _l("Row %(n)s of the CSV file: %(reason)s", n=number, reason=exc.message)
            ) from exc
        except (ValueError, TypeError, KeyError) as exc:
            raise ValidationError(
                _l(
                    "Row %(n)s of the CSV file is not valid: check the unit, "
                    "the times (YYYY-MM-DD HH:MM) and the minutes.",
                    n=number,
                )
            ) from exc
        rows.append(
            dict(
                unit_id=unit_id,
                user_org_id=lab.id,
                user_id=None,
                started_dt=started,
                ended_dt=ended,
                prep_minutes=values[0],
                run_minutes=values[1],
                post_minutes=values[2],
                samples=values[3],
                service_way=way,
                notes=notes,
                recorded_by_id=actor.id,
                created_dt=now,
                updated_dt=now,
                source=UsageSource.CSV_IMPORT,
                lab_id=lab.id,
            )
        )
    if not rows:
        raise ValidationError(_l("The CSV file has no rows."))
    inserted = _insert_records(rows)
    audit.record_many(
        actor,
        "usage.logged",
        UsageRecord.__tablename__,
        [
            (rid, lab.id, {"unit": unit_id, "effective": minutes})
            for rid, unit_id, minutes in inserted
        ],
    )
    db.session.flush()
    ids = [record_id for record_id, _unit, _minutes in inserted]
    chain.seal_ids(ids)
    return ids
