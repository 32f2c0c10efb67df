"""Dataset access: a request, the lab's approval where needed, then a secret link that
opens the download until the access period ends. (No API serves dataset content, so a
grant carries no API key.) The grant's price is invoiced by the lab like a booking's."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, User
from sharehub.booking.models import AccessGrant
from sharehub.booking.pricing import quote
from sharehub.catalog.models import Listing, ListingKind
from sharehub.core import audit
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.extensions import db


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_access(
    actor: User, customer: Organisation, listing: Listing, purpose: str
) -> tuple[AccessGrant, str | None]:
    """Returns the grant and, when it is active at once, the token (shown only once)."""
    if actor.membership_in(customer) is None:
        raise PermissionDenied(_l("You do not act for this organisation."))
    if listing.kind != ListingKind.DATASET:
        raise ValidationError(_l("Only datasets grant access for a period."))
    if not listing.is_published or not listing.lab.is_serving:
        raise Conflict(_l("This listing does not take bookings at present."))
    price = quote(listing, customer, 0)
    grant = AccessGrant(
        listing=listing,
        customer_org=customer,
        customer_user_id=actor.id,
        purpose=purpose.strip()[:5000],
        price_tier=price.tier,
        net_amount=price.net,
        vat_rate_bp=price.vat_rate_bp,
        vat_amount=price.vat,
        gross_amount=price.gross,
    )
    db.session.add(grant)
    db.session.flush()
    audit.record(actor, "access.requested", grant, organisation=listing.lab_id)
    token = None if listing.approval_required else _activate(grant)
    db.session.flush()
    return grant, token


def _activate(grant: AccessGrant) -> str:
    token = secrets.token_urlsafe(32)
    grant.token_hash, grant.token_hint = _hash(token), token[:6]
    grant.status = "active"
    grant.starts_dt = utcnow()
    grant.ends_dt = grant.starts_dt + timedelta(days=grant.listing.access_days or 30)
    return token


def approve_access(actor: User, grant: AccessGrant) -> str:
    if not actor.can_manage(grant.listing.lab):
        raise PermissionDenied(_l("Only managers of this laboratory may do this."))
    if grant.status != "pending":
        raise Conflict(_l("This request has already been decided."))
    token = _activate(grant)
    audit.record(actor, "access.approved", grant, organisation=grant.listing.lab_id)
    db.session.flush()
    return token


def renew_token(actor: User, grant: AccessGrant) -> str:
    """A new secret for an active grant (the old link stops working)."""
    if actor.membership_in(grant.customer_org_id) is None:
        raise PermissionDenied(_l("You may not change this access."))
    if not grant.is_usable:
        raise Conflict(_l("This access is not active."))
    token = secrets.token_urlsafe(32)
    grant.token_hash, grant.token_hint = _hash(token), token[:6]
    audit.record(actor, "access.token_renewed", grant, organisation=grant.listing.lab_id)
    db.session.flush()
    return token


def revoke(actor: User, grant: AccessGrant) -> None:
    if not (
        actor.can_manage(grant.listing.lab)
        or actor.membership_in(grant.customer_org_id) is not None
    ):
        raise PermissionDenied(_l("You may not change this access."))
    grant.status = "revoked"
    grant.token_hash = None
    audit.record(actor, "access.revoked", grant, organisation=grant.listing.lab_id)
    db.session.flush()


def grant_for_token(token: str) -> AccessGrant | None:
    grant = db.session.scalar(sa.select(AccessGrant).where(AccessGrant.token_hash == _hash(token)))
    return grant if grant is not None and grant.is_usable else None
