"""Bookings through the API: the same booking service as the pages, the same rules and
the same conflict answers (409 slot-taken with free alternatives).

A token acts for one organisation: it sees the bookings that organisation made, and for
a laboratory whose manager made the token, the bookings of its listings. Anything else
is answered 404, as if it did not exist.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from sharehub.api import schemas as s
from sharehub.api.auth import require
from sharehub.api.blueprint import Blueprint
from sharehub.api.idempotency import write
from sharehub.api.models import ApiToken
from sharehub.api.pagination import page_of
from sharehub.booking import services
from sharehub.booking.models import Booking
from sharehub.calibration import queries as calibration
from sharehub.catalog.models import Listing
from sharehub.core.errors import NotFound, PermissionDenied
from sharehub.extensions import db

bookings = Blueprint(
    "api_bookings",
    __name__,
    url_prefix="/api/v1",
    description="Bookings of the token's organisation (scopes bookings:read, bookings:write)",
)
BLUEPRINTS = (bookings,)
ID = "int(max=2147483647)"
TOKEN = [{"bearerAuth": []}]


def acts_as_lab(token: ApiToken) -> bool:
    return token.organisation.is_lab and token.user.can_manage(token.organisation)


def booking_for(token: ApiToken, booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or not (
        booking.customer_org_id == token.organisation_id
        or booking.listing.lab_id == token.organisation_id
        and acts_as_lab(token)
    ):
        raise NotFound(_l("No such booking."))
    return booking


@bookings.route("/bookings")
@bookings.doc(security=TOKEN)
@bookings.arguments(s.BookingQuery, location="query", as_kwargs=True)
@bookings.response(200, s.BookingPage)
def list_bookings(page: int, per_page: int, side: str, status=None):
    """The organisation's bookings, newest start first"""
    token = require("bookings:read")
    query = sa.select(Booking)
    if side == "lab":
        if not acts_as_lab(token):
            raise PermissionDenied(_l("Only a laboratory's managers list its bookings."))
        query = query.join(Booking.listing).where(Listing.lab_id == token.organisation_id)
    else:
        query = query.where(
            Booking.customer_org_id == token.organisation_id,
            Booking.assists_booking_id.is_(None),  # shown on the booking it assists
        )
    if status:
        query = query.where(Booking.status == status)
    return page_of(query.order_by(Booking.starts_dt.desc(), Booking.id.desc()), page, per_page)


@bookings.route(f"/bookings/<{ID}:booking_id>")
@bookings.doc(security=TOKEN)
@bookings.response(200, s.BookingSchema)
def get_booking(booking_id: int):
    """One booking"""
    return booking_for(require("bookings:read"), booking_id)


@bookings.route("/bookings", methods=["POST"])
@write("bookings:write")
@bookings.doc(security=TOKEN)
@bookings.arguments(s.BookingCreate)
@bookings.response(201, s.BookingCreated)
def create_booking(data: dict):
    """Book a listing for the organisation

    Confirmed at once, or pending until the laboratory approves, as the listing says.
    A taken slot answers 409 with `type` urn:sharehub:problem:slot-taken and free
    `alternatives` of the same length. A unit whose calibration certificate is overdue or
    failed at the booked time is refused with 409 when its listing blocks such units; when
    the listing only flags them, the booking is made and `warnings` holds a
    `calibration-flagged` entry.
    """
    token = require("bookings:write")
    listing = db.session.get(Listing, data["listing_id"])
    if listing is None:
        raise NotFound(_l("No such listing."), "listing_id")
    booking = services.create_booking(
        token.user,
        token.organisation,
        listing,
        services.BookingRequest(
            starts_dt=data["starts_at"],
            ends_dt=data["ends_at"],
            unit_id=data.get("unit_id"),
            purpose=data["purpose"],
            sample_description=data["sample_description"],
            sample_count=data["sample_count"],
            contact_name=data["contact_name"],
            contact_phone=data["contact_phone"],
            assisted=data["assisted"],
        ),
    )
    booking.api_warnings = _warnings(booking)  # type: ignore[attr-defined]
    return booking


def _warnings(booking: Booking) -> list[dict]:
    flagged = calibration.flagged_units(
        booking.listing, booking.starts_dt, booking.ends_dt, booking.unit
    )
    if not flagged:
        return []
    return [
        {
            "code": "calibration-flagged",
            "message": _(
                "Calibration warning: the certificate of %(units)s is overdue or failed for "
                "this time. The laboratory still takes the booking; ask it whether the "
                "results will be fit for your purpose.",
                units=", ".join(u.name for u in flagged),
            ),
            "unit_ids": [u.id for u in flagged],
        }
    ]


@bookings.route(f"/bookings/<{ID}:booking_id>/cancel", methods=["POST"])
@write("bookings:write")
@bookings.doc(security=TOKEN)
@bookings.arguments(s.BookingCancel)
@bookings.response(200, s.BookingSchema)
def cancel_booking(data: dict, booking_id: int):
    """Cancel a booking (with the listing's cancellation fee when it is late)"""
    token = require("bookings:write")
    booking = booking_for(token, booking_id)
    services.cancel(token.user, booking, data["reason"])
    return booking


@bookings.route(f"/bookings/<{ID}:booking_id>/reschedule", methods=["POST"])
@write("bookings:write")
@bookings.doc(security=TOKEN)
@bookings.arguments(s.BookingReschedule)
@bookings.response(200, s.BookingSchema)
def reschedule_booking(data: dict, booking_id: int):
    """Move a booking to another free time (the customer, within the free-move period)"""
    token = require("bookings:write")
    booking = booking_for(token, booking_id)
    if booking.customer_org_id != token.organisation_id:
        raise PermissionDenied(_l("Only the customer reschedules; the laboratory proposes."))
    services.reschedule(token.user, booking, data["starts_at"], data["ends_at"])
    return booking


def _as_lab(token: ApiToken, booking_id: int) -> Booking:
    booking = booking_for(token, booking_id)
    if booking.listing.lab_id != token.organisation_id:
        raise PermissionDenied(_l("Only the laboratory decides on a booking request."))
    return booking


@bookings.route(f"/bookings/<{ID}:booking_id>/approve", methods=["POST"])
@write("bookings:write")
@bookings.doc(security=TOKEN)
@bookings.response(200, s.BookingSchema)
def approve_booking(booking_id: int):
    """Approve a pending booking request (the laboratory's managers)"""
    token = require("bookings:write")
    booking = _as_lab(token, booking_id)
    services.approve(token.user, booking)
    return booking


@bookings.route(f"/bookings/<{ID}:booking_id>/decline", methods=["POST"])
@write("bookings:write")
@bookings.doc(security=TOKEN)
@bookings.arguments(s.BookingDecline)
@bookings.response(200, s.BookingSchema)
def decline_booking(data: dict, booking_id: int):
    """Decline a pending booking request, with the reason the customer reads"""
    token = require("bookings:write")
    booking = _as_lab(token, booking_id)
    services.decline(token.user, booking, data["reason"])
    return booking
