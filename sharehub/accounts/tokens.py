"""Signed, expiring tokens for emailed links.

A reset token carries a fingerprint of the current password hash, so it stops
working the moment the password changes: single-use without a table.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from sharehub.accounts.models import User


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"sharehub.{purpose}")


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def make_verify_token(user: User) -> str:
    return _serializer("verify").dumps({"u": user.id, "e": _fingerprint(user.email)})


def make_reset_token(user: User) -> str:
    return _serializer("reset").dumps({"u": user.id, "p": _fingerprint(user.password_hash)})


class TokenError(Exception):
    def __init__(self, expired: bool):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def load_token(purpose: str, token: str, max_age: int) -> dict:
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenError(expired=True) from exc
    except BadSignature as exc:
        raise TokenError(expired=False) from exc
    if not isinstance(data, dict) or "u" not in data:
        raise TokenError(expired=False)
    return data


def verify_fingerprint(value: str, fingerprint: str) -> bool:
    return _fingerprint(value) == fingerprint
