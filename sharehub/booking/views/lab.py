"""The lab's usage log: records from check-outs, internal use by form or CSV, corrections;
and dataset access requests and downloads."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_number
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.accounts.session import current_org
from sharehub.booking import access, usage
from sharehub.booking.blueprint import bp
from sharehub.booking.forms import AccessRequestForm, CorrectUsageForm, LogUsageForm
from sharehub.booking.models import AccessGrant, ServiceWay, UsageRecord
from sharehub.catalog.models import Listing, ListingKind, Unit
from sharehub.catalog.queries import get_listing
from sharehub.core.actions import page, perform
from sharehub.core.errors import DomainError, ValidationError
from sharehub.core.forms import ConfirmForm, refuse_form, typed
from sharehub.core.i18n import user_zone
from sharehub.core.security import CONTROL_MESSAGE, has_control_characters
from sharehub.core.tx import commit
from sharehub.core.uploads import human_size, read_upload, send_stored
from sharehub.extensions import db


def _my_lab():
    org = current_org()
    if org is None or not org.is_lab or not current_user.can_manage(org):
        abort(403)
    return org


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
    if request.method == "GET":
        return _usage_page(lab, units)
    form = LogUsageForm()
    again = lambda: _usage_page(lab, units, values=typed(form))  # noqa: E731
    if not form.validate_on_submit():
        return refuse_form(form, again)

    def log():
        unit = next((u for u in units if u.id == form.unit_id.data), None)
        if unit is None:
            raise ValidationError(_("Choose one of your units."))
        served_org, served_user = usage.served(lab, form.served_org.data, form.served_user.data)
        usage.log_usage(
            current_user,
            unit,
            user_org=served_org,
            user=served_user,
            **_usage_fields(form),
        )

    return perform(
        log,
        done=url_for("booking.lab_usage"),
        success=_("The internal use has been recorded."),
        again=again,
    )


def _usage_fields(form) -> dict:
    return {
        "started": form.started.data,
        "ended": form.ended.data,
        "prep_minutes": form.prep_minutes.data,
        "run_minutes": form.run_minutes.data,
        "post_minutes": form.post_minutes.data,
        "samples": form.samples.data,
        "service_way": form.service_way.data,
        "notes": form.notes.data,
    }


def _usage_page(lab, units, status: int = 200, values=None):
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
            so.joinedload(UsageRecord.recorded_by),
        )
        .order_by(UsageRecord.started_dt.desc(), UsageRecord.id.desc())
        .limit(200)
    ).all()
    superseded = set(
        db.session.scalars(
            sa.select(UsageRecord.corrects_id).where(
                UsageRecord.corrects_id.in_([r.id for r in records])
            )
        )
    )
    return render_template(
        "booking/usage.html",
        lab=lab,
        units=units,
        records=records,
        superseded=superseded,
        confirm_form=ConfirmForm(),
        ways=ServiceWay,
        values=values or {},
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
    if request.method == "GET":
        return _correction_page(record)
    form = CorrectUsageForm()
    if not form.validate_on_submit():
        return refuse_form(form, lambda: _correction_page(record))
    fields = _usage_fields(form)
    return perform(
        lambda: usage.correct_usage(
            current_user,
            record,
            reason=form.reason.data,
            started_dt=fields.pop("started"),
            ended_dt=fields.pop("ended"),
            **fields,
        ),
        done=url_for("booking.lab_usage"),
        success=_("The correction has been saved as a new record; the corrected record is kept."),
        again=lambda: _correction_page(db.session.get(UsageRecord, record_id)),
    )


def _correction_page(record: UsageRecord):
    corrected_by = db.session.scalar(
        sa.select(UsageRecord).where(UsageRecord.corrects_id == record.id)
    )
    return render_template(
        "booking/usage_edit.html",
        record=record,
        corrected_by=corrected_by,
        ways=ServiceWay,
        confirm_form=ConfirmForm(),
    )


# --- dataset access ------------------------------------------------------------------------


@bp.route("/catalog/<int:listing_id>/access", methods=["GET", "POST"])
@login_required
def dataset_access(listing_id: int):
    listing = get_listing(listing_id, current_user)
    org = current_org()
    if listing.kind != ListingKind.DATASET or org is None:
        abort(404)
    if request.method == "POST":
        form = AccessRequestForm()
        if not form.validate_on_submit():
            abort(400)

        def requested(result):
            grant, token = result
            if token:
                return render_template("booking/access_token.html", grant=grant, token=token)
            flash(_("Your request has been sent to the laboratory."), "success")
            return redirect(url_for("booking.my_access"))

        return perform(
            lambda: access.request_access(current_user, org, listing, form.purpose.data),
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
    return send_stored(record)
