"""The enterprise's side: invoice profiles, asking for the fapiao of a statement, the
request page and the download of the issued fapiao (shared with the lab)."""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.accounts.session import current_org
from sharehub.billing.models import Invoice
from sharehub.core.actions import page, perform
from sharehub.core.forms import refuse_form
from sharehub.core.uploads import send_stored
from sharehub.extensions import db
from sharehub.fapiao import queries, services
from sharehub.fapiao.blueprint import bp
from sharehub.fapiao.forms import AttachForm, ProfileForm, RequestForm, ReverseForm
from sharehub.fapiao.models import (
    KIND_LABELS,
    RED_REASON_LABELS,
    Fapiao,
    FapiaoKind,
    FapiaoRequest,
    InvoiceProfile,
)


def _org():
    org = current_org()
    if org is None:
        abort(404)
    return org


def _profiles_page(form=None, profile=None):
    org = _org()
    return render_template(
        "fapiao/profiles.html",
        profiles=services.profiles_of(org.id),
        form=form or ProfileForm(obj=profile),
        profile=profile,
        kind_labels=KIND_LABELS,
    )


@bp.route("/profiles")
@login_required
def profiles():
    return _profiles_page()


def _profile_data(form: ProfileForm) -> services.ProfileData:
    return services.ProfileData(
        kind=form.kind.data or FapiaoKind.NORMAL,
        title=form.title.data,
        tax_id=form.tax_id.data,
        address=form.address.data,
        phone=form.phone.data,
        bank_name=form.bank_name.data,
        bank_account=form.bank_account.data,
        email=form.email.data,
        is_default=bool(form.is_default.data),
    )


@bp.route("/profiles", methods=["POST"])
@login_required
def create_profile():
    org = _org()
    form = ProfileForm()
    again = lambda: _profiles_page(form)  # noqa: E731
    if not form.validate_on_submit():
        return refuse_form(form, again)
    return perform(
        lambda: services.save_profile(current_user, org, _profile_data(form)),
        done=url_for("fapiao.profiles"),
        success=_("The invoice profile has been saved."),
        again=again,
        form=form,
    )


def _profile(profile_id: int) -> InvoiceProfile:
    profile = db.session.get(InvoiceProfile, profile_id)
    if profile is None or not profile.can_edit(current_user):
        abort(404)
    return profile


@bp.route("/profiles/<int:profile_id>")
@login_required
def profile_page(profile_id: int):
    return _profiles_page(profile=_profile(profile_id))


@bp.route("/profiles/<int:profile_id>", methods=["POST"])
@login_required
def edit_profile(profile_id: int):
    profile = _profile(profile_id)
    form = ProfileForm()
    again = lambda: _profiles_page(form, profile)  # noqa: E731
    if not form.validate_on_submit():
        return refuse_form(form, again)
    return perform(
        lambda: services.save_profile(
            current_user, profile.organisation, _profile_data(form), profile
        ),
        done=url_for("fapiao.profiles"),
        success=_("The invoice profile has been saved."),
        again=again,
        form=form,
    )


@bp.route("/statements/<int:invoice_id>/request", methods=["POST"])
@login_required
def request_fapiao(invoice_id: int):
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or not invoice.can_view(current_user):
        abort(404)
    form = RequestForm()

    again = page("billing.invoice_page", invoice_id=invoice.id)
    if not form.validate_on_submit():
        return refuse_form(form, again)
    profile = db.session.get(InvoiceProfile, form.profile_id.data)
    if profile is None or not profile.can_edit(current_user):
        abort(404)
    return perform(
        lambda: services.request_fapiao(current_user, invoice, profile),
        done=lambda request: redirect(url_for("fapiao.request_page", request_id=request.id)),
        success=_("The fapiao has been asked for; the laboratory will issue it."),
        again=again,
    )


@bp.route("/requests")
@login_required
def my_requests():
    org = _org()
    return render_template("fapiao/requests.html", requests=queries.customer_requests(org.id))


def fapiao_request(request_id: int) -> FapiaoRequest:
    request = db.session.get(FapiaoRequest, request_id)
    if request is None or not request.can_view(current_user):
        abort(404)
    return request


def request_response(request: FapiaoRequest, attach=None, reverse=None):
    return render_template(
        "fapiao/request.html",
        request=request,
        is_lab=request.can_handle(current_user),
        attach_form=attach or AttachForm(),
        reverse_form=reverse or ReverseForm(),
        reasons=RED_REASON_LABELS,
    )


@bp.route("/requests/<int:request_id>")
@login_required
def request_page(request_id: int):
    return request_response(fapiao_request(request_id))


@bp.route("/documents/<int:fapiao_id>")
@login_required
def download(fapiao_id: int):
    fapiao = db.session.get(Fapiao, fapiao_id)
    if fapiao is None or not fapiao.request.can_view(current_user):
        abort(404)
    return send_stored(fapiao)


@bp.app_template_global()
def fapiao_box(invoice: Invoice) -> dict | None:
    """For the statement page: its fapiao request and, for the customer's members, the
    profiles to ask with."""
    if invoice.is_credit_note or invoice.is_draft or not current_user.is_authenticated:
        return None
    is_customer = current_user.membership_in(invoice.customer_org_id) is not None
    is_lab = current_user.can_manage(invoice.lab)
    if not (is_customer or is_lab):
        return None
    request = queries.latest_request(invoice.id)
    can_ask = (
        is_customer and invoice.effective_total > 0 and (request is None or not request.is_open)
    )
    return {
        "request": request,
        "can_ask": can_ask,
        "profiles": services.profiles_of(invoice.customer_org_id) if can_ask else [],
        "form": RequestForm(),
    }
