"""The customer's pages: a new testing request, the list of requests and orders, the
order page with its quotes and chain of custody (read by the lab, administrators and
overseeing regulators too), and the customer's actions on it."""

from __future__ import annotations

from typing import Any, cast

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.accounts.models import OrgKind
from sharehub.accounts.session import current_org
from sharehub.catalog.pricing import tier_for
from sharehub.core.actions import perform
from sharehub.core.clock import local_today
from sharehub.core.errors import ValidationError
from sharehub.core.forms import ConfirmForm, csrf_refused, first_errors
from sharehub.core.tx import commit
from sharehub.core.uploads import read_upload, send_stored
from sharehub.extensions import db
from sharehub.testing import cancellation, orders, queries, samples
from sharehub.testing.blueprint import bp
from sharehub.testing.forms import (
    ReasonForm,
    ReleaseForm,
    RequestForm,
    ShipForm,
    StoreForm,
    samples_of,
    services_of,
)
from sharehub.testing.models import RequestAttachment, RequestStatus, TestingRequest
from sharehub.testing.views.work_panel import work_context

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


def my_firm():
    org = current_org()
    if org is None or org.kind != OrgKind.ENTERPRISE:
        abort(403)
    return org


def _form_refusal(form) -> None:
    """A form that did not validate: its first message as the service's refusal."""
    if csrf_refused(form):
        abort(400)
    messages = first_errors(form)
    raise ValidationError(messages[0] if messages else _("Please check what you entered."))


@bp.route("/testing/services/<int:service_id>/request", methods=["GET", "POST"])
@login_required
def new_request(service_id: int):
    service = queries.get_service(service_id, current_user)
    firm = my_firm()
    others = [
        s for s in queries.services_of_lab(service.lab_id) if s.is_published and s.id != service.id
    ]
    form = RequestForm()

    def again():
        return render_template(
            "testing/request_form.html",
            service=service,
            others=others,
            form=form,
            rows=_sample_rows(),
            chosen=set(request.form.getlist("service_id")) or {str(service.id)},
            tier=tier_for(cast(Any, service), firm),
        )

    if request.method == "GET":
        return again()

    def work():
        if not form.validate_on_submit():
            _form_refusal(form)
        attachments = [
            read_upload(f, MAX_ATTACHMENT_BYTES) for f in (form.attachments.data or []) if f
        ]
        created = orders.create_request(
            current_user,
            firm,
            services_of(request.form) or [service.id],
            samples_of(request.form),
            report_language=form.report_language.data,
            report_addressee=form.report_addressee.data,
            report_address=form.report_address.data,
            expedited=form.expedited.data,
            title=form.title.data,
            notes=form.notes.data,
            attachments=attachments,
        )
        return orders.submit(current_user, created)

    return perform(
        work,
        done=lambda created: redirect(url_for("testing.order_page", request_id=created.id)),
        success=_("Your testing request has been sent to the laboratory."),
        again=again,
    )


def _sample_rows() -> list[dict]:
    """The sample rows of the form, as typed (three empty ones on a new form)."""
    rows = []
    for n in range(200):
        prefix = f"sample-{n}-"
        if prefix + "name" not in request.form:
            break
        rows.append(
            {
                key: request.form.get(prefix + key, "")
                for key in (
                    "name",
                    "model_batch",
                    "quantity",
                    "hazards",
                    "storage_needs",
                    "after_test",
                )
            }
        )
    return rows or [{"quantity": "1"} for _n in range(3)]


@bp.route("/orders")
@login_required
def my_requests():
    org = current_org()
    if org is None:
        abort(403)
    if org.is_lab:
        return redirect(url_for("testing.lab_requests"))
    if org.kind != OrgKind.ENTERPRISE:
        abort(403)
    return render_template("testing/my_requests.html", rows=queries.requests_of_customer(org.id))


def order_context(req: TestingRequest) -> dict:
    actions = req.allowed_actions(current_user)
    return dict(
        req=req,
        confirm_form=ConfirmForm(),
        reason_form=ReasonForm(),
        ship_form=ShipForm(),
        store_form=StoreForm(),
        release_form=ReleaseForm(),
        actions=actions,
        today=local_today(),
        cancel_fee=cancellation.fee_now(req) if "cancel" in actions else 0,
        testing_started="cancel" in actions
        and req.status == RequestStatus.IN_TESTING
        and cancellation.has_started(req, None),
        is_lab=req.is_lab_manager(current_user),
    )


def render_order(req: TestingRequest, run_form=None, **extra):
    context = {**order_context(req), **work_context(req, current_user, run_form)}
    return render_template("testing/order.html", **context, **extra)


def _order(request_id: int) -> TestingRequest:
    return queries.get_request(request_id, current_user)


@bp.route("/orders/<int:request_id>")
@login_required
def order_page(request_id: int):
    req = _order(request_id)
    if orders.lapse_due(request=req):  # a quote past its validity lapses when seen
        commit()
    return render_order(req)


def _again(request_id: int):
    return lambda: render_order(_order(request_id))


@bp.route("/orders/<int:request_id>/accept", methods=["POST"])
@login_required
def accept(request_id: int):
    req = _order(request_id)

    def work():
        if not ConfirmForm().validate_on_submit():
            abort(400)
        quote_id = request.form.get("quote_id", type=int)
        return orders.accept(current_user, req, quote_id)

    return perform(
        work,
        done=url_for("testing.order_page", request_id=request_id),
        success=_("You accepted the quote: the order is placed. Send the samples."),
        again=_again(request_id),
    )


@bp.route("/orders/<int:request_id>/cancel", methods=["POST"])
@login_required
def cancel(request_id: int):
    req = _order(request_id)
    form = ReasonForm()

    def work():
        form.validate_on_submit()
        if csrf_refused(form):
            abort(400)
        return cancellation.cancel(current_user, req, form.reason.data or "")

    return perform(
        work,
        done=url_for("testing.order_page", request_id=request_id),
        success=_("The request has been cancelled."),
        again=_again(request_id),
    )


@bp.route("/orders/<int:request_id>/ship", methods=["POST"])
@login_required
def ship(request_id: int):
    req = _order(request_id)
    form = ShipForm()

    def work():
        if not form.validate_on_submit():
            _form_refusal(form)
        samples.ship(
            current_user,
            req,
            delivery=form.delivery.data,
            courier=form.courier.data,
            tracking_number=form.tracking_number.data or "",
            note=form.note.data or "",
        )

    return perform(
        work,
        done=url_for("testing.order_page", request_id=request_id),
        success=_("The shipment has been recorded."),
        again=_again(request_id),
    )


@bp.route("/orders/<int:request_id>/attachments/<int:attachment_id>")
@login_required
def attachment(request_id: int, attachment_id: int):
    req = _order(request_id)
    row = db.session.get(RequestAttachment, attachment_id)
    if row is None or row.request_id != req.id:
        abort(404)
    return send_stored(row)
