"""Response headers that every page carries."""

from __future__ import annotations

import re

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError as WTFValidationError

from sharehub.core.errors import ValidationError


def csp(form_targets: str = "") -> str:
    """The policy; `form_targets` lets one page's forms lead elsewhere (the payment page's
    redirect to the gateway's hosted checkout), since form-action also governs redirects."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            f"form-action 'self' {form_targets}".strip(),
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "object-src 'none'",
        ]
    )


CSP = csp()


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def add_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


# --- Characters no form field may carry --------------------------------------------------

# C0 control characters other than tab, line feed and carriage return: PostgreSQL cannot
# store NUL in text at all (psycopg raises DataError, a 500), and the others have no place
# in anything a person types.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Bidirectional embedding, override and isolate characters make a name display as
# something else (a listing or organisation name that reads backwards in lists and PDFs).
BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
NAME_FIELD = re.compile(r"(^|_)name(_en)?$")

CONTROL_MESSAGE = _l(
    "What you entered contains control characters (such as NUL) that cannot be saved. "
    "Remove them and try again."
)
BIDI_MESSAGE = _l(
    "Names cannot contain text-direction control characters (U+202A–U+202E, U+2066–U+2069)."
)


def has_control_characters(text: str) -> bool:
    return bool(CONTROL_CHARACTERS.search(text))


def has_bidi_controls(text: str) -> bool:
    return bool(BIDI_CONTROLS.search(text))


def _json_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def check_input(args, form, json_body=None) -> None:
    """Raises ValidationError for control characters anywhere, bidi controls in names."""
    for source in (args, form):
        for key, values in source.lists():
            if has_control_characters(key) or any(has_control_characters(v) for v in values):
                raise ValidationError(CONTROL_MESSAGE, field=key)
            if NAME_FIELD.search(key) and any(has_bidi_controls(v) for v in values):
                raise ValidationError(BIDI_MESSAGE, field=key)
    if json_body is not None and any(has_control_characters(s) for s in _json_strings(json_body)):
        error = ValidationError(CONTROL_MESSAGE)
        error.status = 422  # an unprocessable body, as the API answers every malformed body
        raise error


def register_input_check(app: Flask) -> None:
    """Refuses such characters before any view sees them (400 in the user's language)."""

    @app.before_request
    def refuse_control_characters():
        json_body = request.get_json(silent=True) if request.is_json else None
        check_input(request.args, request.form, json_body)


def plain_text(form, field) -> None:
    """WTForms validator for names: no control or text-direction characters."""
    value = field.data or ""
    if not isinstance(value, str):
        return
    if has_control_characters(value):
        raise WTFValidationError(str(CONTROL_MESSAGE))
    if has_bidi_controls(value):
        raise WTFValidationError(str(BIDI_MESSAGE))
