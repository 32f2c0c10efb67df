"""Kiosks and devices: the lab issues them per unit (the token is shown once); the kiosk
page beside a unit starts and ends sessions from the booking user's QR code or PIN; the
booking page shows the user their code."""

from __future__ import annotations

import segno
from flask import abort, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from sharehub.booking import capture
from sharehub.booking.blueprint import bp
from sharehub.booking.forms import DeviceForm, KioskScanForm, KioskTokenForm
from sharehub.booking.models import (
    DEVICE_KIND_LABELS,
    Booking,
    BookingStatus,
    CaptureDevice,
    DeviceKind,
)
from sharehub.booking.views.lab import _lab_units, _my_lab
from sharehub.catalog.models import Unit
from sharehub.core.actions import perform, refused
from sharehub.core.errors import DomainError, ValidationError
from sharehub.core.forms import ConfirmForm
from sharehub.core.tx import commit
from sharehub.extensions import db, limiter

KIOSK_SESSION_KEY = "kiosk_tokens"

# --- the lab's devices ---------------------------------------------------------------------


def _devices_page(lab, token: str | None = None, device=None, status: int = 200):
    return render_template(
        "booking/devices.html",
        lab=lab,
        units=_lab_units(lab),
        devices=capture.lab_devices(lab.id),
        kinds=DEVICE_KIND_LABELS,
        token=token,
        issued=device,
        confirm_form=ConfirmForm(),
    ), status


@bp.route("/lab/devices", methods=["GET", "POST"])
@login_required
def lab_devices():
    lab = _my_lab()
    form = DeviceForm()
    if not form.is_submitted():
        return _devices_page(lab)
    if not form.validate_on_submit():
        flash(_("Choose one of your units and name the device."), "danger")
        return _devices_page(lab, status=400)
    unit = db.session.get(Unit, form.unit_id.data)
    if unit is None or unit.listing.lab_id != lab.id:
        flash(_("Choose one of your units."), "danger")
        return _devices_page(lab, status=400)
    try:
        kind = DeviceKind(form.kind.data)
    except ValueError:
        flash(_("Choose a kiosk or a device."), "danger")
        return _devices_page(lab, status=400)
    try:
        device, token = capture.issue_device(current_user, unit, kind, form.name.data)
    except DomainError as exc:
        return refused(exc, lambda: _devices_page(lab))
    commit()
    # The token is shown this once, on this answer; only its hash is kept.
    return _devices_page(lab, token=token, device=device)


@bp.route("/lab/devices/<int:device_id>/revoke", methods=["POST"])
@login_required
def revoke_device(device_id: int):
    lab = _my_lab()
    device = db.session.get(CaptureDevice, device_id)
    if device is None or device.unit.listing.lab_id != lab.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return perform(
        lambda: capture.revoke_device(current_user, device),
        done=url_for("booking.lab_devices"),
        success=_("The device's token no longer works."),
    )


# --- the kiosk page --------------------------------------------------------------------------


def _kiosk_device(unit_id: int) -> CaptureDevice | None:
    plain = (session.get(KIOSK_SESSION_KEY) or {}).get(str(unit_id))
    device = capture.authenticate(plain, DeviceKind.KIOSK)
    if device is None or device.unit_id != unit_id:
        return None
    return device


def _kiosk_page(unit: Unit, device, result=None, status: int = 200):
    return render_template(
        "booking/kiosk.html",
        unit=unit,
        device=device,
        result=result,
        token_form=KioskTokenForm(),
        scan_form=KioskScanForm(),
    ), status


def _unit(unit_id: int) -> Unit:
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        abort(404)
    return unit


@bp.route("/kiosk/<int:unit_id>")
def kiosk(unit_id: int):
    unit = _unit(unit_id)
    return _kiosk_page(unit, _kiosk_device(unit_id))


@bp.route("/kiosk/<int:unit_id>/open", methods=["POST"])
@limiter.limit("10 per minute")
def kiosk_open(unit_id: int):
    """The lab opens the kiosk with the unit's kiosk token, kept in this browser's session."""
    unit = _unit(unit_id)
    form = KioskTokenForm()
    if not form.validate_on_submit():
        abort(400)
    plain = (form.token.data or "").strip()
    device = capture.authenticate(plain, DeviceKind.KIOSK)
    if device is None or device.unit_id != unit.id:
        flash(_("This token is not a kiosk token of this unit, or it has been revoked."), "danger")
        return _kiosk_page(unit, None, status=403)
    tokens = dict(session.get(KIOSK_SESSION_KEY) or {})
    tokens[str(unit.id)] = plain
    session[KIOSK_SESSION_KEY] = tokens
    session.permanent = True
    commit()
    return redirect(url_for("booking.kiosk", unit_id=unit.id))


@bp.route("/kiosk/<int:unit_id>/scan", methods=["POST"])
@limiter.limit("20 per minute")
def kiosk_scan(unit_id: int):
    """A user's QR code (read by the kiosk's scanner or camera) or PIN: start or end."""
    unit = _unit(unit_id)
    device = _kiosk_device(unit_id)
    if device is None:
        flash(_("Open this kiosk with its device token first."), "danger")
        return _kiosk_page(unit, None, status=403)
    form = KioskScanForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if not (form.code.data or "").strip() and not (form.pin.data or "").strip():
            raise ValidationError(_("Scan the QR code on your booking page, or enter its PIN."))
        result = capture.kiosk_scan(device, code=form.code.data or "", pin=form.pin.data or "")
    except DomainError as exc:
        return refused(exc, lambda: _kiosk_page(unit, device))
    commit()
    return _kiosk_page(unit, device, result=result)


# --- the user's code on the booking page ----------------------------------------------------


def kiosk_qr(booking, user) -> dict | None:
    """The user's QR code (SVG) and PIN for the kiosk, while the booking can be started or
    ended; None for anyone but the booking's user."""
    if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.IN_PROGRESS):
        return None
    if not booking.is_customer(user) or booking.customer_user_id != user.id:
        return None
    code = capture.booking_code(user, booking)
    svg = segno.make(code, error="m").svg_inline(scale=5, border=2, dark="#000", light="#fff")
    return {
        "code": code,
        "qr": Markup(svg),  # noqa: S704  (segno's own SVG of a signed code)
        "pin": capture.booking_pin(user, booking),
        "minutes": capture.CODE_SECONDS // 60,
    }


@bp.route("/bookings/<int:booking_id>/kiosk-code")
@login_required
def kiosk_code(booking_id: int):
    """The code alone, large, renewed every few minutes: for holding the phone up."""
    booking = db.session.get(Booking, booking_id)
    shown = kiosk_qr(booking, current_user) if booking is not None else None
    if shown is None:
        abort(404)
    return render_template("booking/kiosk_code.html", booking=booking, kiosk=shown)
