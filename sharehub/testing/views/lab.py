"""The lab's pages: its testing services and accreditation certificates, incoming
requests, the quote form, the receipt of samples, the label sheet, storage, return
and disposal."""

from __future__ import annotations

from flask import abort, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from sharehub.accounts.session import current_org
from sharehub.catalog.models import Listing, Unit
from sharehub.core.actions import perform
from sharehub.core.clock import local_today
from sharehub.core.errors import ValidationError
from sharehub.core.forms import ConfirmForm, csrf_refused, first_errors
from sharehub.core.inputs import parse_date
from sharehub.core.uploads import read_upload, send_stored
from sharehub.extensions import db
from sharehub.testing import cancellation, labels, orders, queries, samples, services
from sharehub.testing.accreditation import marks_for
from sharehub.testing.blueprint import bp
from sharehub.testing.forms import (
    CertificateForm,
    QuoteForm,
    ReasonForm,
    ReleaseForm,
    ServiceForm,
    StoreForm,
    lines_of,
)
from sharehub.testing.models import (
    AccreditationCertificate,
    CertificateDocument,
    Sample,
    SamplePhoto,
    SampleStatus,
    TestingRequest,
    TestingService,
)
from sharehub.testing.views.enterprise import render_order

MAX_CERTIFICATE_BYTES = 10 * 1024 * 1024
MAX_PHOTO_BYTES = 8 * 1024 * 1024


def my_lab():
    org = current_org()
    if org is None or not org.is_lab or not current_user.can_manage(org):
        abort(403)
    return org


def _refuse_form(form) -> None:
    if csrf_refused(form):
        abort(400)
    messages = first_errors(form)
    raise ValidationError(messages[0] if messages else _("Please check what you entered."))


def _own_service(service_id: int) -> TestingService:
    lab = my_lab()
    service = db.session.get(TestingService, service_id)
    if service is None or service.lab_id != lab.id:
        abort(404)
    return service


def _lab_order(request_id: int) -> TestingRequest:
    """An order of the lab the user manages now; anyone else's is not found (a customer
    or regulator who may read it is refused: this is the lab's page)."""
    req = queries.get_request(request_id, current_user)
    if not req.is_lab_manager(current_user):
        abort(403)
    return req


# --- services -------------------------------------------------------------------------


@bp.route("/testing/lab/services")
@login_required
def lab_services():
    lab = my_lab()
    today = local_today()
    rows = [(s, marks_for(s, today)) for s in queries.services_of_lab(lab.id)]
    return render_template("testing/lab_services.html", rows=rows, confirm_form=ConfirmForm())


def _service_form(lab, service=None, **kwargs) -> ServiceForm:
    """The service form, its instruments chosen among the lab's active units."""
    form = ServiceForm(**kwargs)
    units = db.session.scalars(
        db.select(Unit)
        .join(Listing)
        .where(Listing.lab_id == lab.id, Unit.is_active.is_(True))
        .order_by(Listing.name, Unit.id)
    ).all()
    form.unit_ids.choices = [SelectChoice(u.id, f"{u.listing.name} {u.name}") for u in units]
    return form


def _service_form_page(form, service=None):
    return render_template("testing/service_form.html", form=form, service=service)


@bp.route("/testing/lab/services/new", methods=["GET", "POST"])
@login_required
def new_service():
    lab = my_lab()
    form = _service_form(lab)
    if request.method == "GET":
        return _service_form_page(form)

    def work():
        if not form.validate_on_submit():
            _refuse_form(form)
        return services.create_service(
            current_user,
            lab,
            form.service_data(),
            parameters=form.parameter_rows(),
            unit_ids=form.unit_ids.data or [],
        )

    return perform(
        work,
        done=lambda service: redirect(url_for("testing.lab_services")),
        success=_("The service is saved as a draft; submit it for review to publish it."),
        again=lambda: _service_form_page(form),
    )


@bp.route("/testing/lab/services/<int:service_id>/edit", methods=["GET", "POST"])
@login_required
def edit_service(service_id: int):
    service = _own_service(service_id)
    if request.method == "GET":
        form = _service_form(service.lab, obj=service)
        form.unit_ids.data = [u.id for u in service.units]
        # fen shown in yuan
        for key in ("price_external", "price_internal", "price_cluster", "cancel_fee_fen"):
            fen = getattr(service, key)
            getattr(form, key).raw_data = [] if fen is None else [f"{fen // 100}.{fen % 100:02d}"]
        form.parameters.data = "\n".join(
            " | ".join((p.name, p.unit, p.limit_text)).rstrip(" |") for p in service.parameters
        )
        return _service_form_page(form, service)
    form = _service_form(service.lab)

    def work():
        if not form.validate_on_submit():
            _refuse_form(form)
        services.update_service(
            current_user,
            service,
            form.service_data(),
            parameters=form.parameter_rows(),
            unit_ids=form.unit_ids.data or [],
        )

    return perform(
        work,
        done=url_for("testing.lab_services"),
        success=_("The service is saved."),
        again=lambda: _service_form_page(form, service),
    )


@bp.route("/testing/lab/services/<int:service_id>/<any(submit, withdraw):action>", methods=["POST"])
@login_required
def service_action(service_id: int, action: str):
    service = _own_service(service_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    work = services.submit_service if action == "submit" else services.withdraw_service
    return perform(
        lambda: work(current_user, service),
        done=url_for("testing.lab_services"),
        success=_("The service is waiting for review.")
        if action == "submit"
        else _("The service is withdrawn."),
    )


# --- certificates ---------------------------------------------------------------------


@bp.route("/testing/lab/certificates", methods=["GET", "POST"])
@login_required
def certificates():
    lab = my_lab()
    form = CertificateForm()

    def page():
        rows = db.session.scalars(
            db.select(AccreditationCertificate)
            .where(AccreditationCertificate.lab_id == lab.id)
            .order_by(AccreditationCertificate.valid_until.desc())
        ).all()
        return render_template(
            "testing/certificates.html", rows=rows, form=form, today=local_today()
        )

    if request.method == "GET":
        return page()

    def work():
        if not form.validate_on_submit():
            _refuse_form(form)
        document = (
            read_upload(form.document.data, MAX_CERTIFICATE_BYTES) if form.document.data else None
        )
        return services.add_certificate(
            current_user,
            lab,
            kind=form.kind.data,
            number=form.number.data,
            issuer=form.issuer.data or "",
            issued_date=form.issued_date.data,
            valid_until=form.valid_until.data,
            scope=services.parse_scope(form.scope.data or ""),
            document=document,
        )

    return perform(
        work,
        done=url_for("testing.certificates"),
        success=_("The certificate is recorded."),
        again=page,
    )


@bp.route("/testing/certificates/<int:certificate_id>/documents/<int:document_id>")
@login_required
def certificate_document(certificate_id: int, document_id: int):
    """The certificate's PDF, for the lab's members, administrators and regulators."""
    document = db.session.get(CertificateDocument, document_id)
    if document is None or document.certificate_id != certificate_id:
        abort(404)
    lab = document.certificate.lab
    if not (
        current_user.membership_in(lab.id) is not None
        or current_user.is_platform_admin
        or current_user.can_oversee(lab)
    ):
        abort(404)
    return send_stored(document)


# --- requests and orders --------------------------------------------------------------


@bp.route("/testing/lab/requests")
@login_required
def lab_requests():
    lab = my_lab()
    return render_template("testing/lab_requests.html", rows=queries.requests_of_lab(lab.id))


@bp.route("/orders/<int:request_id>/quote", methods=["GET", "POST"])
@login_required
def quote_form(request_id: int):
    req = _lab_order(request_id)
    form = QuoteForm()

    def page():
        if request.method == "GET":
            proposed = orders.standard_lines(req)
            form.turnaround_days.data = form.turnaround_days.data or orders.standard_turnaround(req)
        else:
            proposed = []
        return render_template(
            "testing/quote_form.html", req=req, form=form, proposed=proposed, typed=request.form
        )

    if request.method == "GET":
        return page()

    def work():
        if not form.validate_on_submit():
            _refuse_form(form)
        return orders.quote(
            current_user,
            req,
            lines_of(request.form),
            valid_until=form.valid_until.data,
            turnaround_days=form.turnaround_days.data,
            note=form.note.data or "",
            terms=form.terms.data or "",
        )

    return perform(
        work,
        done=url_for("testing.order_page", request_id=request_id),
        success=_("The quote has been sent to the customer."),
        again=page,
    )


@bp.route("/orders/<int:request_id>/refuse", methods=["POST"])
@login_required
def refuse(request_id: int):
    req = _lab_order(request_id)
    form = ReasonForm()

    def work():
        form.validate_on_submit()
        if csrf_refused(form):
            abort(400)
        orders.refuse(current_user, req, form.reason.data or "")

    return perform(
        work,
        done=url_for("testing.order_page", request_id=request_id),
        success=_("The request has been refused."),
        again=lambda: render_order(req),
    )


@bp.route("/orders/<int:request_id>/stop", methods=["POST"])
@login_required
def stop(request_id: int):
    req = _lab_order(request_id)
    form = ReasonForm()

    def work():
        form.validate_on_submit()
        if csrf_refused(form):
            abort(400)
        cancellation.stop(current_user, req, form.reason.data or "")

    return perform(
        work,
        done=url_for("testing.order_page", request_id=request_id),
        success=_("The order has been stopped; the customer is told."),
        again=lambda: render_order(req),
    )


@bp.route("/orders/<int:request_id>/receive", methods=["GET", "POST"])
@login_required
def receive(request_id: int):
    req = _lab_order(request_id)
    expected = [s for s in req.samples if s.status == SampleStatus.EXPECTED]

    def page():
        return render_template(
            "testing/receive_form.html",
            req=req,
            expected=expected,
            typed=request.form,
            confirm_form=ConfirmForm(),
        )

    if request.method == "GET":
        return page()

    def work():
        if not ConfirmForm().validate_on_submit():
            abort(400)
        decisions = []
        for sample in expected:
            key = f"s{sample.id}-"
            decision = request.form.get(key + "decision", "")
            if decision not in ("accept", "refuse"):
                raise ValidationError(_("Decide on every sample of the order."))
            upload = request.files.get(key + "photo")
            photo = read_upload(upload, MAX_PHOTO_BYTES) if upload and upload.filename else None
            decisions.append(
                samples.ReceiptInput(
                    sample_id=sample.id,
                    accepted=decision == "accept",
                    condition_note=request.form.get(key + "condition", ""),
                    refusal_reason=request.form.get(key + "reason", ""),
                    storage_place=request.form.get(key + "place", ""),
                    retain_until=parse_date(request.form.get(key + "retain_until")),
                    photo=photo,
                )
            )
        return samples.receive(current_user, req, decisions)

    return perform(
        work,
        done=url_for("testing.order_page", request_id=request_id),
        success=_("The receipt of the samples has been recorded."),
        again=page,
    )


@bp.route("/orders/<int:request_id>/labels.pdf")
@login_required
def label_sheet(request_id: int):
    req = _lab_order(request_id)
    rows = queries.received_samples(req.id)
    if not rows:
        abort(404)
    response = make_response(labels.label_sheet_pdf(req, rows))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="labels-{req.reference}.pdf"'
    return response


def _lab_sample(request_id: int, sample_id: int) -> Sample:
    req = _lab_order(request_id)
    sample = db.session.get(Sample, sample_id)
    if sample is None or sample.request_id != req.id:
        abort(404)
    return sample


@bp.route("/orders/<int:request_id>/samples/<int:sample_id>/store", methods=["POST"])
@login_required
def store_sample(request_id: int, sample_id: int):
    sample = _lab_sample(request_id, sample_id)
    form = StoreForm()

    def work():
        form.validate_on_submit()
        if csrf_refused(form):
            abort(400)
        samples.store(current_user, sample, form.place.data or "")

    return perform(
        work,
        done=url_for("testing.order_page", request_id=request_id),
        success=_("The sample's storage place has been recorded."),
        again=lambda: render_order(sample.request),
    )


@bp.route("/orders/<int:request_id>/samples/<int:sample_id>/release", methods=["POST"])
@login_required
def release_sample(request_id: int, sample_id: int):
    sample = _lab_sample(request_id, sample_id)
    form = ReleaseForm()

    def work():
        if not form.validate_on_submit():
            _refuse_form(form)
        samples.release(current_user, sample, form.action.data, form.note.data or "")

    return perform(
        work,
        done=url_for("testing.order_page", request_id=request_id),
        success=_("The sample has left the laboratory's custody."),
        again=lambda: render_order(sample.request),
    )


@bp.route("/orders/<int:request_id>/samples/<int:sample_id>/photos/<int:photo_id>")
@login_required
def sample_photo(request_id: int, sample_id: int, photo_id: int):
    req = queries.get_request(request_id, current_user)
    photo = db.session.get(SamplePhoto, photo_id)
    if photo is None or photo.sample_id != sample_id or photo.sample.request_id != req.id:
        abort(404)
    return send_stored(photo, as_attachment=False)
