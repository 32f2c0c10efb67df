"""Calendar feeds: a secret feed per user and per lab, and a public busy-only feed."""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.accounts.forms import ConfirmForm
from sharehub.accounts.session import current_org
from sharehub.booking.models import Booking, BookingStatus
from sharehub.calendar.ics import busy_feed as busy_calendar
from sharehub.calendar.ics import feed
from sharehub.calendar.models import CalendarFeed
from sharehub.catalog.models import Listing
from sharehub.catalog.views import get_listing
from sharehub.core import audit
from sharehub.core.actions import perform, refused
from sharehub.core.db import utcnow
from sharehub.core.errors import PermissionDenied
from sharehub.extensions import csrf, db

bp = Blueprint("calendar", __name__)
FEED_PAST = timedelta(days=90)
SHOWN = (
    BookingStatus.PENDING,
    BookingStatus.CONFIRMED,
    BookingStatus.IN_PROGRESS,
    BookingStatus.COMPLETED,
)


def _ics(body: bytes) -> Response:
    return Response(
        body, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=300"}
    )


@bp.route("/calendar/feed/<token>.ics")
@csrf.exempt
def private_feed(token: str):
    entry = db.session.scalar(
        sa.select(CalendarFeed).where(
            CalendarFeed.token == token, CalendarFeed.revoked_dt.is_(None)
        )
    )
    if entry is None:
        abort(404)
    query = sa.select(Booking).where(
        Booking.status.in_(SHOWN), Booking.ends_dt > utcnow() - FEED_PAST
    )
    if entry.organisation_id is not None:
        query = query.join(Booking.listing).where(Listing.lab_id == entry.organisation_id)
        name = "ShareHub"
    else:
        query = query.where(Booking.customer_user_id == entry.user_id)
        name = "ShareHub"
    return _ics(feed(db.session.scalars(query.order_by(Booking.starts_dt)), name))


@bp.route("/catalog/<int:listing_id>/busy.ics")
def busy_feed(listing_id: int):
    listing = get_listing(listing_id)
    bookings = db.session.scalars(
        sa.select(Booking)
        .where(
            Booking.listing_id == listing.id,
            Booking.status.in_(
                (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.IN_PROGRESS)
            ),
            Booking.ends_dt > utcnow(),
        )
        .order_by(Booking.starts_dt)
    )
    return _ics(busy_calendar(bookings))


def _feed_for(user_id=None, org_id=None) -> CalendarFeed | None:
    return db.session.scalar(
        sa.select(CalendarFeed).where(
            CalendarFeed.user_id == user_id if user_id else CalendarFeed.organisation_id == org_id,
            CalendarFeed.revoked_dt.is_(None),
        )
    )


@bp.route("/account/calendar", methods=["GET", "POST"])
@login_required
def manage_feeds():
    org = current_org()
    lab = org if org is not None and org.is_lab and current_user.can_manage(org) else None

    def feeds_page():
        return render_template(
            "calendar/feeds.html",
            user_feed=_feed_for(user_id=current_user.id),
            lab_feed=_feed_for(org_id=lab.id) if lab else None,
            lab=lab,
            confirm_form=ConfirmForm(),
        )

    if request.method == "GET":
        return feeds_page()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    scope = request.form.get("scope")
    if scope not in ("user", "lab"):
        abort(400)
    if scope == "lab" and lab is None:
        return refused(
            PermissionDenied(_("Only managers of a laboratory change its calendar link.")),
            again=feeds_page,
        )

    def change():
        kwargs = {"organisation_id": lab.id} if scope == "lab" else {"user_id": current_user.id}
        old = _feed_for(org_id=lab.id) if scope == "lab" else _feed_for(user_id=current_user.id)
        if old is not None:
            old.revoked_dt = utcnow()
        if request.form.get("action") != "revoke":
            db.session.add(CalendarFeed(token=secrets.token_urlsafe(24), **kwargs))
        audit.record(
            current_user,
            f"calendar_feed.{request.form.get('action', 'create')}",
            None,
            object_type="calendar_feed",
            scope=scope,
        )

    return perform(
        change,
        done=url_for("calendar.manage_feeds"),
        success=_("The calendar link has been updated; the old one no longer works."),
    )
