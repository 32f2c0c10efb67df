"""What customers see of a unit's certificates: its status and the metadata on the listing
page, a warning when booking a flagged unit, and the PDF once they have booked it."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.booking.models import Booking, BookingStatus
from sharehub.calibration import queries
from sharehub.calibration.blueprint import bp
from sharehub.calibration.models import Certificate
from sharehub.core.errors import PermissionDenied
from sharehub.core.uploads import send_stored
from sharehub.extensions import db

# A booking that was never accepted or never happened gives no right to the certificates.
_NO_RIGHT = (BookingStatus.DECLINED, BookingStatus.EXPIRED)


def has_booked(user, listing_id: int) -> bool:
    """Has one of the user's organisations a booking on the listing?"""
    org_ids = [m.organisation_id for m in user.memberships]
    if not org_ids:
        return False
    return (
        db.session.scalar(
            sa.select(Booking.id)
            .where(
                Booking.listing_id == listing_id,
                Booking.customer_org_id.in_(org_ids),
                Booking.status.not_in(_NO_RIGHT),
            )
            .limit(1)
        )
        is not None
    )


def may_download(user, certificate: Certificate) -> bool:
    """The lab's own people, platform administrators, and customers who booked the listing."""
    if not user.is_authenticated:
        return False
    listing = certificate.unit.listing
    return (
        user.membership_in(listing.lab_id) is not None
        or user.is_platform_admin
        or has_booked(user, listing.id)
    )


@bp.route("/certificates/<int:certificate_id>.pdf")
@login_required
def certificate_pdf(certificate_id: int):
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or not certificate.unit.listing.can_view(current_user):
        abort(404)
    if not may_download(current_user, certificate):
        raise PermissionDenied(
            _("The certificate can be downloaded once your organisation has booked this listing.")
        )
    return send_stored(certificate)


@bp.app_template_global()
def calibration_statuses(listing):
    """Each active unit of a listing with its status today (listing and lab pages)."""
    return queries.listing_statuses(listing)


@bp.app_template_global()
def calibration_may_download(listing) -> bool:
    if not current_user.is_authenticated:
        return False
    return (
        current_user.membership_in(listing.lab_id) is not None
        or current_user.is_platform_admin
        or has_booked(current_user, listing.id)
    )


@bp.app_template_global()
def calibration_warnings(listing, starts, ends, unit=None):
    """The units (or `unit`) of a flagging listing that would be unfit during a booking
    (the booking goes ahead with this warning); a blocking listing refuses instead."""
    return queries.flagged_units(listing, starts, ends, unit)


@bp.app_template_global()
def calibration_unit_status(unit):
    return queries.unit_status(unit)
