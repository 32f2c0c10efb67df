"""Forms of the supervision pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from sharehub.core.forms import coerce_optional_int


class StatusForm(FlaskForm):
    target = SelectField(_l("New status"), validators=[InputRequired()])
    reason = TextAreaField(
        _l("Reason (the laboratory and its customers read it)"),
        validators=[InputRequired(), Length(max=2000)],
    )
    submit = SubmitField(_l("Change the status"))


class DrawForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])
    kind = SelectField(_l("Draw from"), validators=[InputRequired()])
    sample_size = IntegerField(
        _l("Sample size"), validators=[InputRequired(), NumberRange(min=1, max=500)], default=3
    )
    start = DateField(_l("Period from (service records)"), validators=[Optional()])
    end = DateField(_l("Period to (service records)"), validators=[Optional()])
    cluster = SelectField(
        _l("Industrial cluster"), coerce=coerce_optional_int, validators=[Optional()]
    )
    seed = StringField(
        _l("Seed (leave empty for a random one; the same seed gives the same sample)"),
        validators=[Optional(), Length(max=64)],
    )
    submit = SubmitField(_l("Draw the sample"))


class FindingForm(FlaskForm):
    result = SelectField(_l("Result"), validators=[InputRequired()])
    findings = TextAreaField(_l("Findings"), validators=[Optional(), Length(max=5000)])
    submit = SubmitField(_l("Record the finding"))


class NoticeForm(FlaskForm):
    findings = TextAreaField(
        _l("What must be rectified"), validators=[InputRequired(), Length(max=5000)]
    )
    requirements = TextAreaField(
        _l("Requirements and evidence expected"), validators=[Optional(), Length(max=5000)]
    )
    deadline = DateField(_l("Deadline"), validators=[InputRequired()])
    place_under_rectification = BooleanField(
        _l("Place the laboratory under rectification (it keeps serving customers)"), default=True
    )
    submit = SubmitField(_l("Issue the notice"))


class AnswerForm(FlaskForm):
    response = TextAreaField(
        _l("What the laboratory did"), validators=[InputRequired(), Length(max=5000)]
    )
    evidence = MultipleFileField(_l("Evidence (PDF or images, up to 20 MB each)"))
    submit = SubmitField(_l("Send the answer"))


class DecideForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
    target = SelectField(_l("Escalate to"), validators=[Optional()])


class RoundForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])
    scheme = SelectField(_l("Scheme"), coerce=int, validators=[InputRequired()])
    start = DateField(_l("First day"), validators=[InputRequired()])
    end = DateField(_l("Last day"), validators=[InputRequired()])
    submit = SubmitField(_l("Open the round"))


class ReviewForm(FlaskForm):
    lab = SelectField(_l("Laboratory"), coerce=int, validators=[InputRequired()])
    indicator = SelectField(_l("Indicator"), validators=[InputRequired()])
    points = DecimalField(_l("Points"), places=2, validators=[InputRequired()])
    comment = TextAreaField(_l("Comment"), validators=[InputRequired(), Length(max=2000)])
    submit = SubmitField(_l("Save the review"))


class IndicatorForm(FlaskForm):
    weight = DecimalField(_l("Weight"), places=4, validators=[InputRequired()])
    target = DecimalField(_l("Target"), places=4, validators=[InputRequired()])
    cap = DecimalField(_l("Cap (points)"), places=2, validators=[InputRequired()])
    submit = SubmitField(_l("Save"))
