"""Forms of the catalogue: listings, units, hours, outages, files, search."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional, Regexp

from sharehub.catalog.models import (
    ACCESS_LABELS,
    FIELD_LABELS,
    OUTAGE_LABELS,
    PRICE_UNIT_LABELS,
    AccessMode,
    Field,
    OutageKind,
    PriceUnit,
)

YUAN = dict(
    places=2,
    validators=[
        Optional(),
        NumberRange(min=0, message=_l("Prices and values cannot be negative.")),
    ],
)
TEXT = [Optional(), Length(max=20_000)]
INSTRUMENT_STATUSES = ("normal", "limited", "repair")
USAGE_CLASSES = ("general", "special", "extended")


def yuan_to_fen(value: Decimal | None) -> int | None:
    if value is None:
        return None
    return int((value * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def fen_to_yuan(value: int | None) -> Decimal | None:
    return None if value is None else Decimal(value) / 100


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(k.value, v) for k, v in labels.items()]


class ListingForm(FlaskForm):
    name = StringField(_l("Name (Chinese)"), validators=[InputRequired(), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=200)])
    description = TextAreaField(_l("Description (Chinese)"), validators=TEXT)
    description_en = TextAreaField(_l("Description (English)"), validators=TEXT)
    field = SelectField(_l("Field"), choices=_choices(FIELD_LABELS))
    category_code = StringField(
        _l("Instrument category code"),
        validators=[Optional(), Regexp(r"^\d{6}$", message=_l("Six digits."))],
        description=_l("6-digit code of the national instrument classification, e.g. 020303"),
    )
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=100)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=32)])
    contact_email = EmailField(_l("Contact email"), validators=[Optional(), Email()])

    price_unit = SelectField(_l("Price unit"), choices=_choices(PRICE_UNIT_LABELS))
    price_external = DecimalField(_l("External price (CNY, before VAT)"), **YUAN)
    price_internal = DecimalField(_l("Internal price (CNY)"), **YUAN)
    price_cluster = DecimalField(
        _l("Cluster-member price (CNY)"),
        **YUAN,
        description=_l("For firms of your laboratory's cluster; leave empty if none."),
    )
    min_charge = DecimalField(_l("Minimum charge (CNY)"), **YUAN)
    assisted_rate = DecimalField(
        _l("Staff operator, per hour of an assisted booking (CNY)"), **YUAN
    )

    slot_minutes = IntegerField(
        _l("Slot length (minutes)"),
        default=60,
        validators=[InputRequired(), NumberRange(min=5, max=1440)],
    )
    min_minutes = IntegerField(
        _l("Minimum booking (minutes)"),
        default=60,
        validators=[InputRequired(), NumberRange(min=5)],
    )
    max_minutes = IntegerField(
        _l("Maximum booking (minutes)"),
        default=480,
        validators=[InputRequired(), NumberRange(min=5, max=60 * 24 * 14)],
    )
    lead_hours = IntegerField(
        _l("Book at least (hours ahead)"),
        default=24,
        validators=[InputRequired(), NumberRange(min=0, max=24 * 90)],
    )
    horizon_days = IntegerField(
        _l("Book at most (days ahead)"),
        default=90,
        validators=[InputRequired(), NumberRange(min=1, max=730)],
    )
    buffer_minutes = IntegerField(
        _l("Buffer between bookings (minutes)"),
        default=0,
        validators=[InputRequired(), NumberRange(min=0, max=1440)],
    )
    approval_required = BooleanField(_l("Bookings need our approval"), default=True)
    free_cancel_hours = IntegerField(
        _l("Free cancellation until (hours before)"),
        default=48,
        validators=[InputRequired(), NumberRange(min=0, max=8760)],
    )
    cancel_fee_percent = IntegerField(
        _l("Fee after that (percent of the price)"),
        default=0,
        validators=[InputRequired(), NumberRange(min=0, max=100)],
    )
    training_note = TextAreaField(_l("Required training"), validators=TEXT)

    units = IntegerField(
        _l("Number of identical units"),
        default=1,
        validators=[Optional(), NumberRange(min=1, max=50)],
    )
    instrument_number = StringField(
        _l("Instrument number"), validators=[Optional(), Length(max=64)]
    )
    model = StringField(_l("Model / specification"), validators=[Optional(), Length(max=200)])
    tax_code = StringField(
        _l("Tax classification code (税收分类编码)"),
        validators=[Optional(), Length(max=40)],
    )
    main_indicators = TextAreaField(_l("Main technical indicators"), validators=TEXT)
    test_fields = TextAreaField(_l("Main test and research fields"), validators=TEXT)
    manufacturer = StringField(_l("Manufacturer"), validators=[Optional(), Length(max=200)])
    country_of_origin = StringField(
        _l("Country of origin"), validators=[Optional(), Length(max=64)]
    )
    original_value = DecimalField(_l("Original value (CNY)"), **YUAN)
    commissioning_date = DateField(_l("Commissioning date"), validators=[Optional()])
    location = StringField(_l("Location"), validators=[Optional(), Length(max=300)])
    # Kind-specific selects are absent from other kinds' forms: checked in to_data().
    instrument_status = SelectField(
        _l("Instrument status"),
        validate_choice=False,
        choices=[
            SelectChoice("normal", _l("In normal use")),
            SelectChoice("limited", _l("Limited use")),
            SelectChoice("repair", _l("Under repair")),
        ],
    )
    # The class sets the rated hours a year of the sharing statistics (stats.RatedHours).
    usage_class = SelectField(
        _l("Class of use (rated hours)"),
        validate_choice=False,
        choices=[
            SelectChoice("general", _l("General-purpose instrument")),
            SelectChoice("special", _l("Special-purpose instrument")),
            SelectChoice("extended", _l("Extended opening (longer weeks)")),
        ],
    )

    expert_name = StringField(_l("Expert's name"), validators=[Optional(), Length(max=100)])
    expert_title = StringField(_l("Title"), validators=[Optional(), Length(max=100)])
    expert_fields = TextAreaField(_l("Fields of expertise"), validators=TEXT)
    qualifications = TextAreaField(_l("Qualifications"), validators=TEXT)
    languages = StringField(_l("Languages"), validators=[Optional(), Length(max=200)])

    licence = StringField(_l("Licence"), validators=[Optional(), Length(max=200)])
    data_format = StringField(_l("Format"), validators=[Optional(), Length(max=100)])
    data_size = StringField(_l("Size"), validators=[Optional(), Length(max=64)])
    access_mode = SelectField(
        _l("Access"),
        validate_choice=False,
        choices=[SelectChoice("", "—"), *_choices(ACCESS_LABELS)],
    )
    access_days = IntegerField(
        _l("Access period (days)"), validators=[Optional(), NumberRange(min=1, max=3650)]
    )
    submit = SubmitField(_l("Save"))

    def to_data(self) -> dict:
        """The listing's values in storage units (fen, minutes), for the services."""
        fen = {
            k: yuan_to_fen(getattr(self, k).data)
            for k in (
                "price_internal",
                "price_external",
                "price_cluster",
                "min_charge",
                "assisted_rate",
                "original_value",
            )
        }
        for key in ("price_internal", "price_external", "min_charge", "assisted_rate"):
            fen[key] = fen[key] or 0
        text = {
            k: (getattr(self, k).data or "").strip()
            for k in (
                "name",
                "name_en",
                "description",
                "description_en",
                "contact_name",
                "contact_phone",
                "contact_email",
                "training_note",
                "instrument_number",
                "model",
                "tax_code",
                "main_indicators",
                "test_fields",
                "manufacturer",
                "country_of_origin",
                "location",
                "expert_name",
                "expert_title",
                "expert_fields",
                "qualifications",
                "languages",
                "licence",
                "data_format",
                "data_size",
            )
        }
        return {
            **text,
            **fen,
            "field": Field(self.field.data),
            "category_code": (self.category_code.data or "").strip() or None,
            "price_unit": PriceUnit(self.price_unit.data),
            "slot_minutes": self.slot_minutes.data,
            "min_minutes": self.min_minutes.data,
            "max_minutes": self.max_minutes.data,
            "lead_hours": self.lead_hours.data,
            "horizon_days": self.horizon_days.data,
            "buffer_minutes": self.buffer_minutes.data,
            "approval_required": bool(self.approval_required.data),
            "free_cancel_hours": self.free_cancel_hours.data,
            "cancel_fee_percent": self.cancel_fee_percent.data,
            "commissioning_date": self.commissioning_date.data,
            "instrument_status": self.instrument_status.data
            if self.instrument_status.data in INSTRUMENT_STATUSES
            else "normal",
            "usage_class": self.usage_class.data
            if self.usage_class.data in USAGE_CLASSES
            else "general",
            "access_mode": AccessMode(self.access_mode.data)
            if self.access_mode.data in {m.value for m in AccessMode}
            else None,
            "access_days": self.access_days.data,
        }

    def load(self, listing) -> None:
        """Fill the form from a listing (yuan for fen)."""
        for name in self._fields:
            if name in ("csrf_token", "submit", "units"):
                continue
            value = getattr(listing, name)
            if name in (
                "price_internal",
                "price_external",
                "price_cluster",
                "min_charge",
                "assisted_rate",
                "original_value",
            ):
                value = fen_to_yuan(value)
            elif hasattr(value, "value"):
                value = value.value
            self[name].data = value


class UnitForm(FlaskForm):
    name = StringField(_l("Unit name"), validators=[InputRequired(), Length(max=100)])
    serial_number = StringField(_l("Serial number"), validators=[Optional(), Length(max=100)])
    location = StringField(_l("Location"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Add unit"))


class OutageForm(FlaskForm):
    unit_id = SelectField(_l("Unit"), coerce=int)
    kind = SelectField(
        _l("Kind"), choices=_choices(OUTAGE_LABELS), default=OutageKind.MAINTENANCE.value
    )
    starts = DateTimeLocalField(_l("From"), validators=[InputRequired()])
    ends = DateTimeLocalField(_l("Until"), validators=[InputRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Add outage"))


class FileForm(FlaskForm):
    role = SelectField(
        _l("Kind of file"),
        choices=[
            SelectChoice("photo", _l("Photo (JPEG, PNG or WebP)")),
            SelectChoice("spec", _l("Specification (PDF)")),
            SelectChoice("sample", _l("Dataset sample (PDF, CSV or JSON)")),
            SelectChoice("data", _l("Dataset file for customers with access")),
        ],
    )
    file = FileField(_l("File"), validators=[InputRequired()])
    submit = SubmitField(_l("Upload"))
