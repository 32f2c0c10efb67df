"""The laboratory's side: its fapiao requests, their export for the tax software, the
issued fapiao attached and red fapiao. Only the lab's owners and managers."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.accounts.session import current_org
from sharehub.core.actions import perform
from sharehub.core.clock import local_today
from sharehub.core.errors import ValidationError
from sharehub.core.forms import ConfirmForm, refuse_form
from sharehub.core.uploads import read_upload
from sharehub.extensions import db
from sharehub.fapiao import export, queries, services
from sharehub.fapiao.blueprint import bp
from sharehub.fapiao.forms import AttachForm, ReverseForm
from sharehub.fapiao.models import REQUEST_LABELS, Fapiao, FapiaoRequest, RequestStatus
from sharehub.fapiao.views.enterprise import fapiao_request, request_response


def _managed_lab():
    org = current_org()
    if org is None or not org.is_lab or not current_user.can_manage(org):
        abort(404)
    return org


@bp.route("/lab")
@login_required
def lab_requests():
    lab = _managed_lab()
    status = request.args.get("status") or None
    if status not in (None, *RequestStatus):
        status = None
    return render_template(
        "fapiao/lab_requests.html",
        requests=queries.lab_requests(lab.id, status),
        status=status,
        labels=REQUEST_LABELS,
        confirm_form=ConfirmForm(),
    )


@bp.route("/lab/export", methods=["POST"])
@login_required
def export_requests():
    """The ticked requests (or all not yet exported) as the bulk-issue spreadsheet; they
    are marked exported."""
    lab = _managed_lab()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ids = [int(i) for i in request.form.getlist("request") if i.isdigit()]
    query = sa.select(FapiaoRequest).where(FapiaoRequest.lab_id == lab.id)
    if ids:
        query = query.where(FapiaoRequest.id.in_(ids))
    else:
        query = query.where(FapiaoRequest.status == RequestStatus.REQUESTED)
    chosen = [
        r
        for r in db.session.scalars(query.order_by(FapiaoRequest.id))
        if r.status in (RequestStatus.REQUESTED, RequestStatus.EXPORTED)
    ]

    def work() -> bytes:
        if not chosen:
            raise ValidationError(_("No fapiao request is waiting to be exported."))
        data = export.workbook(chosen)
        services.mark_exported(current_user, chosen)
        return data

    def answer(data: bytes):
        name = f"fapiao-{local_today():%Y%m%d}.xlsx"
        return Response(
            data,
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f"attachment; filename={name}"},
        )

    return perform(work, done=answer, again=lambda: lab_requests())


def _lab_request(request_id: int) -> FapiaoRequest:
    found = fapiao_request(request_id)
    if not found.can_handle(current_user):
        abort(404)
    return found


def _upload() -> tuple[bytes, str]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError(_("Choose the fapiao file."), field="file")
    return read_upload(upload, services.MAX_FAPIAO_BYTES)


@bp.route("/requests/<int:request_id>/attach", methods=["POST"])
@login_required
def attach(request_id: int):
    found = _lab_request(request_id)
    form = AttachForm()
    again = lambda: request_response(found, attach=form)  # noqa: E731
    if not form.validate_on_submit():
        return refuse_form(form, again)

    def work() -> Fapiao:
        data, name = _upload()
        return services.attach_fapiao(
            current_user, found, data, name, form.number.data, form.issued_date.data
        )

    return perform(
        work,
        done=url_for("fapiao.request_page", request_id=found.id),
        success=_("The fapiao has been attached; the customer has been told."),
        again=again,
        form=form,
    )


@bp.route("/documents/<int:fapiao_id>/reverse", methods=["POST"])
@login_required
def reverse(fapiao_id: int):
    original = db.session.get(Fapiao, fapiao_id)
    if original is None or not original.request.can_handle(current_user):
        abort(404)
    found = original.request
    form = ReverseForm()
    again = lambda: request_response(found, reverse=form)  # noqa: E731
    if not form.validate_on_submit():
        return refuse_form(form, again)

    def work() -> Fapiao:
        data, name = _upload()
        return services.reverse_fapiao(
            current_user,
            original,
            form.confirmation_no.data,
            form.reason.data,
            data,
            name,
            form.number.data,
            form.issued_date.data,
        )

    return perform(
        work,
        done=url_for("fapiao.request_page", request_id=found.id),
        success=_("The red fapiao has been recorded."),
        again=again,
        form=form,
    )
