"""Forms of commissioned testing. Fixed fields are WTForms with core.forms' typed fields;
the rows a page repeats (samples of a request, lines of a quote, samples at receipt,
parameters of a service) are read by the helpers below with core.inputs' parsers, whose
messages are translated."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from sharehub.catalog.models import FIELD_LABELS
from sharehub.core.errors import ValidationError
from sharehub.core.forms import (
    DayField,
    LocalTimeField,
    Required,
    WholeNumberField,
    YuanField,
)
from sharehub.core.inputs import parse_fen, parse_int
from sharehub.testing.couriers import COURIERS
from sharehub.testing.models import (
    ACCREDITATION_LABELS,
    AFTER_TEST_LABELS,
    PRICE_BASIS_LABELS,
    REPORT_LANGUAGE_LABELS,
    TESTING_TAX_CODE,
)
from sharehub.testing.orders import LineInput, SampleInput

MAX_ROWS = 200


class ServiceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])
    name_en = StringField(_l("English name"), validators=[Optional(), Length(max=200)])
    standard_code = StringField(
        _l("Standard"),
        validators=[InputRequired(), Length(max=100)],
        description=_l("With its year, e.g. GB/T 10125-2021 or ISO 9227:2022"),
    )
    method = StringField(_l("Method"), validators=[Optional(), Length(max=200)])
    method_en = StringField(_l("Method (English)"), validators=[Optional(), Length(max=200)])
    field = SelectField(
        _l("Field"), choices=[SelectChoice(k.value, v) for k, v in FIELD_LABELS.items()]
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20_000)])
    sample_quantity = WholeNumberField(
        _l("Pieces per sample"), [Required(_l("Give the pieces per sample."))], minimum=1
    )
    sample_size = StringField(_l("Sample size"), validators=[Optional(), Length(max=200)])
    sample_condition = TextAreaField(
        _l("Sample condition"), validators=[Optional(), Length(max=20_000)]
    )
    standard_days = WholeNumberField(
        _l("Turnaround (working days)"),
        [Required(_l("Give the turnaround."))],
        minimum=1,
        maximum=365,
    )
    expedited_days = WholeNumberField(
        _l("Expedited turnaround (working days)"), minimum=1, maximum=365
    )
    expedited_surcharge_percent = WholeNumberField(
        _l("Expedited surcharge (%)"), minimum=0, maximum=500
    )
    price_basis = SelectField(
        _l("Price counted"),
        choices=[SelectChoice(k.value, v) for k, v in PRICE_BASIS_LABELS.items()],
    )
    price_external = YuanField(_l("External price (yuan)"), [Required(_l("Give the price."))])
    price_internal = YuanField(_l("Internal price (yuan)"), [Required(_l("Give the price."))])
    price_cluster = YuanField(_l("Cluster-member price (yuan)"))
    quote_required = BooleanField(_l("Priced case by case (the laboratory quotes)"))
    cancel_fee_fen = YuanField(
        _l("Cancellation fee after sample receipt (yuan)"),
        description=_l(
            "Free until the samples are received; from then until the testing starts, this "
            "fixed fee plus the percentage below of the service's amount."
        ),
    )
    cancel_fee_percent = WholeNumberField(
        _l("Cancellation fee after sample receipt (percent of the service's amount)"),
        minimum=0,
        maximum=100,
    )
    tax_code = StringField(
        _l("Tax classification code (税收分类编码)"),
        validators=[Optional(), Length(max=40)],
        description=_l(
            "19 digits, printed on the fapiao lines; left blank, testing services' "
            "default: %(code)s.",
            code=TESTING_TAX_CODE,
        ),
    )
    line_spec = StringField(
        _l("Specification on the fapiao (规格型号)"),
        validators=[Optional(), Length(max=200)],
        description=_l("Left blank, the standard."),
    )
    line_unit = StringField(
        _l("Unit on the fapiao (单位)"),
        validators=[Optional(), Length(max=20)],
        description=_l("Left blank, 样品 for a price per sample, 项 per parameter."),
    )
    unit_ids = SelectMultipleField(_l("Instruments it runs on"), coerce=int, choices=[])
    parameters = TextAreaField(
        _l("Parameters"),
        description=_l("One a line: name | unit | limit, e.g. 抗拉强度 | MPa | ≥ 370"),
        validators=[Optional(), Length(max=20_000)],
    )
    submit = SubmitField(_l("Save"))

    def service_data(self) -> dict:
        return {
            key: getattr(self, key).data
            for key in (
                "name",
                "name_en",
                "standard_code",
                "method",
                "method_en",
                "field",
                "description",
                "sample_quantity",
                "sample_size",
                "sample_condition",
                "standard_days",
                "expedited_days",
                "expedited_surcharge_percent",
                "price_basis",
                "price_external",
                "price_internal",
                "price_cluster",
                "quote_required",
                "cancel_fee_fen",
                "cancel_fee_percent",
                "tax_code",
                "line_spec",
                "line_unit",
            )
        }

    def parameter_rows(self) -> list[dict]:
        rows = []
        for line in (self.parameters.data or "").splitlines():
            parts = [p.strip() for p in line.split("|")] + ["", "", ""]
            if parts[0]:
                rows.append({"name": parts[0], "unit": parts[1], "limit_text": parts[2]})
        return rows


class CertificateForm(FlaskForm):
    kind = SelectField(
        _l("Kind"), choices=[SelectChoice(k.value, v) for k, v in ACCREDITATION_LABELS.items()]
    )
    number = StringField(_l("Certificate number"), validators=[InputRequired(), Length(max=64)])
    issuer = StringField(_l("Issued by"), validators=[Optional(), Length(max=200)])
    issued_date = DayField(_l("Issued on"), [Required(_l("Give the certificate's dates."))])
    valid_until = DayField(_l("Valid until"), [Required(_l("Give the certificate's dates."))])
    scope = TextAreaField(
        _l("Scope"),
        description=_l(
            "One standard a line; add | and a parameter to cover only that parameter, "
            "e.g. GB/T 228.1-2021 | 抗拉强度"
        ),
        validators=[Optional(), Length(max=100_000)],
    )
    document = FileField(_l("Certificate (PDF)"))
    submit = SubmitField(_l("Add the certificate"))


class RequestForm(FlaskForm):
    """The request's fixed fields; its services and samples are read by `services_of`
    and `samples_of`."""

    title = StringField(_l("Subject of the request"), validators=[Optional(), Length(max=200)])
    report_language = SelectField(
        _l("Report language"),
        choices=[SelectChoice(k.value, v) for k, v in REPORT_LANGUAGE_LABELS.items()],
    )
    report_addressee = StringField(
        _l("Report addressed to"), validators=[Optional(), Length(max=200)]
    )
    report_address = StringField(_l("Report address"), validators=[Optional(), Length(max=300)])
    expedited = BooleanField(_l("Expedited (at the surcharge)"))
    notes = TextAreaField(
        _l("Notes for the laboratory"), validators=[Optional(), Length(max=20_000)]
    )
    attachments = MultipleFileField(_l("Attachments (PDF or images)"))
    submit = SubmitField(_l("Send the request"))


def services_of(form_data) -> list[int]:
    ids = []
    for raw in form_data.getlist("service_id")[:50]:
        value = parse_int(raw, minimum=1, message=_l("Choose the testing services."))
        if value is not None:
            ids.append(value)
    return ids


def samples_of(form_data) -> list[SampleInput]:
    """Rows sample-<n>-name, -model_batch, -quantity, -hazards, -storage_needs, -after_test."""
    rows = []
    for n in range(MAX_ROWS):
        prefix = f"sample-{n}-"
        if prefix + "name" not in form_data:
            break
        name = form_data.get(prefix + "name", "").strip()
        if not name:
            continue
        quantity = parse_int(
            form_data.get(prefix + "quantity") or "1",
            minimum=1,
            maximum=10_000,
            message=_l("The quantity of a sample is a whole number between 1 and %(n)s.", n=10_000),
        )
        after = form_data.get(prefix + "after_test", "return")
        if after not in {k.value for k in AFTER_TEST_LABELS}:
            raise ValidationError(_l("Choose whether the sample is returned or disposed of."))
        rows.append(
            SampleInput(
                name=name,
                model_batch=form_data.get(prefix + "model_batch", ""),
                quantity=quantity,
                hazards=form_data.get(prefix + "hazards", ""),
                storage_needs=form_data.get(prefix + "storage_needs", ""),
                after_test=after,
            )
        )
    return rows


class ShipForm(FlaskForm):
    delivery = SelectField(
        _l("How the samples travel"),
        choices=[
            SelectChoice("courier", _l("By courier")),
            SelectChoice("drop_off", _l("Dropped off at the laboratory")),
        ],
    )
    courier = SelectField(
        _l("Courier"),
        choices=[SelectChoice("", "—")] + [SelectChoice(c.code, c.name) for c in COURIERS.values()],
    )
    tracking_number = StringField(_l("Tracking number"), validators=[Optional(), Length(max=60)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Record the shipment"))


class QuoteForm(FlaskForm):
    """The quote's fixed fields; its lines are read by `lines_of`."""

    valid_until = DayField(_l("Valid until"), [Required(_l("Give the last day of validity."))])
    turnaround_days = WholeNumberField(
        _l("Turnaround (working days)"),
        [Required(_l("Give the turnaround."))],
        minimum=1,
        maximum=365,
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=20_000)])
    terms = TextAreaField(_l("Terms"), validators=[Optional(), Length(max=20_000)])
    submit = SubmitField(_l("Send the quote"))


def lines_of(form_data) -> list[LineInput]:
    """Rows line-<n>-description, -quantity, -price (yuan)."""
    lines = []
    for n in range(MAX_ROWS):
        prefix = f"line-{n}-"
        if prefix + "description" not in form_data:
            break
        description = form_data.get(prefix + "description", "").strip()
        if not description:
            continue
        quantity = parse_int(
            form_data.get(prefix + "quantity") or "",
            minimum=1,
            maximum=10_000,
        )
        price = parse_fen(form_data.get(prefix + "price") or "")
        if quantity is None or price is None:
            raise ValidationError(_l("Give the quantity and unit price of every line."))
        service_id = parse_int(form_data.get(prefix + "service_id") or "", minimum=1)
        lines.append(
            LineInput(
                description=description[:300],
                quantity=quantity,
                unit_price_fen=price,
                service_id=service_id,
            )
        )
    return lines


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(), Length(max=2000)])
    submit = SubmitField(_l("Confirm"))


class StoreForm(FlaskForm):
    place = StringField(_l("Storage place"), validators=[InputRequired(), Length(max=200)])
    submit = SubmitField(_l("Move"))


class ReleaseForm(FlaskForm):
    action = SelectField(
        _l("Action"),
        choices=[SelectChoice("return", _l("Return")), SelectChoice("dispose", _l("Dispose of"))],
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Record"))


class RunForm(FlaskForm):
    """A test run of an order on one of its units: when it starts and how long it lasts."""

    unit_id = SelectField(_l("Unit"), coerce=int, validate_choice=True)
    starts = LocalTimeField(
        _l("Starts"),
        [Required(_l("Enter when the run starts."))],
        unreadable=_l("Enter the start as a date and time."),
    )
    hours = WholeNumberField(
        _l("Hours"), [Required(_l("Enter how many hours the run lasts."))], minimum=1, maximum=744
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])
