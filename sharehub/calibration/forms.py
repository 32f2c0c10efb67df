"""Forms of the calibration pages: a certificate, the block-or-flag choice, a planned
calibration."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from sharehub.calibration.models import (
    KIND_LABELS,
    RESULT_LABELS,
    CertificateKind,
    CertificateResult,
)
from sharehub.calibration.services import CertificateData
from sharehub.core.forms import DayField, LocalTimeField, Required


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(k.value, v) for k, v in labels.items()]


class CertificateForm(FlaskForm):
    kind = SelectField(
        _l("Kind"), choices=_choices(KIND_LABELS), default=CertificateKind.CALIBRATION.value
    )
    issuing_body = StringField(
        _l("Issuing body"),
        validators=[
            InputRequired(_l("Name the body that issued the certificate.")),
            Length(max=200),
        ],
    )
    number = StringField(
        _l("Certificate number"),
        validators=[InputRequired(_l("Give the certificate's number.")), Length(max=100)],
    )
    issued_date = DayField(_l("Date of issue"), [Required(_l("Give the date of issue."))])
    due_date = DayField(_l("Due date"), [Required(_l("Give the due date."))])
    result = SelectField(
        _l("Result"), choices=_choices(RESULT_LABELS), default=CertificateResult.PASS.value
    )
    restrictions = TextAreaField(
        _l("Restrictions (for a pass with restrictions)"),
        validators=[Optional(), Length(max=5000)],
    )
    pdf = FileField(_l("Certificate (PDF)"), validators=[InputRequired(_l("Attach the PDF."))])
    submit = SubmitField(_l("Record certificate"))

    def certificate_data(self) -> CertificateData:
        return CertificateData(
            kind=CertificateKind(self.kind.data),
            issuing_body=self.issuing_body.data or "",
            number=self.number.data or "",
            issued_date=self.issued_date.data,
            due_date=self.due_date.data,
            result=CertificateResult(self.result.data),
            restrictions=self.restrictions.data or "",
        )


class PolicyForm(FlaskForm):
    policy = SelectField(
        _l("When a unit's certificate is overdue or failed"),
        choices=[
            SelectChoice("flag", _l("Flag it: bookings are taken with a warning")),
            SelectChoice("block", _l("Block it: the unit takes no bookings")),
        ],
    )
    submit = SubmitField(_l("Save"))


class PlanForm(FlaskForm):
    starts = LocalTimeField(
        _l("From"),
        [Required(_l("Give the start of the calibration."))],
        unreadable=_l("Give the start as a date and time."),
    )
    ends = LocalTimeField(
        _l("Until"),
        [Required(_l("Give the end of the calibration."))],
        unreadable=_l("Give the end as a date and time."),
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Plan calibration"))
