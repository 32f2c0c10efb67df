"""Forms of the competence pages: the lab's requirements, grants and training records;
a user's training request and session booking."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.widgets import CheckboxInput, ListWidget

from sharehub.competence.models import LEVEL_LABELS, Level
from sharehub.core.forms import (
    IdField,
    LocalTimeField,
    Required,
    TypedField,
    WholeNumberField,
)
from sharehub.core.inputs import INT32_MAX, parse_int

CHOOSE_TIME = _l("Choose a start time and a duration.")


def _any_int(text: str):
    # Any whole number: the service says what a validity may be (1 to 120 months).
    return parse_int(text, minimum=-INT32_MAX, maximum=INT32_MAX)


LEVEL_CHOICES = [SelectChoice(level.value, label) for level, label in LEVEL_LABELS.items()]


class RequirementForm(FlaskForm):
    name = StringField(_l("Name"), default="")
    validity_months = TypedField(
        _l("Validity (months)"),
        [Required(_l("Give the validity in months."))],
        parse=_any_int,
    )
    course = StringField(_l("Training course"), default="")
    pass_score = WholeNumberField(_l("Pass mark of the test (0–100, blank: no test)"), maximum=100)
    assistance_required = BooleanField(
        _l("Everyone books these instruments with a staff operator"), false_values=("", "0")
    )
    listing_ids = SelectMultipleField(_l("Listings"), coerce=int, validate_choice=False, choices=[])
    staff_listing_id = IdField(_l("Staff calendar (expert-time listing of the operators)"))
    trainer_listing_id = IdField(_l("Trainers' calendar (expert-time listing)"))
    levels = SelectMultipleField(
        _l("Levels the laboratory grants"),
        choices=LEVEL_CHOICES,
        default=[level.value for level in Level],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    prerequisite_ids = SelectMultipleField(
        _l("Prerequisites (held before this one is granted)"),
        coerce=int,
        validate_choice=False,
        choices=[],
    )


class RevokeForm(FlaskForm):
    reason = TextAreaField(_l("Reason (the holder reads it)"), default="")


class GrantForm(FlaskForm):
    email = StringField(_l("User's email"), default="")
    level = SelectField(_l("Level"), choices=LEVEL_CHOICES, default=Level.INDEPENDENT.value)


class RecordForm(FlaskForm):
    email = StringField(_l("User's email"), default="")
    request_id = IdField(_l("Training request"))
    score = StringField(_l("Test score (0–100)"), default="")
    level = SelectField(
        _l("Authorise at level"),
        choices=[SelectChoice("", _l("No authorisation yet")), *LEVEL_CHOICES],
        default=Level.INDEPENDENT.value,
        validate_choice=False,
    )
    certificate = FileField(_l("Certificate (PDF or image)"))


class TrainingRequestForm(FlaskForm):
    note = StringField(_l("Note for the laboratory"), default="")


class SessionForm(FlaskForm):
    start = LocalTimeField(_l("Start"), [Required(CHOOSE_TIME)])
    minutes = WholeNumberField(
        _l("Duration (minutes)"), [Required(CHOOSE_TIME)], minimum=1, maximum=24 * 60
    )
