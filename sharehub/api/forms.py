"""Forms of the API token and webhook pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    URLField,
)
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from sharehub.api.models import EVENTS, SCOPES
from sharehub.api.services import EXPIRY_DAYS


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=100)])
    scopes = CheckboxesField(
        _l("Permissions"), choices=[SelectChoice(k, label) for k, label in SCOPES.items()]
    )
    days = SelectField(
        _l("Valid for"),
        coerce=int,
        default=90,
        choices=[SelectChoice(d, _l("%(n)s days", n=d)) for d in EXPIRY_DAYS],
    )
    submit = SubmitField(_l("Create the token"))


class WebhookForm(FlaskForm):
    url = URLField(_l("Address (URL)"), validators=[InputRequired(), Length(max=500)])
    events = CheckboxesField(
        _l("Events"), choices=[SelectChoice(k, label) for k, label in EVENTS.items()]
    )
    submit = SubmitField(_l("Add the endpoint"))
