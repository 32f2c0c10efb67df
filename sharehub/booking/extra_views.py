"""Pages for weekly series, the waitlist, proposed moves and external calendars."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.accounts.forms import ConfirmForm
from sharehub.accounts.session import current_org
from sharehub.booking import extras
from sharehub.booking.views import (
    MAX_BOOKING_MINUTES,
    _booking,
    _parse_start,
    _request_from_form,
    bp,
)
from sharehub.calendar import imports
from sharehub.calendar.models import ExternalCalendar
from sharehub.catalog.models import Unit
from sharehub.catalog.views import get_listing
from sharehub.core import audit
from sharehub.core.actions import page, perform, refused
from sharehub.core.errors import PermissionDenied, ValidationError
from sharehub.core.inputs import parse_int
from sharehub.core.tx import commit
from sharehub.core.uploads import read_upload
from sharehub.extensions import db


def _checked():
    if not ConfirmForm().validate_on_submit():
        abort(400)


@bp.route("/catalog/<int:listing_id>/book/series", methods=["POST"])
@login_required
def book_series(listing_id: int):
    listing = get_listing(listing_id)
    org = current_org()
    _checked()
    booking_request, problem = _request_from_form(listing)
    calendar = page("booking.calendar", listing_id=listing.id)
    if org is None:
        return refused(PermissionDenied(_("You need an organisation to book.")), again=calendar)
    if booking_request is None:
        return refused(ValidationError(problem), again=calendar)
    return perform(
        lambda: extras.book_weekly(
            current_user,
            org,
            listing,
            booking_request,
            parse_int(request.form.get("weeks"), maximum=extras.MAX_WEEKS) or 0,
        ),
        done=lambda occurrences: render_template(
            "booking/series.html", listing=listing, occurrences=occurrences
        ),
        again=calendar,
    )


@bp.route("/catalog/<int:listing_id>/waitlist", methods=["POST"])
@login_required
def join_waitlist(listing_id: int):
    listing = get_listing(listing_id)
    org = current_org()
    _checked()
    start = _parse_start(request.form.get("start", ""))
    minutes = parse_int(request.form.get("minutes"), minimum=1, maximum=MAX_BOOKING_MINUTES)
    if org is None or start is None or not minutes:
        abort(400)
    return perform(
        lambda: extras.join_waitlist(
            current_user, org, listing, start, start + timedelta(minutes=minutes)
        ),
        done=url_for("catalog.listing_page", listing_id=listing.id),
        success=_(
            "You are on the waiting list; if the time frees, it is held for you and you "
            "are told at once."
        ),
        again=page("catalog.listing_page", listing_id=listing.id),
    )


@bp.route(
    "/bookings/<int:booking_id>/<any(propose, accept_proposal, refuse_proposal, "
    "accept_offer):action>",
    methods=["POST"],
)
@login_required
def booking_extra_action(booking_id: int, action: str):
    booking = _booking(booking_id)
    _checked()

    def change():
        if action == "propose":
            start = _parse_start(request.form.get("start", ""))
            if start is None:
                raise ValidationError(_("Choose a start time and a duration."))
            minutes = (
                parse_int(request.form.get("minutes"), minimum=1, maximum=MAX_BOOKING_MINUTES)
                or booking.minutes
            )
            extras.propose_move(current_user, booking, start, start + timedelta(minutes=minutes))
        elif action == "accept_offer":
            extras.accept_offer(current_user, booking)
        else:
            extras.answer_proposal(current_user, booking, accept=action == "accept_proposal")

    return perform(
        change,
        done=url_for("booking.booking_page", booking_id=booking.id),
        success=_("The booking has been updated."),
        again=page("booking.booking_page", booking_id=booking.id),
    )


@bp.route("/lab/calendars", methods=["POST"])
@login_required
def add_external_calendar():
    unit = db.session.get(Unit, request.form.get("unit_id", 0, type=int))
    if unit is None or not current_user.can_manage(unit.listing.lab):
        abort(404)
    _checked()
    upload = request.files.get("file")

    def add():
        data = read_upload(upload, imports.MAX_ICS_BYTES)[0] if upload and upload.filename else None
        return imports.add_calendar(
            current_user,
            unit,
            name=request.form.get("name", ""),
            url=request.form.get("url", "").strip(),
            data=data,
        )

    def added(calendar):
        flash(
            _("%(n)s busy times imported; they now block this unit.", n=len(calendar.busy)),
            "success",
        )
        return redirect(url_for("catalog.manage_listing", listing_id=unit.listing_id))

    return perform(
        add, done=added, again=page("catalog.manage_listing", listing_id=unit.listing_id)
    )


@bp.route("/lab/calendars/<int:calendar_id>/delete", methods=["POST"])
@login_required
def delete_external_calendar(calendar_id: int):
    calendar = db.session.get(ExternalCalendar, calendar_id)
    unit = db.session.get(Unit, calendar.unit_id) if calendar else None
    if unit is None or not current_user.can_manage(unit.listing.lab):
        abort(404)
    _checked()
    audit.record(
        current_user, "external_calendar.removed", calendar, organisation=unit.listing.lab_id
    )
    db.session.delete(calendar)
    commit()
    return redirect(url_for("catalog.manage_listing", listing_id=unit.listing_id))
