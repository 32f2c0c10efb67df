"""The lab's usage log: records from check-outs, internal use by form or CSV, corrections;
and dataset access requests and downloads."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import format_number
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.accounts.forms import ConfirmForm
from sharehub.accounts.session import current_org
from sharehub.booking import access, usage
from sharehub.booking.models import AccessGrant, ServiceWay, UsageRecord
from sharehub.booking.views import bp
from sharehub.catalog.models import Listing, ListingKind, Unit
from sharehub.catalog.views import get_listing
from sharehub.core.actions import page, perform
from sharehub.core.errors import DomainError
from sharehub.core.i18n import user_zone
from sharehub.core.inputs import parse_datetime, parse_id
from sharehub.core.security import CONTROL_MESSAGE, has_control_characters
from sharehub.core.tx import commit
from sharehub.core.uploads import human_size, read_upload, stored_path
from sharehub.extensions import db


def _my_lab():
    org = current_org()
    if org is None or not org.is_lab or not current_user.can_manage(org):
        abort(403)
    return org


def _local(value: str) -> datetime:
    """A typed local time; ValueError when it is none, ValidationError outside 2000–2100."""
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(value)
    return parsed.replace(tzinfo=user_zone())


def _lab_units(lab):
    return db.session.scalars(
        sa.select(Unit)
        .join(Unit.listing)
        .where(Listing.lab_id == lab.id, Listing.kind != ListingKind.DATASET)
        .options(so.joinedload(Unit.listing))
        .order_by(Listing.name, Unit.name)
    ).all()


@bp.route("/lab/usage", methods=["GET", "POST"])
@login_required
def lab_usage():
    lab = _my_lab()
    units = _lab_units(lab)
    status = 200
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        form = request.form
        try:
            unit_id = parse_id(form.get("unit_id"), field="unit_id")
            unit = next((u for u in units if u.id == unit_id), None)
            if unit is None:
                raise DomainError(_("Choose one of your units."))
            served_org, served_user = usage.served(
                lab, form.get("served_org", ""), form.get("served_user", "")
            )
            usage.log_usage(
                current_user,
                unit,
                user_org=served_org,
                user=served_user,
                started=_local(form.get("started", "")),
                ended=_local(form.get("ended", "")),
                prep_minutes=form.get("prep_minutes", 0, type=int) or 0,
                run_minutes=form.get("run_minutes", 0, type=int) or 0,
                post_minutes=form.get("post_minutes", 0, type=int) or 0,
                samples=form.get("samples", 0, type=int) or 0,
                service_way=ServiceWay(form.get("service_way", "on_site")),
                notes=form.get("notes", ""),
            )
        except (DomainError, ValueError) as exc:
            db.session.rollback()
            flash(
                str(
                    getattr(
                        exc, "message", _("Check the times (YYYY-MM-DD HH:MM) and the minutes.")
                    )
                ),
                "danger",
            )
            status = 400
        else:
            commit()
            flash(_("The internal use has been recorded."), "success")
            return redirect(url_for("booking.lab_usage"))
    return _usage_page(lab, units, status)


def _usage_page(lab, units, status: int = 200):
    """The usage log; after a refusal the log form shows what was typed."""
    records = db.session.scalars(
        sa.select(UsageRecord)
        .join(UsageRecord.unit)
        .join(Unit.listing)
        .where(Listing.lab_id == lab.id)
        .options(
            so.joinedload(UsageRecord.unit).joinedload(Unit.listing),
            so.joinedload(UsageRecord.user_org),
            so.joinedload(UsageRecord.user),
        )
        .order_by(UsageRecord.started_dt.desc())
        .limit(200)
    ).all()
    return render_template(
        "booking/usage.html",
        lab=lab,
        units=units,
        records=records,
        confirm_form=ConfirmForm(),
        ways=ServiceWay,
        values=request.form if status >= 400 else {},
        max_rows=format_number(usage.MAX_IMPORT_ROWS),
        max_size=human_size(usage.MAX_IMPORT_BYTES),
    ), status


@bp.route("/lab/usage/import", methods=["POST"])
@login_required
def import_usage():
    lab = _my_lab()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise DomainError(_("Choose a CSV file."))
        data, _name = read_upload(upload, usage.MAX_IMPORT_BYTES)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DomainError(_("The CSV file must be UTF-8 text.")) from exc
        if has_control_characters(text):
            raise DomainError(CONTROL_MESSAGE)
        records = usage.import_csv(current_user, lab, text, user_zone())
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return _usage_page(lab, _lab_units(lab), exc.status)
    commit()
    flash(_("%(n)s usage records imported.", n=len(records)), "success")
    return redirect(url_for("booking.lab_usage"))


@bp.route("/lab/usage/<int:record_id>", methods=["GET", "POST"])
@login_required
def correct_usage(record_id: int):
    record = db.session.get(UsageRecord, record_id)
    if record is None or not current_user.can_manage(record.unit.listing.lab):
        abort(404)
    status = 200
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        form = request.form
        try:
            usage.correct_usage(
                current_user,
                record,
                started_dt=_local(form.get("started", "")),
                ended_dt=_local(form.get("ended", "")),
                prep_minutes=form.get("prep_minutes", type=int),
                run_minutes=form.get("run_minutes", type=int),
                post_minutes=form.get("post_minutes", type=int),
                samples=form.get("samples", type=int),
                service_way=ServiceWay(form.get("service_way", "on_site")),
                notes=form.get("notes", ""),
            )
        except (DomainError, ValueError, TypeError) as exc:
            db.session.rollback()
            flash(str(getattr(exc, "message", _("Check the times and the minutes."))), "danger")
            status = getattr(exc, "status", 400)
        else:
            commit()
            flash(_("The correction has been saved and recorded in the audit log."), "success")
            return redirect(url_for("booking.lab_usage"))
    return render_template(
        "booking/usage_edit.html", record=record, ways=ServiceWay, confirm_form=ConfirmForm()
    ), status


# --- dataset access ------------------------------------------------------------------------


@bp.route("/catalog/<int:listing_id>/access", methods=["GET", "POST"])
@login_required
def dataset_access(listing_id: int):
    listing = get_listing(listing_id)
    org = current_org()
    if listing.kind != ListingKind.DATASET or org is None:
        abort(404)
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)

        def requested(result):
            grant, token = result
            if token:
                return render_template("booking/access_token.html", grant=grant, token=token)
            flash(_("Your request has been sent to the laboratory."), "success")
            return redirect(url_for("booking.my_access"))

        return perform(
            lambda: access.request_access(
                current_user, org, listing, request.form.get("purpose", "")
            ),
            done=requested,
            again=lambda: _access_request_page(listing),
        )
    return _access_request_page(listing)


def _access_request_page(listing: Listing):
    return render_template(
        "booking/access_request.html", listing=listing, confirm_form=ConfirmForm()
    )


@bp.route("/access")
@login_required
def my_access():
    org = current_org()
    grants = db.session.scalars(
        sa.select(AccessGrant)
        .where(AccessGrant.customer_org_id == (org.id if org else -1))
        .order_by(AccessGrant.id.desc())
    ).all()
    lab_requests = []
    if org is not None and org.is_lab and current_user.can_manage(org):
        lab_requests = db.session.scalars(
            sa.select(AccessGrant)
            .join(AccessGrant.listing)
            .where(Listing.lab_id == org.id)
            .order_by(AccessGrant.id.desc())
        ).all()
    return render_template(
        "booking/access_list.html",
        grants=grants,
        lab_requests=lab_requests,
        confirm_form=ConfirmForm(),
    )


@bp.route("/access/<int:grant_id>/<any(approve, renew, revoke):action>", methods=["POST"])
@login_required
def access_action(grant_id: int, action: str):
    grant = db.session.get(AccessGrant, grant_id)
    if grant is None or not (
        current_user.can_manage(grant.listing.lab)
        or current_user.membership_in(grant.customer_org_id)
    ):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)

    def change() -> str | None:
        if action == "approve":
            access.approve_access(current_user, grant)
            return None  # the customer renews to see a token: secrets are shown only to them
        if action == "renew":
            return access.renew_token(current_user, grant)
        access.revoke(current_user, grant)
        return None

    def changed(token):
        if token:
            return render_template("booking/access_token.html", grant=grant, token=token)
        flash(_("The access has been updated."), "success")
        return redirect(url_for("booking.my_access"))

    return perform(change, done=changed, again=page("booking.my_access"))


@bp.route("/datasets/<token>")
def dataset_download(token: str):
    grant = access.grant_for_token(token)
    if grant is None:
        return render_template(
            "errors/error.html",
            code=403,
            title=_("This access link does not work"),
            text=_("The link has expired, was renewed or revoked."),
        ), 403
    files = grant.listing.data_files
    file_id = request.args.get("file", type=int)
    record = next((f for f in files if f.id == file_id), None)
    if record is None:
        return render_template("booking/access_files.html", grant=grant, files=files, token=token)
    return send_file(
        stored_path(record.stored_name),
        mimetype=record.content_type,
        download_name=record.original_name,
        as_attachment=True,
    )
