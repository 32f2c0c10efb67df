"""The forms and helpers every domain's pages share."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField

from sharehub.core.errors import DomainError


def attach_error(form, exc: DomainError) -> None:
    """Show a service's error beside the field it concerns, or at the top of the form."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = list(field.errors) + [str(exc.message)]
    else:
        flash(str(exc.message), "danger")


def safe_next(default_endpoint: str = "core.home") -> str:
    """A same-site path to return to after a form, never an outside address."""
    target = request.values.get("next", "")
    parts = urlsplit(target)
    if (
        target
        and not parts.scheme
        and not parts.netloc
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
    ):
        return target
    return url_for(default_endpoint)


def coerce_optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


class ConfirmForm(FlaskForm):
    """A bare form for buttons that change state (CSRF only)."""

    submit = SubmitField(_l("Confirm"))
