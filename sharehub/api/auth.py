"""Bearer tokens for the API. Session cookies never authenticate an API call: only
`Authorization: Bearer <token>` does, so cross-site requests cannot act for a user."""

from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from sharehub.api.models import ApiToken
from sharehub.api.problems import ApiProblem
from sharehub.api.services import authenticate, hash_token
from sharehub.core.db import utcnow

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ShareHub API"'}


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def require(scope: str) -> ApiToken:
    """The request's token, which must carry `scope`; 401 without a usable token, 403
    without the scope."""
    token = g.get("api_token")
    if token is None:
        plain = _bearer()
        if plain is None:
            raise ApiProblem(
                401, "unauthorized", _("Send a token: Authorization: Bearer <token>."), CHALLENGE
            )
        token = authenticate(plain)
        if token is None:
            raise ApiProblem(
                401,
                "invalid-token",
                _("The token is unknown, expired or revoked."),
                {"WWW-Authenticate": 'Bearer realm="ShareHub API", error="invalid_token"'},
            )
        now = utcnow()
        if token.last_used_dt is None or (now - token.last_used_dt).total_seconds() > 60:
            token.last_used_dt = now  # committed with the request, or on its own below
            from sharehub.extensions import db

            db.session.commit()
        g.api_token = token
    if not token.has_scope(scope):
        raise ApiProblem(
            403,
            "insufficient-scope",
            _("The token lacks the permission %(scope)s.", scope=scope),
        )
    return token


def rate_limit_key() -> str:
    """Per token when one is sent (integrators behind one address get their own
    budget), else per client address."""
    plain = _bearer()
    if plain:
        return "token:" + hash_token(plain)[:32]
    return "ip:" + (get_remote_address() or "-")
