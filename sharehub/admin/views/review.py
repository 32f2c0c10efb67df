"""The administrator's review queue for listings and their changes, and the holiday calendar."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from sharehub.accounts.session import admin_required
from sharehub.admin.blueprint import bp
from sharehub.admin.forms import ReasonForm
from sharehub.catalog import services
from sharehub.catalog.models import Holiday, Listing, ListingRevision, ListingStatus
from sharehub.core import audit
from sharehub.core.actions import perform
from sharehub.core.clock import local_today
from sharehub.core.errors import ValidationError
from sharehub.core.forms import ConfirmForm
from sharehub.core.tx import commit
from sharehub.extensions import db
from sharehub.testing import queries as testing_queries
from sharehub.testing import services as testing_services
from sharehub.testing.models import TestingService


@bp.route("/reviews")
@admin_required
def reviews():
    listings = db.session.scalars(
        sa.select(Listing)
        .where(Listing.status == ListingStatus.PENDING)
        .options(so.joinedload(Listing.lab))
        .order_by(Listing.updated_dt)
    ).all()
    revisions = db.session.scalars(
        sa.select(ListingRevision)
        .where(ListingRevision.status == "pending")
        .options(so.joinedload(ListingRevision.listing).joinedload(Listing.lab))
        .order_by(ListingRevision.created_dt)
    ).all()
    return render_template(
        "admin/reviews.html",
        listings=listings,
        revisions=revisions,
        testing_services=testing_queries.pending_services(),
    )


def _decide(decide, messages, again):
    """Apply the administrator's decision from the posted form, `decide(approve, reason)`,
    and go back to the queue; a refusal shows the review page again (`again()`) with
    its status. A rejection needs its reason."""
    approve = request.form.get("decision") == "approve"
    form = ReasonForm()
    valid = ConfirmForm().validate_on_submit() if approve else form.validate_on_submit()

    def work():
        if not valid:
            raise ValidationError(_("Give the reason for the rejection."))
        decide(approve, "" if approve else form.reason.data)

    return perform(
        work,
        done=url_for("admin.reviews"),
        success=messages[0] if approve else messages[1],
        again=again,
    )


@bp.route("/reviews/listings/<int:listing_id>", methods=["GET", "POST"])
@admin_required
def review_listing(listing_id: int):
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        abort(404)

    def again():
        return render_template(
            "admin/review_listing.html",
            listing=db.session.get(Listing, listing_id),
            form=ReasonForm(),
            confirm_form=ConfirmForm(),
        )

    if request.method == "POST":
        return _decide(
            lambda approve, reason: (
                services.approve(current_user, listing)
                if approve
                else services.reject(current_user, listing, reason)
            ),
            (
                _("The listing is published."),
                _("The listing has been sent back to the laboratory."),
            ),
            again,
        )
    return again()


@bp.route("/reviews/testing-services/<int:service_id>", methods=["GET", "POST"])
@admin_required
def review_testing_service(service_id: int):
    """A testing service goes through the same review as a listing (and the same form)."""
    service = db.session.get(TestingService, service_id)
    if service is None:
        abort(404)

    def again():
        return render_template(
            "admin/review_testing_service.html",
            service=db.session.get(TestingService, service_id),
            form=ReasonForm(),
            confirm_form=ConfirmForm(),
        )

    if request.method == "POST":
        return _decide(
            lambda approve, reason: (
                testing_services.approve_service(current_user, service)
                if approve
                else testing_services.reject_service(current_user, service, reason)
            ),
            (
                _("The testing service is published."),
                _("The testing service has been sent back to the laboratory."),
            ),
            again,
        )
    return again()


@bp.route("/reviews/revisions/<int:revision_id>", methods=["GET", "POST"])
@admin_required
def review_revision(revision_id: int):
    revision = db.session.get(ListingRevision, revision_id)
    if revision is None:
        abort(404)
    if request.method == "POST":
        return _decide(
            lambda approve, reason: services.decide_revision(
                current_user, revision, approve, reason
            ),
            (_("The change is live."), _("The change has been refused.")),
            lambda: _revision_page(db.session.get(ListingRevision, revision_id)),
        )
    return _revision_page(revision)


def _revision_page(revision: ListingRevision):
    listing = revision.listing
    changes = [
        (key, getattr(listing, key), value)
        for key, value in sorted(revision.data.items())
        if _comparable(getattr(listing, key)) != value
    ]
    return render_template(
        "admin/review_revision.html",
        revision=revision,
        listing=listing,
        changes=changes,
        form=ReasonForm(),
        confirm_form=ConfirmForm(),
    )


def _comparable(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


@bp.route("/holidays", methods=["GET", "POST"])
@admin_required
def holidays():
    year = request.args.get("year", local_today().year, type=int)
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        try:
            day = date.fromisoformat(request.form.get("day", ""))
        except ValueError:
            flash(_("Dates are written as YYYY-MM-DD."), "danger")
            return redirect(url_for("admin.holidays", year=year))
        action = request.form.get("action")
        row = db.session.get(Holiday, day)
        if action == "delete":
            if row is not None:
                audit.record(
                    current_user,
                    "holiday.removed",
                    None,
                    object_type="holiday",
                    day=day.isoformat(),
                )
                db.session.delete(row)
        elif action in ("off", "workday"):
            name = (request.form.get("name") or "").strip()[:100]
            if row is None:
                row = Holiday(day=day)
                db.session.add(row)
            row.is_workday, row.name = action == "workday", name
            audit.record(
                current_user,
                "holiday.saved",
                None,
                object_type="holiday",
                day=day.isoformat(),
                workday=row.is_workday,
                name=name,
            )
        else:
            abort(400)
        commit()
        flash(_("The holiday calendar has been updated."), "success")
        return redirect(url_for("admin.holidays", year=day.year))
    rows = db.session.scalars(
        sa.select(Holiday)
        .where(Holiday.day.between(date(year, 1, 1), date(year, 12, 31)))
        .order_by(Holiday.day)
    ).all()
    return render_template("admin/holidays.html", rows=rows, year=year, confirm_form=ConfirmForm())
