"""Forms of the administration pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, Regexp

from sharehub.core.forms import coerce_optional_int


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (the laboratory will read it)"), validators=[InputRequired(), Length(max=2000)]
    )
    submit = SubmitField(_l("Reject"))


class ClusterForm(FlaskForm):
    name = StringField(_l("Name (Chinese)"), validators=[InputRequired(), Length(max=100)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=150)])
    region_id = SelectField(_l("City"), coerce=coerce_optional_int, validators=[Optional()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])
    is_active = BooleanField(_l("Offered at sign-up"), default=True)
    submit = SubmitField(_l("Save"))


class RegionForm(FlaskForm):
    code = StringField(
        _l("Code (GB/T 2260)"),
        validators=[InputRequired(), Regexp(r"^\d{6}$", message=_l("Six digits."))],
    )
    name = StringField(_l("Name (Chinese)"), validators=[InputRequired(), Length(max=64)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=64)])
    parent_id = SelectField(_l("Province"), coerce=coerce_optional_int, validators=[Optional()])
    submit = SubmitField(_l("Save"))


class ReasonForm(FlaskForm):
    """Why a listing or a change is refused."""

    reason = TextAreaField(
        _l("Reason (the laboratory will read it)"), validators=[InputRequired(), Length(max=2000)]
    )
    submit = SubmitField(_l("Reject"))
