"""Marshmallow schemas of the JSON API: what goes in (validated by webargs, so a bad value
is a 422 problem, never a 500) and what comes out (documented in the OpenAPI document).

Money is integer fen (CNY); times are ISO 8601 with an offset, in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta

import marshmallow as ma
from flask_babel import gettext as _
from marshmallow import fields as f
from marshmallow import validate as v

from sharehub.accounts.models import OrgStatus
from sharehub.billing.models import InvoiceStatus
from sharehub.booking.models import BookingStatus, ServiceWay
from sharehub.booking.usage import MAX_MINUTES
from sharehub.catalog.models import Field, ListingKind, PriceUnit
from sharehub.core.clock import local_today

MAX_ID = 2**31 - 1

# What the code accepts, written into the document as patterns (OpenAPI 3.0 has no bounds
# for dates): days and times in the years the platform keeps, text without the control
# characters no input may carry (sharehub.core.security), amounts of yuan with at most two
# decimals up to one hundred million (sharehub.core.inputs).
_MONTH_DAY = r"(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_CLOCK = (
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)
TIME_PATTERN = rf"^20[0-9]{{2}}-{_MONTH_DAY}{_CLOCK}$"
YEARS_PATTERN = rf"^(20[0-9]{{2}}|2100)-{_MONTH_DAY}$"  # 2000-01-01 … 2100-12-31
DAYS_PATTERN = rf"^(20[0-9]{{2}}-{_MONTH_DAY}|2100-01-01)$"  # 2000-01-01 … 2100-01-01
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
YUAN_PATTERN = r"^([0-9]{1,8}(\.[0-9]{1,2})?|100000000(\.0{1,2})?)$"


class Text(f.String):
    """A string a database can store: no control character (but tab, line feed and
    carriage return), no lone surrogate."""

    def __init__(self, **kwargs):
        metadata = {"pattern": TEXT_PATTERN, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ma.ValidationError(_("Text may not contain NUL characters."))
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ma.ValidationError(_("Text must be valid Unicode.")) from exc
        return text


class When(f.AwareDateTime):
    """An ISO 8601 time with an offset, written in the years 2000 to 2099 (the year as
    written, in the time's own offset, as the document's pattern says)."""

    def __init__(self, **kwargs):
        metadata = {"pattern": TIME_PATTERN, **kwargs.pop("metadata", {})}
        super().__init__(format="iso", metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if not 2000 <= parsed.year <= 2099:
            raise ma.ValidationError(_("Give a time between 2000 and 2100."))
        return parsed.astimezone(UTC)


def Year(**kwargs):  # noqa: N802  (a field factory)
    """A day of the years 2000 to 2100 (sharehub.core.inputs.check_date)."""
    return f.Date(metadata={"pattern": YEARS_PATTERN, **kwargs.pop("metadata", {})}, **kwargs)


class Inline(f.Nested):
    """A nested object made of fields of the object itself (price, booking rules)."""

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return obj


class EquipmentOnly(Inline):
    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return obj if obj.kind == ListingKind.EQUIPMENT else None


def Value(enum, **kwargs):  # noqa: N802  (a field factory)
    return f.Enum(enum, by_value=True, required=True, **kwargs)


def Id(**kwargs):  # noqa: N802  (a field factory)
    return f.Integer(validate=v.Range(1, MAX_ID), **kwargs)


class Input(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class Query(ma.Schema):
    """Query parameters; an unknown one is refused (a misspelt filter would otherwise
    silently return everything)."""

    class Meta:
        unknown = ma.RAISE


# --- pagination ------------------------------------------------------------------------------


class PageQuery(Query):
    page = f.Integer(load_default=1, validate=v.Range(1, 10000))
    per_page = f.Integer(load_default=50, validate=v.Range(1, 200))


class PageMeta(ma.Schema):
    page = f.Integer(required=True)
    per_page = f.Integer(required=True)
    total = f.Integer(required=True)
    pages = f.Integer(required=True)


# --- catalogue ---------------------------------------------------------------------------------


class SearchQuery(Query):
    """The filters of the catalogue page (/catalog), with the same names."""

    q = Text(validate=v.Length(max=100))
    kind = f.String(validate=v.OneOf([k.value for k in ListingKind]))
    field = f.String(validate=v.OneOf([x.value for x in Field]))
    category = f.String(validate=v.Regexp(r"^[0-9]{1,6}$"))
    region = Id()
    cluster = Id()
    lab = Id()
    accr = f.String(validate=v.OneOf(["cnas", "cma"]))
    price_min = f.String(validate=v.Regexp(YUAN_PATTERN), metadata={"description": "yuan"})
    price_max = f.String(validate=v.Regexp(YUAN_PATTERN), metadata={"description": "yuan"})
    rating = f.Float(validate=v.Range(1, 5))
    free_from = Year(
        data_key="from",
        metadata={
            "description": "First day of the free-time search (Asia/Shanghai): from today "
            "up to 365 days after today; with `hours`, only listings free that long in one "
            "piece between `from` and `to`. Another day is answered 400."
        },
    )
    free_to = Year(
        data_key="to",
        metadata={
            "description": "Last day of the free-time search, included (default `from`): "
            "not before `from` and at most 30 days after it (31 days in all); ignored "
            "without `from`. Another day is answered 400."
        },
    )
    hours = f.Integer(validate=v.Range(1, 24 * 14))
    sort = f.String(validate=v.OneOf(["relevance", "price_asc", "price_desc", "newest", "rating"]))
    page = f.Integer(load_default=1, validate=v.Range(1, 10000))


class LabRef(ma.Schema):
    id = f.Integer(required=True)
    name = f.String(required=True)
    name_en = f.String(required=True)
    credit_code = f.String(required=True)


class PriceSchema(ma.Schema):
    unit = Value(PriceUnit, attribute="price_unit")
    external_fen = f.Integer(attribute="price_external", required=True)
    cluster_fen = f.Integer(attribute="price_cluster", allow_none=True, required=True)
    currency = f.Constant("CNY", required=True)


class InstrumentSchema(ma.Schema):
    number = f.String(attribute="instrument_number", required=True)
    category_code = f.String(allow_none=True, required=True)
    model = f.String(required=True)
    manufacturer = f.String(required=True)
    country_of_origin = f.String(required=True)
    original_value_fen = f.Integer(attribute="original_value", allow_none=True, required=True)
    commissioning_date = f.Date(allow_none=True, required=True)
    main_indicators = f.String(required=True)
    test_fields = f.String(required=True)
    location = f.String(required=True)
    status = f.String(attribute="instrument_status", required=True)


class BookingRulesSchema(ma.Schema):
    slot_minutes = f.Integer(required=True)
    min_minutes = f.Integer(required=True)
    max_minutes = f.Integer(required=True)
    lead_hours = f.Integer(required=True)
    horizon_days = f.Integer(required=True)
    buffer_minutes = f.Integer(required=True)
    approval_required = f.Boolean(required=True)
    free_cancel_hours = f.Integer(required=True)
    cancel_fee_percent = f.Integer(required=True)


class UnitSchema(ma.Schema):
    id = f.Integer(required=True)
    name = f.String(required=True)
    is_active = f.Boolean(required=True)


class ListingSchema(ma.Schema):
    id = f.Integer(required=True)
    kind = Value(ListingKind)
    name = f.String(required=True)
    name_en = f.String(required=True)
    description = f.String(required=True)
    description_en = f.String(required=True)
    field = Value(Field)
    lab = f.Nested(LabRef, required=True)
    price = Inline(PriceSchema, required=True)
    rating_avg = f.Float(allow_none=True, required=True)
    rating_count = f.Integer(required=True)
    published_at = f.DateTime(attribute="published_dt", allow_none=True, required=True)


class ListingDetailSchema(ListingSchema):
    instrument = EquipmentOnly(InstrumentSchema, allow_none=True, required=True)
    expert_name = f.String(required=True)
    expert_title = f.String(required=True)
    licence = f.String(required=True)
    data_format = f.String(required=True)
    rules = Inline(BookingRulesSchema, required=True)
    units = f.List(f.Nested(UnitSchema), required=True)


class SearchResultSchema(ma.Schema):
    items = f.List(f.Nested(ListingSchema), required=True)
    meta = f.Nested(PageMeta, required=True)
    facets = f.Dict(
        keys=f.String(),
        values=f.Dict(keys=f.String(), values=f.Integer()),
        required=True,
        metadata={"description": "Counts per kind, field, cluster and region (province)"},
    )
    total_exact = f.Boolean(
        required=True,
        metadata={"description": "False when more listings match than meta.total (1,000)"},
    )
    facets_exact = f.Boolean(
        required=True,
        metadata={
            "description": "False when the facets were counted over the first 1,001 "
            "matches only: each count is then a lower bound"
        },
    )


class AvailabilityQuery(Query):
    start = Year(
        data_key="from",
        metadata={
            "description": "First day (Asia/Shanghai); default today. At most 365 days after "
            "today (a later day is answered 400); free time starts from now on."
        },
    )
    days = f.Integer(load_default=7, validate=v.Range(1, 31))
    minutes = f.Integer(
        validate=v.Range(1, 60 * 24),
        metadata={"description": "Length wanted; default the listing's shortest booking"},
    )


class Interval(ma.Schema):
    starts_at = f.DateTime(required=True)
    ends_at = f.DateTime(required=True)


class UnitAvailability(ma.Schema):
    unit_id = f.Integer(required=True)
    free = f.List(f.Nested(Interval), required=True)


class AvailabilitySchema(ma.Schema):
    listing_id = f.Integer(required=True)
    minutes = f.Integer(required=True)
    starts = f.List(
        f.DateTime(),
        required=True,
        metadata={"description": "Times at which a booking of `minutes` can start"},
    )
    units = f.List(f.Nested(UnitAvailability), required=True)


class LabQuery(PageQuery):
    status = f.String(validate=v.OneOf(["active", "rectifying", "suspended", "revoked"]))
    region = Id()
    cluster = Id()


class LabSchema(ma.Schema):
    id = f.Integer(required=True)
    name = f.String(required=True)
    name_en = f.String(required=True)
    credit_code = f.String(required=True)
    status = Value(OrgStatus)
    cnas_number = f.String(required=True)
    cma_number = f.String(required=True)
    host_name = f.String(required=True)
    region_id = f.Integer(allow_none=True, required=True)
    cluster_id = f.Integer(allow_none=True, required=True)
    listings = f.Integer(
        attribute="published_listings",
        required=True,
        metadata={"description": "Published listings"},
    )


class LabPage(ma.Schema):
    items = f.List(f.Nested(LabSchema), required=True)
    meta = f.Nested(PageMeta, required=True)


# --- bookings ----------------------------------------------------------------------------------


class BookingPrice(ma.Schema):
    tier = f.String(attribute="price_tier", required=True)
    net_fen = f.Integer(attribute="net_amount", required=True)
    vat_rate_bp = f.Integer(required=True)
    vat_fen = f.Integer(attribute="vat_amount", required=True)
    gross_fen = f.Integer(attribute="gross_amount", required=True)
    cancel_fee_fen = f.Integer(attribute="cancel_fee", required=True)
    currency = f.Constant("CNY", required=True)


class BookingSchema(ma.Schema):
    id = f.Integer(required=True)
    uid = f.String(required=True)
    status = Value(BookingStatus)
    listing_id = f.Integer(required=True)
    listing_name = f.String(attribute="listing.name", required=True)
    lab_id = f.Integer(attribute="listing.lab_id", required=True)
    unit_id = f.Integer(required=True)
    customer_org_id = f.Integer(required=True)
    starts_at = f.DateTime(attribute="starts_dt", required=True)
    ends_at = f.DateTime(attribute="ends_dt", required=True)
    hold_expires_at = f.DateTime(attribute="hold_expires_dt", allow_none=True, required=True)
    purpose = f.String(required=True)
    sample_description = f.String(required=True)
    sample_count = f.Integer(required=True)
    contact_name = f.String(required=True)
    contact_phone = f.String(required=True)
    price = Inline(BookingPrice, required=True)
    assisted = f.Boolean(required=True)
    assisted_amount = f.Integer(
        required=True, metadata={"description": "The staff operator's time (fen, before VAT)"}
    )
    reason = f.String(required=True)
    created_at = f.DateTime(attribute="created_dt", required=True)
    updated_at = f.DateTime(attribute="updated_dt", required=True)


class BookingWarning(ma.Schema):
    code = f.String(
        required=True,
        metadata={
            "description": "calibration-flagged: the unit's calibration certificate is overdue "
            "or failed during the booking; the listing only flags such units, so the booking "
            "is made (a listing that blocks them answers 409 instead)"
        },
    )
    message = f.String(required=True, metadata={"description": "In the request's language"})
    unit_ids = f.List(f.Integer(), required=True)


class BookingCreated(BookingSchema):
    warnings = f.List(
        f.Nested(BookingWarning),
        attribute="api_warnings",
        required=True,
        metadata={"description": "What the customer should know about the booking made"},
    )


class BookingPage(ma.Schema):
    items = f.List(f.Nested(BookingSchema), required=True)
    meta = f.Nested(PageMeta, required=True)


class BookingQuery(PageQuery):
    side = f.String(
        load_default="customer",
        validate=v.OneOf(["customer", "lab"]),
        metadata={"description": "customer: booked by the organisation; lab: of its listings"},
    )
    status = f.String(validate=v.OneOf([s.value for s in BookingStatus]))


class BookingCreate(Input):
    listing_id = Id(required=True)
    unit_id = Id(metadata={"description": "A unit of the listing; any free unit if absent"})
    starts_at = When(required=True)
    ends_at = When(required=True, metadata={"description": "After `starts_at`"})
    purpose = Text(load_default="", validate=v.Length(max=5000))
    sample_description = Text(load_default="", validate=v.Length(max=5000))
    sample_count = f.Integer(load_default=0, validate=v.Range(0, 100000))
    contact_name = Text(load_default="", validate=v.Length(max=100))
    contact_phone = Text(load_default="", validate=v.Length(max=32))
    assisted = f.Boolean(
        load_default=False,
        metadata={
            "description": "Book with a staff operator of the lab; a self-operated booking "
            "of a listing that requires an authorisation needs one valid at its start (403)"
        },
    )


class BookingCancel(Input):
    reason = Text(load_default="", validate=v.Length(max=2000))


class BookingDecline(Input):
    reason = Text(required=True, validate=v.Length(min=1, max=2000))


class BookingReschedule(Input):
    starts_at = When(required=True)
    ends_at = When(required=True, metadata={"description": "After `starts_at`"})


# --- usage -------------------------------------------------------------------------------------


class UsageSchema(ma.Schema):
    id = f.Integer(required=True)
    unit_id = f.Integer(required=True)
    listing_id = f.Integer(attribute="unit.listing_id", required=True)
    booking_id = f.Integer(allow_none=True, required=True)
    user_org_id = f.Integer(required=True)
    started_at = f.DateTime(attribute="started_dt", required=True)
    ended_at = f.DateTime(attribute="ended_dt", allow_none=True, required=True)
    prep_minutes = f.Integer(required=True)
    run_minutes = f.Integer(required=True)
    post_minutes = f.Integer(required=True)
    effective_minutes = f.Integer(required=True)
    samples = f.Integer(required=True)
    service_way = Value(ServiceWay)
    notes = f.String(required=True)
    source = f.String(
        attribute="source.value",
        required=True,
        metadata={"description": "kiosk, device, lab_staff, csv_import or api"},
    )
    corrects_id = f.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "The record this one corrects (which then no longer counts)"},
    )


class UsagePage(ma.Schema):
    items = f.List(f.Nested(UsageSchema), required=True)
    meta = f.Nested(PageMeta, required=True)


class UsageQuery(PageQuery):
    unit_id = Id()
    start = f.Date(data_key="from")
    end = f.Date(data_key="to")


class UsageCreate(Input):
    """Use that already happened: its times are not in the future, and its minutes add up
    to at most the time of use plus a day (sharehub.booking.usage); a record that breaks
    these rules is answered 400."""

    unit_id = Id(required=True)
    user_org_id = Id(metadata={"description": "The organisation that used it; default: the lab"})
    started_at = When(required=True, metadata={"description": "Not in the future"})
    ended_at = When(
        required=True,
        metadata={"description": "Not before `started_at`, not in the future"},
    )
    prep_minutes = f.Integer(load_default=0, validate=v.Range(0, MAX_MINUTES))
    run_minutes = f.Integer(
        required=True,
        validate=v.Range(0, MAX_MINUTES),
        metadata={
            "description": "With `prep_minutes` and `post_minutes`, at most the minutes "
            "from `started_at` to `ended_at` plus 1,440 (a day)"
        },
    )
    post_minutes = f.Integer(load_default=0, validate=v.Range(0, MAX_MINUTES))
    samples = f.Integer(load_default=0, validate=v.Range(0, 100000))
    service_way = f.String(load_default="on_site", validate=v.OneOf([w.value for w in ServiceWay]))
    notes = Text(load_default="", validate=v.Length(max=5000))


# --- invoices ----------------------------------------------------------------------------------


class InvoiceLineSchema(ma.Schema):
    description = f.String(required=True)
    quantity = f.String(required=True)
    unit_price_fen = f.Integer(attribute="unit_price", required=True)
    net_fen = f.Integer(attribute="net", required=True)
    vat_rate_bp = f.Integer(required=True)
    vat_fen = f.Integer(attribute="vat", required=True)
    tax_code = f.String(
        required=True, metadata={"description": "税收分类编码 (19 digits) for the fapiao"}
    )
    spec = f.String(required=True, metadata={"description": "规格型号"})
    unit = f.String(required=True, metadata={"description": "单位"})


class InvoiceSchema(ma.Schema):
    id = f.Integer(required=True)
    number = f.String(allow_none=True, required=True)
    status = Value(InvoiceStatus)
    is_credit_note = f.Boolean(required=True)
    credit_for_id = f.Integer(allow_none=True, required=True)
    lab_id = f.Integer(required=True)
    customer_org_id = f.Integer(required=True)
    booking_id = f.Integer(allow_none=True, required=True)
    currency = f.String(required=True)
    net_total_fen = f.Integer(attribute="net_total", required=True)
    vat_total_fen = f.Integer(attribute="vat_total", required=True)
    gross_total_fen = f.Integer(attribute="gross_total", required=True)
    paid_fen = f.Integer(attribute="paid_amount", required=True)
    outstanding_fen = f.Integer(attribute="outstanding", required=True)
    payment_reference = f.String(required=True)
    issued_at = f.DateTime(attribute="issued_dt", allow_none=True, required=True)
    lines = f.List(f.Nested(InvoiceLineSchema), required=True)


class InvoicePage(ma.Schema):
    items = f.List(f.Nested(InvoiceSchema), required=True)
    meta = f.Nested(PageMeta, required=True)


class InvoiceQuery(PageQuery):
    side = f.String(
        load_default="customer",
        validate=v.OneOf(["customer", "lab"]),
        metadata={"description": "customer: statements to the organisation; lab: issued by it"},
    )
    status = f.String(validate=v.OneOf(["draft", "issued", "paid", "void"]))


class PdfQuery(Query):
    lang = f.String(load_default="zh_CN", validate=v.OneOf(["zh_CN", "en"]))


# --- statistics --------------------------------------------------------------------------------


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 1, 1)
MAX_YEARS = 3


def years_after(day: date, years: int) -> date:
    """The same day `years` later (29 February becomes 1 March)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


class Day(f.Date):
    """A local day (Asia/Shanghai) between 2000-01-01 and 2100-01-01."""

    def __init__(self, **kwargs):
        metadata = {"pattern": DAYS_PATTERN, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if not FIRST_DAY <= day <= LAST_DAY:
            raise ma.ValidationError(_("Give a day between 2000-01-01 and 2100-01-01."))
        return day


class PeriodQuery(PageQuery):
    """Local days [from, to); default 1 January of this year up to and including today.
    Without `to`, the period is one calendar year from `from`, or up to today if that is
    earlier: a day long ago alone asks for one year, not three. A reversed, empty or
    longer than three years range is refused."""

    start = Day(
        data_key="from",
        metadata={
            "description": "First day (Asia/Shanghai), included; default 1 January of this "
            "year. Without `to` it must be today or earlier."
        },
    )
    end = Day(
        data_key="to",
        metadata={
            "description": "Day after the last one (Asia/Shanghai): [from, to). It must be "
            "after `from` and at most three years after it (the same day three years on; "
            "from 29 February, 1 March). Default: one year after `from` (29 February: "
            "1 March) or tomorrow, whichever is earlier (so up to today included). A "
            "period that breaks these rules is answered 422."
        },
    )

    @ma.post_load
    def period(self, data, **_kwargs):
        today = local_today()
        start = data.get("start") or date(today.year, 1, 1)
        end = data.get("end") or min(today + timedelta(days=1), years_after(start, 1))
        if end <= start:
            raise ma.ValidationError(_("`to` must be after `from`."), "to")
        if end > years_after(start, MAX_YEARS):
            raise ma.ValidationError(_("A period covers at most three years."), "to")
        data["start"], data["end"] = start, end
        return data


class StatisticsQuery(PeriodQuery):
    level = f.String(
        load_default="cluster",
        validate=v.OneOf(["cluster", "region", "field"]),
        metadata={"description": "Group by industrial cluster, province or field"},
    )


class MetricsQuery(PeriodQuery):
    level = f.String(
        load_default="lab",
        validate=v.OneOf(["unit", "listing", "lab", "cluster", "region", "field"]),
        metadata={
            "description": "unit, listing, lab (a lab's managers: their own lab only); "
            "cluster, region, field (platform administrators and regulators)"
        },
    )
    lab = Id(metadata={"description": "Only this laboratory (a lab's managers: their own)"})


class NationalQuery(PageQuery):
    year = f.Integer(
        load_default=lambda: local_today().year,
        validate=v.Range(2000, 2099),
        metadata={"description": "Calendar year; default the current one"},
    )
    lab = Id(metadata={"description": "Only this laboratory (a lab's managers: their own)"})
    format = f.String(
        load_default="json",
        validate=v.OneOf(["json", "csv"]),
        metadata={"description": "json (paged) or csv (every row, streamed, UTF-8 with BOM)"},
    )


class PeriodSchema(ma.Schema):
    start = f.Date(data_key="from", required=True)
    end = f.Date(data_key="to", required=True, metadata={"description": "Excluded"})


class GroupFields(ma.Schema):
    """Which group a row is: an id (cluster, region, lab, listing, unit; null for labs
    outside any cluster or region) or a field."""

    id = f.Integer(allow_none=True, required=True)
    field = f.Enum(Field, by_value=True, allow_none=True, required=True)
    name = f.String(required=True)
    name_en = f.String(required=True)
    rank = f.Integer(required=True, metadata={"description": "By effective hours, highest 1"})


def Rate(**kwargs):  # noqa: N802  (a field factory)
    return f.Float(allow_none=True, required=True, **kwargs)


class OpenFigures(GroupFields):
    """Aggregate open-sharing figures of a group (DOMAIN.md, "Hours and utilisation"),
    as the statistics pages show them: computed exactly, rounded once half up — hours to
    2 decimals, rates (fractions) to 4, mean ratings to 2."""

    units = f.Integer(attribute="unit_count", required=True)
    available_hours = f.Float(required=True)
    effective_hours = f.Float(required=True)
    external_hours = f.Float(required=True, metadata={"description": "External service hours"})
    share_rate = Rate(metadata={"description": "External ÷ effective hours"})
    utilisation_available = Rate(metadata={"description": "Effective ÷ available hours"})
    utilisation_rated = Rate(metadata={"description": "Effective ÷ rated hours"})
    orgs_served = f.Integer(required=True)
    external_orgs_served = f.Integer(required=True)
    satisfaction = Rate(metadata={"description": "Mean rating (1–5) given in the period"})
    rating_count = f.Integer(required=True)


class StatisticsPage(ma.Schema):
    level = f.String(required=True)
    period = f.Nested(PeriodSchema, required=True)
    items = f.List(f.Nested(OpenFigures), required=True)
    meta = f.Nested(PageMeta, required=True)


class MetricsFigures(OpenFigures):
    """Every sharing metric of a group, money in fen; internal hours are the effective
    minus the external hours, so the parts add up."""

    booked_hours = f.Float(required=True)
    internal_hours = f.Float(required=True)
    rated_hours = f.Float(required=True)
    sme_served = f.Integer(required=True)
    users_served = f.Integer(required=True)
    revenue_internal_fen = f.Integer(required=True)
    revenue_external_fen = f.Integer(required=True)
    revenue_rate = Rate(metadata={"description": "(internal + 1.5 × external) ÷ value"})
    median_response_minutes = Rate()
    bookings = f.Integer(required=True)
    cancelled = f.Integer(required=True)
    no_shows = f.Integer(required=True)
    cancellation_rate = Rate()
    no_show_rate = Rate()
    original_value_fen = f.Integer(required=True)


class MetricsPage(StatisticsPage):
    items = f.List(f.Nested(MetricsFigures), required=True)


class NationalRow(ma.Schema):
    instrument_number = f.String(required=True)
    category_code = f.String(required=True)
    name = f.String(required=True)
    name_en = f.String(required=True)
    unit = f.String(required=True)
    serial_number = f.String(required=True)
    model = f.String(required=True)
    lab = f.String(required=True)
    original_value_wan = f.Float(required=True, metadata={"description": "10,000 CNY"})
    effective_hours = f.Float(required=True)
    external_hours = f.Float(required=True)
    external_income_yuan = f.Float(required=True)
    orgs_served = f.Integer(required=True)
    users_served = f.Integer(required=True)


class NationalPage(ma.Schema):
    year = f.Integer(required=True)
    items = f.List(f.Nested(NationalRow), required=True)
    meta = f.Nested(PageMeta, required=True)


# --- device events -----------------------------------------------------------------------------

Key = f.String  # an identifier a device chooses


class DeviceEventCreate(Input):
    """A start or stop of a session on the device's unit. The device's token names the
    unit; `unit_id`, when sent, must be that unit (403 otherwise)."""

    event_id = Key(
        required=True,
        validate=[v.Length(1, 100), v.Regexp(r"^[A-Za-z0-9._:-]+$")],
        metadata={"description": "Unique per device; the same id again is answered as before"},
    )
    session = Key(
        required=True,
        validate=[v.Length(1, 100), v.Regexp(r"^[A-Za-z0-9._:-]+$")],
        metadata={"description": "The device's id of the session a start and a stop share"},
    )
    kind = f.String(required=True, validate=v.OneOf(["start", "stop"]))
    at = When(required=True, metadata={"description": "When it happened; not in the future"})
    unit_id = Id(metadata={"description": "Optional: the token's unit"})


class DeviceEventSchema(ma.Schema):
    event_id = f.String(required=True)
    session = f.String(required=True)
    kind = f.String(required=True)
    at = f.DateTime(required=True)
    unit_id = f.Integer(required=True)
    duplicate = f.Boolean(
        required=True, metadata={"description": "True: this event id was received before"}
    )
    status = f.String(
        required=True,
        metadata={
            "description": "paired: the session's usage record exists; waiting: the other "
            "event of the session has not arrived yet"
        },
    )
    usage_record_id = f.Integer(allow_none=True, required=True)
