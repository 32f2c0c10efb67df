"""API tokens and webhook endpoints: created, listed and revoked by their owners.

A token or a webhook secret is returned once, at creation; only the token's hash is
stored. Every change is audited and flushed; the caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, User
from sharehub.api.models import (
    EVENTS,
    SCOPES,
    ApiToken,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from sharehub.core import audit
from sharehub.core.db import utcnow
from sharehub.core.errors import NotFound, PermissionDenied, ValidationError
from sharehub.extensions import db

TOKEN_PREFIX = "shr_"
EXPIRY_DAYS = (30, 90, 180, 365)
MAX_TOKENS_PER_USER = 50
MAX_ENDPOINTS_PER_ORG = 20


def hash_token(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(
    actor: User, org: Organisation, name: str, scopes: list[str], days: int
) -> tuple[ApiToken, str]:
    """A new token of `actor` acting for `org`; returns it with the plain value."""
    if actor.membership_in(org) is None:
        raise PermissionDenied(_l("You do not act for this organisation."))
    name = (name or "").strip()
    if not name:
        raise ValidationError(_l("Name the token, e.g. after the system that uses it."), "name")
    scopes = sorted(set(scopes or []))
    if not scopes or not set(scopes) <= set(SCOPES):
        raise ValidationError(_l("Choose at least one permission."), "scopes")
    if days not in EXPIRY_DAYS:
        raise ValidationError(_l("Choose how long the token stays valid."), "days")
    count = db.session.execute(
        sa.select(sa.func.count(ApiToken.id)).where(
            ApiToken.user_id == actor.id, ApiToken.revoked_dt.is_(None)
        )
    ).scalar_one()
    if count >= MAX_TOKENS_PER_USER:
        raise ValidationError(_l("You have too many tokens; revoke unused ones first."))
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=actor.id,
        organisation_id=org.id,
        name=name[:100],
        prefix=plain[:10],
        token_hash=hash_token(plain),
        scopes=scopes,
        expires_dt=utcnow() + timedelta(days=days),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(actor, "api_token.created", token, organisation=org, scopes=scopes, days=days)
    db.session.flush()
    return token, plain


def revoke_token(actor: User, token: ApiToken) -> None:
    """The token's user revokes it; an owner of the organisation may revoke any of its
    tokens (a colleague who left, a leaked key)."""
    if token.user_id != actor.id and not actor.can_manage_members(token.organisation):
        raise NotFound(_l("No such token."))
    if token.revoked_dt is None:
        token.revoked_dt = utcnow()
        audit.record(actor, "api_token.revoked", token, organisation=token.organisation_id)
    db.session.flush()


def authenticate(plain: str) -> ApiToken | None:
    """The usable token with this value, whose user still belongs to its organisation."""
    if not plain or not plain.startswith(TOKEN_PREFIX) or len(plain) > 100:
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))
    if token is None or not token.is_usable or token.user.disabled:
        return None
    if token.user.membership_in(token.organisation_id) is None:
        return None
    return token


# --- webhook endpoints ---------------------------------------------------------------------


def _require_manager(actor: User, org: Organisation) -> None:
    if not actor.can_manage(org):
        raise PermissionDenied(_l("Only owners and managers of the organisation do this."))


def _check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        raise ValidationError(
            _l("Give the full address, starting with https:// (or http://)."), "url"
        )
    return url


def create_endpoint(
    actor: User, org: Organisation, url: str, events: list[str]
) -> tuple[WebhookEndpoint, str]:
    _require_manager(actor, org)
    url = _check_url(url)
    events = sorted(set(events or []))
    if not events or not set(events) <= set(EVENTS):
        raise ValidationError(_l("Choose at least one event."), "events")
    count = db.session.execute(
        sa.select(sa.func.count(WebhookEndpoint.id)).where(
            WebhookEndpoint.organisation_id == org.id
        )
    ).scalar_one()
    if count >= MAX_ENDPOINTS_PER_ORG:
        raise ValidationError(_l("The organisation has too many webhook endpoints."))
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        organisation_id=org.id, url=url, secret=secret, events=events, created_by_id=actor.id
    )
    db.session.add(endpoint)
    db.session.flush()
    audit.record(actor, "webhook.created", endpoint, organisation=org, url=url, events=events)
    db.session.flush()
    return endpoint, secret


def set_endpoint_active(actor: User, endpoint: WebhookEndpoint, active: bool) -> None:
    _require_manager(actor, endpoint.organisation)
    if endpoint.is_active != active:
        endpoint.is_active = active
        audit.record(
            actor,
            "webhook.enabled" if active else "webhook.disabled",
            endpoint,
            organisation=endpoint.organisation_id,
        )
    db.session.flush()


def delete_endpoint(actor: User, endpoint: WebhookEndpoint) -> None:
    _require_manager(actor, endpoint.organisation)
    audit.record(
        actor, "webhook.deleted", endpoint, organisation=endpoint.organisation_id, url=endpoint.url
    )
    db.session.delete(endpoint)
    db.session.flush()


def redeliver(actor: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the same event (same id, same payload) again as a new delivery."""
    endpoint = delivery.endpoint
    _require_manager(actor, endpoint.organisation)
    again = WebhookDelivery(
        endpoint=endpoint,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        payload=delivery.payload,
        status=DeliveryStatus.PENDING,
        next_attempt_dt=utcnow(),
    )
    db.session.add(again)
    db.session.flush()
    audit.record(
        actor,
        "webhook.redelivered",
        endpoint,
        organisation=endpoint.organisation_id,
        delivery=delivery.id,
        event=delivery.event_id,
    )
    from sharehub.api.webhooks import send_after_request

    send_after_request([again.id])
    db.session.flush()
    return again
