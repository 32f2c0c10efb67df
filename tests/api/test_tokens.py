"""API tokens: made on the account page and shown once, stored hashed, scoped, expiring,
revocable; session cookies never authenticate the API."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.api.models import ApiToken
from sharehub.api.services import hash_token
from sharehub.core.db import utcnow

pytestmark = pytest.mark.usefixtures("english")


def test_token_page_shows_the_token_once_and_stores_its_hash(client, db, firm, login, api):
    org, user = firm
    login(user)
    page = client.post(
        "/account/api-tokens",
        data={"name": "金蝶 ERP", "scopes": ["bookings:read", "invoices:read"], "days": "30"},
    )
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    plain = re.search(r'id="token-value"[^>]*value="(shr_[A-Za-z0-9_-]+)"', html).group(1)
    token = db.session.scalar(sa.select(ApiToken))
    assert token.token_hash == hash_token(plain) and plain not in token.token_hash
    assert token.scopes == ["bookings:read", "invoices:read"]
    assert token.organisation_id == org.id
    assert timedelta(days=29, hours=23) < token.expires_dt - utcnow() <= timedelta(days=30)
    listing = client.get("/account/api-tokens").get_data(as_text=True)
    assert plain not in listing and token.prefix in listing and "金蝶 ERP" in listing

    assert api.get("/api/v1/bookings", token=plain).status_code == 200
    assert token.last_used_dt is not None


def test_token_form_refuses_no_scope(client, db, firm, login):
    login(firm[1])
    page = client.post("/account/api-tokens", data={"name": "x", "days": "90"})
    assert page.status_code == 400
    assert "Choose at least one permission." in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0


def test_missing_invalid_expired_revoked_and_unscoped_tokens(
    client, db, firm, make_token, api, login
):
    org, user = firm
    answer = api.get("/api/v1/bookings")
    assert answer.status_code == 401
    assert answer.get_json()["type"] == "urn:sharehub:problem:unauthorized"
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.get("/api/v1/bookings", token="shr_nope").get_json()["type"] == (
        "urn:sharehub:problem:invalid-token"
    )

    read_only = make_token(user, org, scopes=["invoices:read"])
    denied = api.get("/api/v1/bookings", token=read_only)
    assert denied.status_code == 403
    assert denied.get_json()["type"] == "urn:sharehub:problem:insufficient-scope"

    expired = make_token(user, org)
    db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == hash_token(expired))
    ).expires_dt = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert api.get("/api/v1/bookings", token=expired).status_code == 401

    revoked = make_token(user, org)
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(revoked)))
    login(user)
    response = client.post(f"/account/api-tokens/{row.id}/revoke")
    assert response.status_code == 302
    assert row.revoked_dt is not None
    assert api.get("/api/v1/bookings", token=revoked).status_code == 401


def test_someone_else_cannot_revoke_a_token(client, db, firm, rival, make_token, login):
    token = make_token(*reversed(firm))
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    login(rival[1])
    assert client.post(f"/account/api-tokens/{row.id}/revoke").status_code == 404
    assert row.revoked_dt is None


def test_a_token_stops_working_when_its_user_leaves_the_organisation(db, firm, make_token, api):
    org, user = firm
    token = make_token(user, org)
    assert api.get("/api/v1/bookings", token=token).status_code == 200
    db.session.delete(user.membership_in(org))
    db.session.commit()
    db.session.expire_all()
    assert api.get("/api/v1/bookings", token=token).status_code == 401


def test_session_cookie_does_not_authenticate_the_api(client, firm, login, lab, make_listing):
    login(firm[1])
    listing = make_listing(lab)
    assert client.get("/api/v1/bookings").status_code == 401
    created = client.post(
        "/api/v1/bookings",
        json={
            "listing_id": listing.id,
            "starts_at": "2030-01-07T09:30:00+08:00",
            "ends_at": "2030-01-07T10:30:00+08:00",
        },
    )
    assert created.status_code == 401


def test_credentials_are_checked_before_the_body(client):
    """An anonymous caller learns nothing of the schema: a bad body without a token is a
    401 problem in the caller's language, not the body's field errors."""
    for body in ({"listing_id": "x", "starts_at": 5}, {}, []):
        answer = client.post("/api/v1/bookings", json=body, headers={"Accept-Language": "zh-CN"})
        assert answer.status_code == 401
        problem = answer.get_json()
        assert problem["type"] == "urn:sharehub:problem:unauthorized"
        assert "errors" not in problem and "listing_id" not in answer.get_data(as_text=True)
        assert "令牌" in problem["detail"]
