"""Pages around the API: its documentation, a user's API tokens, and an organisation's
webhook endpoints with their delivery log."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.accounts.session import current_org
from sharehub.api import services
from sharehub.api.forms import TokenForm, WebhookForm
from sharehub.api.models import EVENTS, SCOPES, ApiToken, WebhookDelivery, WebhookEndpoint
from sharehub.core.actions import page, perform
from sharehub.core.forms import ConfirmForm
from sharehub.extensions import db

bp = Blueprint("api_pages", __name__)


@bp.route("/api/v1/docs")
def docs():
    """Swagger UI from static/vendor reading the live document; it runs under the site's
    strict Content-Security-Policy (no inline script or style needed)."""
    return render_template("api/docs.html")


def _checked() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


@bp.route("/account/api-tokens", methods=["GET", "POST"])
@login_required
def tokens():
    org = current_org()
    form = TokenForm()
    if request.method == "GET":
        return _tokens_page(form, org)
    if org is None:
        abort(404)
    if not form.validate_on_submit():
        return _tokens_page(form, org), 400
    return perform(
        lambda: services.create_token(
            current_user, org, form.name.data, form.scopes.data, form.days.data
        ),
        # Shown in this answer only: never put in the session or a redirect.
        done=lambda created: _tokens_page(TokenForm(formdata=None), org, created),
        again=lambda: _tokens_page(form, org),
    )


def _tokens_page(form: TokenForm, org, created=None):
    rows = db.session.scalars(
        sa.select(ApiToken)
        .where(ApiToken.user_id == current_user.id)
        .order_by(ApiToken.revoked_dt.is_not(None), ApiToken.created_dt.desc())
    ).all()
    return render_template(
        "api/tokens.html",
        form=form,
        org=org,
        tokens=rows,
        created=created,
        scopes=SCOPES,
        confirm_form=ConfirmForm(),
    )


@bp.route("/account/api-tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    _checked()
    token = db.session.get(ApiToken, token_id)
    if token is None:
        abort(404)
    return perform(
        lambda: services.revoke_token(current_user, token),  # NotFound for someone else's
        done=url_for("api_pages.tokens"),
        success=_("The token has been revoked; it no longer works."),
        again=lambda: _tokens_page(TokenForm(formdata=None), current_org()),
    )


def _managed_org():
    org = current_org()
    if org is None or not current_user.can_manage(org):
        abort(403)
    return org


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or not current_user.can_manage(endpoint.organisation):
        abort(404)
    return endpoint


@bp.route("/account/webhooks", methods=["GET", "POST"])
@login_required
def webhooks():
    org = _managed_org()
    form = WebhookForm()
    if request.method == "GET":
        return _webhooks_page(form, org)
    if not form.validate_on_submit():
        return _webhooks_page(form, org), 400
    return perform(
        lambda: services.create_endpoint(current_user, org, form.url.data, form.events.data),
        # The secret is shown in this answer only.
        done=lambda created: _webhooks_page(WebhookForm(formdata=None), org, created),
        again=lambda: _webhooks_page(form, org),
    )


def _webhooks_page(form: WebhookForm, org, created=None):
    endpoints = db.session.scalars(
        sa.select(WebhookEndpoint)
        .where(WebhookEndpoint.organisation_id == org.id)
        .order_by(WebhookEndpoint.id)
    ).all()
    return render_template(
        "api/webhooks.html",
        form=form,
        org=org,
        endpoints=endpoints,
        created=created,
        events=EVENTS,
        confirm_form=ConfirmForm(),
    )


@bp.route("/account/webhooks/<int:endpoint_id>")
@login_required
def deliveries(endpoint_id: int):
    endpoint = _endpoint(endpoint_id)
    rows = db.session.scalars(
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(200)
    ).all()
    return render_template(
        "api/deliveries.html",
        endpoint=endpoint,
        deliveries=rows,
        events=EVENTS,
        confirm_form=ConfirmForm(),
    )


@bp.route(
    "/account/webhooks/<int:endpoint_id>/<any(enable, disable, delete):action>",
    methods=["POST"],
)
@login_required
def endpoint_action(endpoint_id: int, action: str):
    endpoint = _endpoint(endpoint_id)
    _checked()

    def change():
        if action == "delete":
            services.delete_endpoint(current_user, endpoint)
        else:
            services.set_endpoint_active(current_user, endpoint, action == "enable")

    return perform(
        change,
        done=url_for("api_pages.webhooks"),
        success=_("The endpoint has been deleted.")
        if action == "delete"
        else _("The endpoint has been updated."),
        again=lambda: _webhooks_page(WebhookForm(formdata=None), endpoint.organisation),
    )


@bp.route("/account/webhooks/deliveries/<int:delivery_id>/redeliver", methods=["POST"])
@login_required
def redeliver(delivery_id: int):
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or not current_user.can_manage(delivery.endpoint.organisation):
        abort(404)
    _checked()
    return perform(
        lambda: services.redeliver(current_user, delivery),
        done=url_for("api_pages.deliveries", endpoint_id=delivery.endpoint_id),
        success=_("The event is being sent again; see the new line in the log."),
        again=page("api_pages.deliveries", endpoint_id=delivery.endpoint_id),
    )
