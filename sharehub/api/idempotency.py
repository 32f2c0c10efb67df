"""The one transaction of an API write, and its `Idempotency-Key` header.

Every POST of the API runs through `write(scope)`: the view only flushes; the answer is
serialised, then committed once together with what the view wrote. With an
`Idempotency-Key` header (as Stripe takes it) the answer is stored in that same
transaction, so a client whose answer was lost after the commit (a killed worker, a
dropped connection) retries with the same key and reads the same answer instead of
booking twice or being told its own slot is taken.

- The same key (per user) with the same request answers the stored status and body, with
  `Idempotent-Replayed: true`, for 24 hours.
- The same key with another request (method, path, organisation or body) answers 422.
- The key is claimed before the work starts: a second request with the key waits for the
  first one's transaction and then replays its answer; if the first one is still running
  after LOCK_WAIT, the second answers 409 `request-in-progress` (retry later).
- Errors are not stored: a request that failed rolled back everything, key included, so
  its retry runs again.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import timedelta

import flask_smorest
import sqlalchemy as sa
from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError, OperationalError

from sharehub.api.auth import require
from sharehub.api.models import ApiToken, IdempotencyKey
from sharehub.api.problems import ApiProblem
from sharehub.core.db import utcnow
from sharehub.core.tx import commit
from sharehub.extensions import db

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEY_LIFETIME = timedelta(hours=24)
LOCK_WAIT = "10s"  # how long a retry waits for the first request with its key (PostgreSQL)
MAX_KEY_LENGTH = 255

PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    # Printable ASCII; no space at either end, which HTTP would strip from the value.
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$",
    },
    "description": (
        "A unique value per operation (a UUID), to retry safely: the same key with the same "
        "request answers the first answer again (status and body, with header "
        "`Idempotent-Replayed: true`) for 24 hours instead of acting twice. The same key with "
        "a different request answers 422 `idempotency-key-reused`; while the first request "
        "with the key is still running, 409 `request-in-progress` (retry after a moment). "
        "Only successful answers are kept: after an error the retry runs again."
    ),
}
DOC = {
    "parameters": [PARAMETER],
    "responses": {"409": "CONFLICT", "422": "UNPROCESSABLE_ENTITY"},
}


def write(scope: str):
    """Decorate an API write view (under the route): token and scope, the key, one commit."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            token = require(scope)
            key = request.headers.get(HEADER)
            claimed = None
            if key is not None:
                claimed = _claim(token, _checked(key))
                if not isinstance(claimed, IdempotencyKey):
                    return claimed  # the stored answer
            try:
                response = current_app.make_response(view(*args, **kwargs))
                if claimed is not None:
                    if 200 <= response.status_code < 300:
                        claimed.status_code = response.status_code
                        claimed.response_body = response.get_data(as_text=True)
                        claimed.content_type = response.content_type or ""
                    else:
                        db.session.delete(claimed)
                commit()
            except Exception:
                db.session.rollback()
                raise
            return response

        return flask_smorest.Blueprint.doc(**DOC)(wrapper)

    return decorator


def _checked(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not (key.isascii() and key.isprintable()):
        raise ApiProblem(
            400,
            "invalid-idempotency-key",
            _("The Idempotency-Key header holds 1 to 255 printable ASCII characters."),
        )
    return key


def _fingerprint(token: ApiToken) -> str:
    body = request.get_data(cache=True)
    try:
        canonical = json.dumps(
            json.loads(body or b"null"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    text = f"{request.method} {request.path} {token.organisation_id}\n{canonical}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _stored(user_id: int, key: str) -> IdempotencyKey | None:
    return db.session.scalar(
        sa.select(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
        )
    )


def _claim(token: ApiToken, key: str):
    """The claimed row (the request runs), or the stored answer's response."""
    fingerprint = _fingerprint(token)
    user_id = token.user_id
    # Keys live a day: drop the user's expired ones, this key's among them.
    db.session.execute(
        sa.delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id,
            IdempotencyKey.created_dt <= utcnow() - KEY_LIFETIME,
        )
    )
    stored = _stored(user_id, key)
    if stored is not None:
        return _replay(stored, fingerprint)
    row = IdempotencyKey(user_id=user_id, key=key, request_hash=fingerprint)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    try:
        with db.session.begin_nested():
            if postgres:  # wait for a concurrent holder of the key, not forever
                db.session.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
            db.session.add(row)
            db.session.flush()
        if postgres:
            db.session.execute(sa.text("SET LOCAL lock_timeout = DEFAULT"))
    except IntegrityError:
        # Another request with this key committed first: its answer is ours.
        stored = _stored(user_id, key)
        if stored is None:
            raise _in_progress() from None
        return _replay(stored, fingerprint)
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
            raise _in_progress() from None
        raise
    return row


def _in_progress() -> ApiProblem:
    return ApiProblem(
        409,
        "request-in-progress",
        _("A request with this Idempotency-Key is still being processed; retry in a moment."),
        {"Retry-After": "1"},
    )


def _replay(stored: IdempotencyKey, fingerprint: str):
    if stored.request_hash != fingerprint:
        raise ApiProblem(
            422,
            "idempotency-key-reused",
            _(
                "This Idempotency-Key was used for a different request; use a new key for "
                "each operation."
            ),
        )
    if not stored.status_code:
        raise _in_progress()
    response = current_app.response_class(
        stored.response_body, status=stored.status_code, content_type=stored.content_type
    )
    response.headers[REPLAYED] = "true"
    return response
