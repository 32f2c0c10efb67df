"""Errors of the JSON API as RFC 9457 problem details (application/problem+json).

Each problem has a stable `type` (urn:sharehub:problem:<slug>) that integrators can
switch on; `title` and `detail` are for people and follow Accept-Language.
"""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, json, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from sharehub.core.errors import DomainError

PROBLEM_JSON = "application/problem+json"
API_PREFIX = "/api/v1"

SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "rate-limited",
    500: "server-error",
}


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, with the members ShareHub adds."""

    type = ma.fields.String(
        required=True, metadata={"description": "Stable identifier: urn:sharehub:problem:<slug>"}
    )
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    field = ma.fields.String(metadata={"description": "The input field at fault, if one"})
    errors = ma.fields.Dict(metadata={"description": "Messages per invalid input field"})
    alternatives = ma.fields.List(
        ma.fields.Dict(),
        metadata={"description": "Free slots of the same length ({starts_at, ends_at})"},
    )


class ApiProblem(Exception):
    """Raised by API views for problems that have no domain error (token, scope)."""

    def __init__(self, status: int, slug: str, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.slug, self.detail, self.headers = status, slug, detail, headers or {}


TITLES = {
    401: _l("Authentication needed"),
    404: _l("Not found"),
    415: _l("Unsupported media type"),
    422: _l("Invalid input"),
    429: _l("Too many requests"),
}


def problem(status: int, slug: str | None = None, detail=None, headers=None, **extra):
    from sharehub.core.errors import ERROR_TITLES

    title = TITLES.get(status) or ERROR_TITLES.get(status, ERROR_TITLES[400])
    body = {
        "type": f"urn:sharehub:problem:{slug or SLUGS.get(status, 'error')}",
        "title": str(title),
        "status": status,
    }
    if detail:
        body["detail"] = str(detail)
    body.update({k: v for k, v in extra.items() if v is not None})
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def is_api_request() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def domain_problem(exc: DomainError):
    from sharehub.booking.services import SlotTaken

    if isinstance(exc, SlotTaken):
        return problem(
            409,
            "slot-taken",
            exc.message,
            alternatives=[
                {"starts_at": a.isoformat(), "ends_at": b.isoformat()} for a, b in exc.alternatives
            ],
        )
    slug = {400: "invalid-input", 403: "forbidden", 404: "not-found", 409: "conflict"}.get(
        exc.status, SLUGS.get(exc.status)
    )
    return problem(exc.status, slug, exc.message, field=exc.field)


def register_problem_handlers(app) -> None:
    """Answer errors under /api/v1 as problem+json, and leave the HTML error pages of the
    rest of the site as they are (the existing handlers are wrapped, not replaced)."""
    from sharehub.extensions import db

    spec = app.error_handler_spec.setdefault(None, {}).setdefault(None, {})
    html_http = spec.get(HTTPException)
    html_domain = spec.get(DomainError)
    html_500 = app.error_handler_spec[None].get(500, {}).get(InternalServerError)

    def http_error(exc: HTTPException):
        if not is_api_request() or exc.code is None or exc.code < 400:
            return html_http(exc) if html_http else exc
        if exc.code >= 500:
            db.session.rollback()
        data = getattr(exc, "data", None) or {}
        errors = data.get("errors") or data.get("messages")
        detail = data.get("message") or (
            _("Check the input fields named in errors.") if errors else exc.description
        )
        headers = dict(data.get("headers") or {})
        if exc.code == 429:
            detail = _("Too many requests; wait before trying again.")
        if exc.code == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        return problem(exc.code, None, detail, headers=headers, errors=_flat(errors))

    def domain_error(exc: DomainError):
        if not is_api_request():
            return html_domain(exc)
        db.session.rollback()
        return domain_problem(exc)

    def api_problem(exc: ApiProblem):
        db.session.rollback()
        return problem(exc.status, exc.slug, exc.detail, headers=exc.headers)

    def server_error(exc):
        if not is_api_request():
            return html_500(exc)
        db.session.rollback()
        app.logger.error("500 on %s", request.path)
        return problem(500, None, _("The error was logged. Please try again later."))

    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(DomainError, domain_error)
    app.register_error_handler(ApiProblem, api_problem)
    app.register_error_handler(500, server_error)


def _flat(errors):
    """webargs nests messages by location ({"json": {...}}); integrators want the fields."""
    if not errors:
        return None
    if isinstance(errors, dict) and set(errors) <= {"json", "query", "path", "form", "headers"}:
        merged: dict = {}
        for part in errors.values():
            if isinstance(part, dict):
                merged.update(part)
        return merged
    return errors if isinstance(errors, dict) else {"_": errors}
