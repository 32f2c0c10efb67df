"""Pages for weekly series, the waitlist, proposed moves and external calendars."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.accounts.session import current_org
from sharehub.booking import moves, series, waitlist
from sharehub.booking.blueprint import bp
from sharehub.booking.forms import ExternalCalendarForm, MoveForm, SeriesForm, SlotForm
from sharehub.booking.views.bookings import _booking
from sharehub.calendar import imports
from sharehub.calendar.models import ExternalCalendar
from sharehub.catalog.models import Unit
from sharehub.catalog.queries import get_listing
from sharehub.core import audit
from sharehub.core.actions import page, perform, refused
from sharehub.core.errors import PermissionDenied
from sharehub.core.forms import ConfirmForm, refuse_form
from sharehub.core.tx import commit
from sharehub.core.uploads import read_upload
from sharehub.extensions import db


def _checked():
    if not ConfirmForm().validate_on_submit():
        abort(400)


@bp.route("/catalog/<int:listing_id>/book/series", methods=["POST"])
@login_required
def book_series(listing_id: int):
    listing = get_listing(listing_id, current_user)
    org = current_org()
    form = SeriesForm()
    calendar = page("booking.calendar", listing_id=listing.id)
    if not form.validate_on_submit():
        return refuse_form(form, calendar)
    if org is None:
        return refused(PermissionDenied(_("You need an organisation to book.")), again=calendar)
    return perform(
        lambda: series.book_weekly(
            current_user, org, listing, form.booking_request(), form.weeks.data
        ),
        done=lambda occurrences: render_template(
            "booking/series.html", listing=listing, occurrences=occurrences
        ),
        again=calendar,
    )


@bp.route("/catalog/<int:listing_id>/waitlist", methods=["POST"])
@login_required
def join_waitlist(listing_id: int):
    listing = get_listing(listing_id, current_user)
    org = current_org()
    form = SlotForm()
    if not form.validate_on_submit() or org is None:
        abort(400)
    start = form.start.data
    return perform(
        lambda: waitlist.join_waitlist(
            current_user, org, listing, start, start + timedelta(minutes=form.minutes.data)
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
    form = MoveForm() if action == "propose" else ConfirmForm()
    again = page("booking.booking_page", booking_id=booking.id)
    if not form.validate_on_submit():
        return refuse_form(form, again)

    def change():
        if action == "propose":
            start = form.start.data
            minutes = form.minutes.data or booking.minutes
            moves.propose_move(current_user, booking, start, start + timedelta(minutes=minutes))
        elif action == "accept_offer":
            waitlist.accept_offer(current_user, booking)
        else:
            moves.answer_proposal(current_user, booking, accept=action == "accept_proposal")

    return perform(
        change,
        done=url_for("booking.booking_page", booking_id=booking.id),
        success=_("The booking has been updated."),
        again=again,
    )


@bp.route("/lab/calendars", methods=["POST"])
@login_required
def add_external_calendar():
    form = ExternalCalendarForm()
    unit = db.session.get(Unit, form.unit_id.data) if form.unit_id.data else None
    if unit is None or not current_user.can_manage(unit.listing.lab):
        abort(404)
    if not form.validate_on_submit():
        abort(400)
    upload = request.files.get("file")

    def add():
        data = read_upload(upload, imports.MAX_ICS_BYTES)[0] if upload and upload.filename else None
        return imports.add_calendar(
            current_user, unit, name=form.name.data, url=form.url.data, data=data
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
