"""Payment into the lab's own merchant account: the lab's settings (owners and managers
only), the customer's payment page with its QR code and status, and the gateways'
notifications."""

from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from sharehub.accounts.models import Organisation
from sharehub.billing import online
from sharehub.billing.blueprint import bp
from sharehub.billing.forms import OnlinePayForm, merchant_account_form
from sharehub.billing.gateways import REGISTRY, NotificationRefused, _load, gateway_for
from sharehub.billing.models import (
    GATEWAY_LABELS,
    GatewayKind,
    Invoice,
    MerchantAccount,
    OnlinePayment,
)
from sharehub.core.actions import perform, refused
from sharehub.core.errors import DomainError
from sharehub.core.forms import ConfirmForm, refuse_form
from sharehub.core.tx import commit
from sharehub.extensions import csrf, db


def _managed_lab(lab_id: int) -> Organisation:
    lab = db.session.get(Organisation, lab_id)
    if lab is None or not lab.is_lab or not current_user.can_manage(lab):
        abort(404)
    return lab


def _kind(kind: str) -> GatewayKind:
    _load()
    try:
        value = GatewayKind(kind)
    except ValueError:
        abort(404)
    if value not in REGISTRY:
        abort(404)
    return value


def _settings_page(lab: Organisation, forms: dict | None = None, status: int = 200):
    _load()
    rows = []
    for kind, cls in sorted(REGISTRY.items()):
        account = online.account_of(lab.id, kind)
        form = (forms or {}).get(kind)
        if form is None:
            form = merchant_account_form(cls)(
                formdata=None,
                merchant_id=account.merchant_id if account else "",
                enabled=account.enabled if account else False,
            )
        for spec in cls.fields:  # what was typed is never sent back
            getattr(form, spec.name).data = ""
        rows.append({"kind": kind, "cls": cls, "account": account, "form": form})
    return (
        render_template(
            "billing/merchant_accounts.html",
            lab=lab,
            rows=rows,
            labels=GATEWAY_LABELS,
            confirm_form=ConfirmForm(),
        ),
        status,
    )


@bp.route("/labs/<int:lab_id>/payment-accounts")
@login_required
def merchant_accounts(lab_id: int):
    return _settings_page(_managed_lab(lab_id))


@bp.route("/labs/<int:lab_id>/payment-accounts/<kind>", methods=["POST"])
@login_required
def save_merchant_account(lab_id: int, kind: str):
    lab = _managed_lab(lab_id)
    kind_value = _kind(kind)
    cls = REGISTRY[kind_value]
    form = merchant_account_form(cls)()
    again = lambda: _settings_page(lab, {kind_value: form})  # noqa: E731
    if not form.validate_on_submit():
        return refuse_form(form, again)
    entered = {spec.name: getattr(form, spec.name).data or "" for spec in cls.fields}
    return perform(
        lambda: online.save_account(
            current_user, lab, kind_value, form.merchant_id.data, form.enabled.data, entered
        ),
        done=url_for("billing.merchant_accounts", lab_id=lab.id),
        success=_("The payment account has been saved."),
        again=again,
        form=form,
    )


@bp.route("/labs/<int:lab_id>/payment-accounts/<kind>/test", methods=["POST"])
@login_required
def test_merchant_account(lab_id: int, kind: str):
    lab = _managed_lab(lab_id)
    account = online.account_of(lab.id, _kind(kind))
    if account is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        ok, message = online.test_account(current_user, account)
    except DomainError as exc:
        return refused(exc, again=lambda: _settings_page(lab))
    commit()
    flash(message, "success" if ok else "danger")
    return redirect(url_for("billing.merchant_accounts", lab_id=lab.id))


@bp.route("/invoices/<int:invoice_id>/online/<kind>", methods=["POST"])
@login_required
def start_online_payment(invoice_id: int, kind: str):
    from sharehub.billing.views.invoices import _invoice, _invoice_response

    invoice = _invoice(invoice_id)
    form = OnlinePayForm()
    again = lambda: _invoice_response(invoice)  # noqa: E731
    if not form.validate_on_submit():
        return refuse_form(form, again)
    back = url_for("billing.invoice_page", invoice_id=invoice.id, _external=True)
    try:
        attempt = online.start_payment(
            current_user,
            invoice,
            kind,
            form.channel.data or "qr",
            lambda account: url_for(
                "billing.gateway_notification",
                kind=account.kind.value,
                account_id=account.id,
                _external=True,
            ),
            back,
        )
    except DomainError as exc:
        return refused(exc, again=again)
    commit()
    if attempt.channel in ("page", "h5"):  # the gateway's own page (H5: on the phone)
        return redirect(attempt.code_url, code=303)
    return redirect(url_for("billing.online_payment_page", attempt_id=attempt.id), code=303)


def _attempt(attempt_id: int) -> OnlinePayment:
    attempt = db.session.get(OnlinePayment, attempt_id)
    if attempt is None or not attempt.can_view(current_user):
        abort(404)
    return attempt


@bp.route("/payments/online/<int:attempt_id>")
@login_required
def online_payment_page(attempt_id: int):
    import segno

    attempt = _attempt(attempt_id)
    qr_svg = ""
    if attempt.is_pending and attempt.channel == "qr" and attempt.code_url:
        qr_svg = segno.make(attempt.code_url, error="m").svg_inline(
            scale=6, title=_("Scan with the phone to pay")
        )
    return render_template(
        "billing/online_payment.html", attempt=attempt, invoice=attempt.invoice, qr_svg=qr_svg
    )


@bp.route("/payments/online/<int:attempt_id>/status")
@login_required
def online_payment_status(attempt_id: int):
    attempt = _attempt(attempt_id)
    invoice: Invoice = attempt.invoice
    return jsonify(
        {
            "status": attempt.status.value,
            "label": str(attempt.status_label),
            "statement_status": invoice.status.value,
            "outstanding_fen": invoice.outstanding,
        }
    )


@bp.route("/webhooks/<kind>/<int:account_id>", methods=["POST"])
@csrf.exempt
def gateway_notification(kind: str, account_id: int):
    """A gateway's asynchronous notification for one lab's account. Only what the account's
    keys verify is applied; the answer is what the gateway expects (Alipay: plain
    "success", anything else and it sends again)."""
    account = db.session.get(MerchantAccount, account_id)
    if account is None or account.kind.value != kind or not account.credentials:
        abort(404)
    gateway = gateway_for(account)
    try:
        note = gateway.verify_notification(request)
    except NotificationRefused as exc:
        current_app.logger.warning(
            "%s notification refused for account %s: %s", kind, account.id, exc
        )
        return gateway.acknowledge(False)
    try:
        ok, outcome = _apply(account, note)
    except IntegrityError:
        # The same news committed by a concurrent delivery or query: now a duplicate.
        db.session.rollback()
        ok, outcome = _apply(account, note)
    if not ok:
        current_app.logger.warning("%s notification not applied: %s", kind, outcome)
    return gateway.acknowledge(ok)


def _apply(account, note):
    ok, outcome = online.apply_news(account, note, source="notify")
    if ok:
        commit()
    else:
        db.session.rollback()  # refused news changes nothing
    return ok, outcome
