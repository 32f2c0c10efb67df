"""Usage captured at the instrument: kiosks beside a unit and devices (instrument PCs,
power meters) of a unit, each with its own token.

Kiosk. The booking's user shows a QR code on their booking page (or reads out a PIN); the
kiosk reads it and the platform checks the booking in, or out when it is in progress,
through the booking's own check-in/check-out. The code is signed, names the booking, the
user and the unit, and lives a few minutes; the PIN is derived from the same secret over a
five-minute step, so a kiosk finds the booking by trying the unit's bookings of the hour.

Devices post start and stop events with an event id and a session id. The same event id
again is answered as before (idempotent); a start and a stop of one session pair into a
usage record whichever arrives first (a stop that comes before its start is kept and
waits); a stop earlier than its session's start, or more than a month after it, is
refused (409, a conflict with the stored event).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from sharehub.accounts.models import User
from sharehub.booking import chain, usage
from sharehub.booking.models import (
    Booking,
    BookingStatus,
    CaptureDevice,
    DeviceEvent,
    DeviceKind,
    UsageRecord,
    UsageSource,
)
from sharehub.catalog.models import Unit
from sharehub.competence.services import check_operator
from sharehub.core import audit
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.inputs import check_length
from sharehub.extensions import db

TOKEN_PREFIX = "shd_"
CODE_PREFIX = "SHK1."
CODE_SECONDS = 300  # a QR code lives five minutes (the booking page renews it)
PIN_STEP = 300  # seconds one PIN is valid for (and the one before it)


def hash_token(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8", "surrogatepass")).hexdigest()


# --- devices and their tokens ----------------------------------------------------------------


def issue_device(actor: User, unit: Unit, kind: DeviceKind, name: str) -> tuple[CaptureDevice, str]:
    """A kiosk or device of `unit` and its token, shown this once (only its hash is kept)."""
    if not actor.can_manage(unit.listing.lab):
        raise PermissionDenied(_l("Only managers of this laboratory manage its devices."))
    name = check_length((name or "").strip(), 100, _l("The name"), "name")
    if not name:
        raise ValidationError(_l("Name the device."), field="name")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    device = CaptureDevice(
        unit_id=unit.id,
        kind=kind,
        name=name,
        prefix=plain[:10],
        token_hash=hash_token(plain),
        created_by_id=actor.id,
    )
    db.session.add(device)
    db.session.flush()
    audit.record(actor, "device.issued", device, organisation=unit.listing.lab_id, unit=unit.id)
    db.session.flush()
    return device, plain


def revoke_device(actor: User, device: CaptureDevice) -> None:
    if not actor.can_manage(device.unit.listing.lab):
        raise PermissionDenied(_l("Only managers of this laboratory manage its devices."))
    if device.revoked_dt is None:
        device.revoked_dt = utcnow()
        audit.record(actor, "device.revoked", device, organisation=device.unit.listing.lab_id)
    db.session.flush()


def authenticate(plain: str | None, kind: DeviceKind | None = None) -> CaptureDevice | None:
    """The usable device with this token (of this kind), or None."""
    if not plain or not plain.startswith(TOKEN_PREFIX) or len(plain) > 100:
        return None
    device = db.session.scalar(
        sa.select(CaptureDevice).where(CaptureDevice.token_hash == hash_token(plain))
    )
    if device is None or not device.is_usable or (kind is not None and device.kind != kind):
        return None
    now = utcnow()
    if device.last_used_dt is None or (now - device.last_used_dt).total_seconds() > 60:
        device.last_used_dt = now
    return device


# --- the user's code: QR and PIN -------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="sharehub.kiosk")


def booking_code(user: User, booking: Booking) -> str:
    """The signed code the booking page shows as a QR code."""
    if not booking.is_customer(user):
        raise PermissionDenied(_l("Only the booking's customer shows its code."))
    return CODE_PREFIX + _serializer().dumps([booking.id, user.id, booking.unit_id])


def _pin(booking_id: int, user_id: int, step: int) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(key, f"pin:{booking_id}:{user_id}:{step}".encode(), hashlib.sha256)
    return f"{int.from_bytes(mac.digest()[:8], 'big') % 1_000_000:06d}"


def booking_pin(user: User, booking: Booking, now: datetime | None = None) -> str:
    """The six-digit PIN for the kiosk, when the user cannot show the QR code."""
    if not booking.is_customer(user):
        raise PermissionDenied(_l("Only the booking's customer shows its code."))
    step = int((now or utcnow()).timestamp()) // PIN_STEP
    return _pin(booking.id, user.id, step)


@dataclass(frozen=True)
class KioskResult:
    action: str  # "check_in" | "check_out"
    booking: Booking
    user: User
    record: UsageRecord


def _from_code(code: str, now: datetime) -> tuple[int, int, int]:
    code = (code or "").strip()
    if not code.startswith(CODE_PREFIX) or len(code) > 500:
        raise ValidationError(_l("This is not a ShareHub booking code."), field="code")
    try:
        booking_id, user_id, unit_id = _serializer().loads(
            code[len(CODE_PREFIX) :], max_age=CODE_SECONDS
        )
    except SignatureExpired as exc:
        raise ValidationError(
            _l("This code has expired: open the booking page again to show a new one."),
            field="code",
        ) from exc
    except (BadSignature, ValueError, TypeError) as exc:
        raise ValidationError(_l("This is not a ShareHub booking code."), field="code") from exc
    return int(booking_id), int(user_id), int(unit_id)


def _from_pin(device: CaptureDevice, pin: str, now: datetime) -> tuple[int, int, int]:
    pin = (pin or "").strip()
    if not (len(pin) == 6 and pin.isdigit()):
        raise ValidationError(_l("Enter the six digits of the PIN."), field="pin")
    margin = usage._check_in_margin()
    candidates = db.session.execute(
        sa.select(Booking.id, Booking.customer_user_id).where(
            Booking.unit_id == device.unit_id,
            Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.IN_PROGRESS)),
            Booking.starts_dt <= now + margin,
            Booking.ends_dt >= now - margin,
        )
    ).all()
    step = int(now.timestamp()) // PIN_STEP
    for booking_id, user_id in candidates:
        if user_id is None:
            continue
        for s in (step, step - 1):
            if hmac.compare_digest(_pin(booking_id, user_id, s), pin):
                return booking_id, user_id, device.unit_id
    raise ValidationError(
        _l("This PIN matches no booking of this unit now: check it on your booking page."),
        field="pin",
    )


def kiosk_scan(
    device: CaptureDevice, *, code: str = "", pin: str = "", now: datetime | None = None
) -> KioskResult:
    """The kiosk read a user's code (or PIN): check the booking in, or out when it is in
    progress. Refused with a reason: another unit's code, another user's code, an expired
    code, a booking outside its check-in window, a booking in another state."""
    if device.kind != DeviceKind.KIOSK or not device.is_usable:
        raise PermissionDenied(_l("This device is not a kiosk of this unit."))
    now = now or utcnow()
    booking_id, user_id, unit_id = (
        _from_code(code, now) if code.strip() else _from_pin(device, pin, now)
    )
    if unit_id != device.unit_id:
        raise ValidationError(
            _l("This booking is for another unit: use the kiosk of that unit."), field="code"
        )
    booking = db.session.get(Booking, booking_id)
    user = db.session.get(User, user_id)
    if booking is None or user is None or booking.unit_id != device.unit_id:
        raise ValidationError(_l("This booking is for another unit."), field="code")
    if booking.customer_user_id != user.id or not booking.is_customer(user):
        raise PermissionDenied(_l("This code belongs to someone who is not this booking's user."))
    margin = usage._check_in_margin()
    if booking.status == BookingStatus.CONFIRMED:
        if not (booking.starts_dt - margin <= now < booking.ends_dt):
            raise ValidationError(
                _l(
                    "This booking can be started from %(n)s minutes before its start until "
                    "its end, not now.",
                    n=int(margin.total_seconds() // 60),
                ),
                field="code",
            )
        if not booking.assisted:
            # Self-operation needs an authorisation valid now: one revoked (or a listing
            # turned staff-only) since the booking stops the session at the instrument.
            check_operator(user, booking.listing, now, assisted=False)
        record = usage.check_in(None, booking, now=now, device=device, entered_by=user)
        return KioskResult("check_in", booking, user, record)
    if booking.status == BookingStatus.IN_PROGRESS:
        record = usage.check_out(None, booking, now=now, device=device)
        return KioskResult("check_out", booking, user, record)
    raise Conflict(
        _l("This booking is %(status)s: nothing to start or end.", status=booking.status_label)
    )


# --- device events ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EventResult:
    event: DeviceEvent
    duplicate: bool
    record: UsageRecord | None


def _paired_record(device: CaptureDevice, start: DeviceEvent, stop: DeviceEvent) -> UsageRecord:
    """The usage record of a session: served for the customer of the booking the start
    lies in, else internal use of the lab."""
    unit = device.unit
    booking = db.session.scalar(
        sa.select(Booking).where(
            Booking.unit_id == unit.id,
            Booking.status.in_(
                (BookingStatus.IN_PROGRESS, BookingStatus.COMPLETED, BookingStatus.CONFIRMED)
            ),
            Booking.starts_dt <= start.at_dt,
            Booking.ends_dt > start.at_dt,
        )
    )
    minutes = int((stop.at_dt - start.at_dt).total_seconds() // 60)
    usage._validate(start.at_dt, stop.at_dt, (0, minutes, 0), 0)
    record = UsageRecord(
        unit_id=unit.id,
        user_org_id=booking.customer_org_id if booking is not None else unit.listing.lab_id,
        user_id=booking.customer_user_id if booking is not None else None,
        started_dt=start.at_dt,
        ended_dt=stop.at_dt,
        run_minutes=minutes,
        source=UsageSource.DEVICE,
        device_id=device.id,
        lab_id=unit.listing.lab_id,
        notes=f"session {start.session}",
    )
    db.session.add(record)
    db.session.flush()
    audit.record(
        None,
        "usage.captured",
        record,
        organisation=unit.listing.lab_id,
        device=device.id,
        effective=record.effective_minutes,
    )
    chain.seal(record)
    start.usage_record_id = stop.usage_record_id = record.id
    return record


def post_event(
    device: CaptureDevice,
    *,
    event_id: str,
    session: str,
    kind: str,
    at: datetime,
    unit_id: int | None = None,
    now: datetime | None = None,
) -> EventResult:
    """Store one start/stop event of `device` and pair it with its session's other event."""
    if device.kind != DeviceKind.METER or not device.is_usable:
        raise PermissionDenied(_l("This token posts no device events."))
    if unit_id is not None and unit_id != device.unit_id:
        raise PermissionDenied(_l("This device posts events of its own unit only."))
    if kind not in ("start", "stop"):
        raise ValidationError(_l("An event is a start or a stop."), field="kind")
    now = now or utcnow()
    if at > now + usage.CLOCK_SKEW:
        raise ValidationError(_l("The event's time cannot be in the future."), field="at")
    seen = db.session.scalar(
        sa.select(DeviceEvent).where(
            DeviceEvent.device_id == device.id, DeviceEvent.event_id == event_id
        )
    )
    if seen is not None:
        if (seen.session, seen.kind, seen.at_dt) != (session, kind, at):
            raise Conflict(_l("This event id was sent before with other content."))
        record = db.session.get(UsageRecord, seen.usage_record_id) if seen.usage_record_id else None
        return EventResult(seen, True, record)
    other_kind = "stop" if kind == "start" else "start"
    same = db.session.scalar(
        sa.select(DeviceEvent).where(
            DeviceEvent.device_id == device.id,
            DeviceEvent.session == session,
            DeviceEvent.kind == kind,
        )
    )
    if same is not None:
        raise Conflict(
            _l(
                "This session already has a %(kind)s event (id %(id)s).",
                kind=kind,
                id=same.event_id,
            )
        )
    other = db.session.scalar(
        sa.select(DeviceEvent).where(
            DeviceEvent.device_id == device.id,
            DeviceEvent.session == session,
            DeviceEvent.kind == other_kind,
        )
    )
    if other is not None:
        start_at, stop_at = (at, other.at_dt) if kind == "start" else (other.at_dt, at)
        # The other event is stored: a pair that cannot be is a conflict with it (409).
        if stop_at < start_at:
            raise Conflict(
                _l("The session's stop lies before its start: check the device's clock.")
            )
        if (stop_at - start_at).total_seconds() > usage.MAX_MINUTES * 60:
            raise Conflict(
                _l("The session's start and stop lie more than a month apart: check them.")
            )
    event = DeviceEvent(
        device_id=device.id, event_id=event_id, session=session, kind=kind, at_dt=at
    )
    try:
        with db.session.begin_nested():  # the same event posted twice at once
            db.session.add(event)
            db.session.flush()
    except sa.exc.IntegrityError as exc:
        raise Conflict(_l("This event was posted at the same moment; send it again.")) from exc
    record = None
    if other is not None:
        start, stop = (event, other) if kind == "start" else (other, event)
        record = _paired_record(device, start, stop)
    db.session.flush()
    return EventResult(event, False, record)


def open_sessions(device: CaptureDevice) -> list[DeviceEvent]:
    """Events still waiting for their pair."""
    return list(
        db.session.scalars(
            sa.select(DeviceEvent)
            .where(DeviceEvent.device_id == device.id, DeviceEvent.usage_record_id.is_(None))
            .order_by(DeviceEvent.at_dt)
        )
    )


def lab_devices(lab_id: int) -> list[CaptureDevice]:
    from sharehub.catalog.models import Listing

    return list(
        db.session.scalars(
            sa.select(CaptureDevice)
            .join(Unit, Unit.id == CaptureDevice.unit_id)
            .join(Listing, Listing.id == Unit.listing_id)
            .where(Listing.lab_id == lab_id)
            .order_by(CaptureDevice.id)
        )
    )


KIOSK_SESSION_DAYS = timedelta(days=365)
