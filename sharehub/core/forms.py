"""The forms and helpers every domain's pages share."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import abort, flash, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import StopValidation

from sharehub.core.errors import DomainError, ValidationError
from sharehub.core.i18n import user_zone
from sharehub.core.inputs import (
    INT32_MAX,
    parse_date,
    parse_datetime,
    parse_fen,
    parse_id,
    parse_int,
)


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


class TypedField(StringField):
    """Text read by one of `core.inputs`' parsers (`parse`): the field's data is the parsed
    value (`empty` when nothing was typed), the parser's translated message is the field's
    error, and the page shown again keeps what was typed."""

    def __init__(self, label=None, validators=None, *, parse, empty=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.parse, self.empty = parse, empty

    def process_formdata(self, valuelist):
        text = valuelist[0] if valuelist else ""
        try:
            value = self.parse(text)
        except DomainError as exc:
            self.data = None
            raise ValueError(str(exc.message)) from None
        self.data = self.empty if value is None else value

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


def WholeNumberField(label=None, validators=None, *, minimum=0, maximum=INT32_MAX, **kwargs):
    """A whole number within bounds; the message names the bounds."""
    return TypedField(
        label,
        validators,
        parse=lambda text: parse_int(text, minimum=minimum, maximum=maximum),
        **kwargs,
    )


def IdField(label=None, validators=None, **kwargs):
    return TypedField(label, validators, parse=parse_id, **kwargs)


def YuanField(label=None, validators=None, **kwargs):
    """An amount typed in yuan, kept in integer fen."""
    return TypedField(label, validators, parse=parse_fen, **kwargs)


def DayField(label=None, validators=None, **kwargs):
    """A date as YYYY-MM-DD within the years the platform keeps."""
    return TypedField(label, validators, parse=parse_date, **kwargs)


def _local_time(text: str, unreadable) -> datetime | None:
    parsed = parse_datetime(text)
    if parsed is None:
        if unreadable is not None and text.strip():
            raise ValidationError(unreadable)
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=user_zone())


def LocalTimeField(label=None, validators=None, *, unreadable=None, **kwargs):
    """A date and time, in the user's zone unless it says otherwise; within 2000–2100.
    Text that is no date and time is empty, or refused with `unreadable` when given."""
    return TypedField(label, validators, parse=lambda text: _local_time(text, unreadable), **kwargs)


def ChoiceOf(enum, message, default=None):
    """A parser for one of an enum's values (`default` when nothing was sent)."""

    def parse(text: str):
        try:
            return enum(text or default)
        except ValueError:
            raise ValidationError(message) from None

    return parse


class Required:
    """The field must have a value; a field its parser refused keeps the parser's message."""

    def __init__(self, message):
        self.message = message
        self.field_flags = {"required": True}

    def __call__(self, form, field):
        if field.errors:
            raise StopValidation()
        if field.data is None or (isinstance(field.data, str) and not field.data.strip()):
            raise StopValidation(self.message)


def csrf_refused(form) -> bool:
    """The form came without its valid CSRF token (answered with a bare 400)."""
    token = getattr(form, "csrf_token", None)
    return token is not None and bool(token.errors)


def first_errors(form) -> list[str]:
    """The form's messages, each once, in field order."""
    seen: list[str] = []
    for field in form:
        for error in field.errors:
            if str(error) not in seen:
                seen.append(str(error))
    return seen


def refuse_form(form, again, status: int = 400):
    """The page again with the form's messages and `status` (a form that did not validate);
    a form without its valid CSRF token is a bare 400."""
    if csrf_refused(form):
        abort(400)
    for message in first_errors(form):
        flash(message, "danger")
    answer = again()
    if isinstance(answer, tuple):
        answer = answer[0]
    return answer, status


def typed(form) -> dict:
    """What was typed into each field, to fill the page shown again."""
    return {field.name: field.raw_data[0] for field in form if field.raw_data}
