"""API schemas of commissioned testing: orders (requests from submission on), their
quotes, samples and reports, and the public verification of a report."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from sharehub.api.schemas import (
    YUAN_PATTERN,
    Id,
    Inline,
    Input,
    LabRef,
    PageMeta,
    PageQuery,
    Query,
    Text,
    Value,
    Year,
)
from sharehub.catalog.models import Field
from sharehub.testing.models import (
    AfterTest,
    PriceBasis,
    QuoteStatus,
    ReportLanguage,
    RequestStatus,
    SampleEventKind,
    SampleStatus,
)
from sharehub.testing.orders import MAX_LINE_FEN, MAX_QUANTITY, MAX_SAMPLES
from sharehub.testing.report_models import ReportStatus, Verdict


class OrderQuery(PageQuery):
    side = f.String(
        load_default="customer",
        validate=v.OneOf(["customer", "lab"]),
        metadata={"description": "customer: ordered by the organisation; lab: of its lab"},
    )
    status = f.String(validate=v.OneOf([s.value for s in RequestStatus]))


class OrderItemSchema(ma.Schema):
    service_id = f.Integer(required=True)
    service_name = f.String(attribute="service.name", required=True)
    standard = f.String(attribute="service.standard_code", required=True)
    parameters = f.Function(lambda item: [p.name for p in item.parameters], required=True)


class SampleSchema(ma.Schema):
    id = f.Integer(required=True)
    code = f.String(allow_none=True, required=True)
    name = f.String(required=True)
    quantity = f.Integer(required=True)
    status = Value(SampleStatus)
    received_at = f.DateTime(attribute="received_dt", allow_none=True, required=True)
    retain_until = f.Date(allow_none=True, required=True)


class QuoteLineSchema(ma.Schema):
    description = f.String(required=True)
    quantity = f.Integer(required=True)
    unit_price_fen = f.Integer(required=True)
    amount_fen = f.Integer(required=True)


class QuoteSchema(ma.Schema):
    id = f.Integer(required=True)
    status = Value(QuoteStatus)
    is_automatic = f.Boolean(required=True)
    valid_until = f.Date(required=True)
    turnaround_days = f.Integer(required=True)
    total_fen = f.Integer(required=True)
    currency = f.Constant("CNY", required=True)
    lines = f.List(f.Nested(QuoteLineSchema), required=True)


class OrderSchema(ma.Schema):
    id = f.Integer(required=True)
    reference = f.String(required=True)
    status = Value(RequestStatus)
    lab_id = f.Integer(required=True)
    customer_org_id = f.Integer(required=True)
    title = f.String(required=True)
    expedited = f.Boolean(required=True)
    total_fen = f.Integer(allow_none=True, required=True)
    currency = f.Constant("CNY", required=True)
    turnaround_days = f.Integer(allow_none=True, required=True)
    submitted_at = f.DateTime(attribute="submitted_dt", allow_none=True, required=True)
    accepted_at = f.DateTime(attribute="accepted_dt", allow_none=True, required=True)
    received_at = f.DateTime(attribute="received_dt", allow_none=True, required=True)
    items = f.List(f.Nested(OrderItemSchema), required=True)
    samples = f.List(f.Nested(SampleSchema), required=True)
    quotes = f.List(f.Nested(QuoteSchema), required=True)


class OrderPage(ma.Schema):
    items = f.List(f.Nested(OrderSchema), required=True)
    meta = f.Nested(PageMeta, required=True)


class QuoteAccept(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    quote_id = f.Integer(
        load_default=None,
        allow_none=True,
        validate=v.Range(1, 2**31 - 1),
        metadata={"description": "the open quote accepted (refused if another is open now)"},
    )


class ResultSchema(ma.Schema):
    sample_id = f.Integer(required=True)
    sample_code = f.String(attribute="sample.code", allow_none=True, required=True)
    parameter = f.String(required=True)
    method = f.String(required=True)
    value = f.String(required=True)
    unit = f.String(required=True)
    limit = f.String(attribute="limit_text", required=True)
    verdict = Value(Verdict)
    accredited = f.Boolean(required=True)


class MarkSchema(ma.Schema):
    kind = f.String(required=True)
    number = f.String(required=True)


class ReportSchema(ma.Schema):
    id = f.Integer(required=True)
    order_id = f.Integer(required=True)
    lab_id = f.Integer(required=True)
    number = f.String(allow_none=True, required=True)
    version = f.Integer(required=True)
    status = Value(ReportStatus)
    supersedes_id = f.Integer(allow_none=True, required=True)
    issue_date = f.Date(allow_none=True, required=True)
    overall_verdict = f.Enum(Verdict, by_value=True, allow_none=True, required=True)
    marks = f.List(f.Nested(MarkSchema), required=True)
    content_sha256 = f.String(attribute="content_hash", allow_none=True, required=True)
    withdrawn_reason = f.String(required=True)
    results = f.List(f.Nested(ResultSchema), required=True)


class ReportList(ma.Schema):
    items = f.List(f.Nested(ReportSchema), required=True)


class VerifyQuery(Query):
    no = f.String(
        required=True,
        validate=v.Regexp(r"^[A-Za-z0-9-]{1,40}$"),
        metadata={"description": "the report number as printed"},
    )
    code = f.String(
        required=True,
        validate=v.Regexp(r"^[A-Za-z0-9 ]{1,16}$"),
        metadata={"description": "the verification code as printed"},
    )


class VerifiedReportSchema(ma.Schema):
    """What anyone may know of a report from its number and code: nothing confidential."""

    number = f.String(required=True)
    version = f.Integer(required=True)
    status = Value(ReportStatus)
    superseded_by = f.Function(
        lambda r: r.superseded_by.number if r.superseded_by else None,
        allow_none=True,
        required=True,
    )
    lab_name = f.String(attribute="lab.name", required=True)
    issue_date = f.Date(required=True)
    samples = f.Function(lambda r: [s.name for s in r.order.samples if s.code], required=True)
    overall_verdict = f.Enum(Verdict, by_value=True, allow_none=True, required=True)


# --- testing services (public search) -----------------------------------------------------


class ServiceQuery(Query):
    """The filters of the testing-services page (/testing/services), with the same names."""

    q = Text(
        validate=v.Length(max=100),
        metadata={
            "description": "Words of the name, method or parameters, or a standard number "
            '("GB/T 10125", "gbt10125", "10125")'
        },
    )
    field = f.String(validate=v.OneOf([x.value for x in Field]))
    accr = f.String(
        validate=v.OneOf(["cma", "cnas", "any"]),
        metadata={"description": "Only services inside a valid CMA or CNAS scope today"},
    )
    days = f.Integer(
        validate=v.Range(1, 365),
        metadata={"description": "At most this many working days (standard or expedited)"},
    )
    price_max = f.String(
        validate=v.Regexp(YUAN_PATTERN),
        metadata={"description": "Highest external price per sample or parameter, in yuan"},
    )
    region = Id()
    cluster = Id()
    lab = Id()
    page = f.Integer(load_default=1, validate=v.Range(1, 10000))
    per_page = f.Integer(load_default=20, validate=v.Range(1, 200))


class ParameterSchema(ma.Schema):
    name = f.String(required=True)
    name_en = f.String(required=True)
    unit = f.String(required=True)
    limit = f.String(attribute="limit_text", required=True)


class ServicePriceSchema(ma.Schema):
    basis = Value(PriceBasis, attribute="price_basis")
    external_fen = f.Integer(attribute="price_external", required=True)
    cluster_fen = f.Integer(attribute="price_cluster", allow_none=True, required=True)
    currency = f.Constant("CNY", required=True)


class TestingServiceSchema(ma.Schema):
    id = f.Integer(required=True)
    name = f.String(required=True)
    name_en = f.String(required=True)
    standard = f.String(attribute="standard_code", required=True)
    method = f.String(required=True)
    method_en = f.String(required=True)
    field = Value(Field)
    lab = f.Nested(LabRef, required=True)
    parameters = f.List(f.Nested(ParameterSchema), required=True)
    sample_quantity = f.Integer(required=True, metadata={"description": "Pieces per sample"})
    sample_size = f.String(required=True)
    standard_days = f.Integer(required=True, metadata={"description": "Working days"})
    expedited_days = f.Integer(allow_none=True, required=True)
    expedited_surcharge_percent = f.Integer(required=True)
    price = Inline(ServicePriceSchema, required=True)
    quote_required = f.Boolean(
        required=True,
        metadata={"description": "True: a request is quoted by the laboratory, not priced at once"},
    )
    marks = f.List(
        f.String(),
        required=True,
        metadata={"description": "cma and/or cnas: the scopes valid today that cover it"},
    )


class ServicePage(ma.Schema):
    items = f.List(f.Nested(TestingServiceSchema), required=True)
    meta = f.Nested(PageMeta, required=True)


# --- writing requests, quotes and receipts --------------------------------------------------

_CHARS = r"[^\x00-\x08\x0b\x0c\x0e-\x1f]"
# TEXT_PATTERN with at least one character that is not white space.
NOT_BLANK = rf"^{_CHARS}*[^\s\x00-\x08\x0b\x0c\x0e-\x1f]{_CHARS}*$"


def Named(limit: int, **kwargs):  # noqa: N802  (a field factory)
    """A text that is not blank, of 1 to `limit` characters."""
    return Text(
        validate=[v.Length(1, limit), v.Regexp(NOT_BLANK)],
        metadata={"pattern": NOT_BLANK, **kwargs.pop("metadata", {})},
        **kwargs,
    )


class SampleCreate(Input):
    name = Named(200, required=True)
    model_batch = Text(load_default="", validate=v.Length(max=200))
    quantity = f.Integer(load_default=1, validate=v.Range(1, MAX_QUANTITY))
    hazards = Text(load_default="", validate=v.Length(max=300))
    storage_needs = Text(load_default="", validate=v.Length(max=300))
    after_test = f.String(
        load_default=AfterTest.RETURN.value,
        validate=v.OneOf([a.value for a in AfterTest]),
        metadata={"description": "return: the sample comes back; dispose: the lab disposes of it"},
    )


class OrderCreate(Input):
    """A testing request (委托单) to one laboratory, sent at once: priced at once when every
    service has a list price (an automatic quote to accept), else waiting for the
    laboratory's quote."""

    service_ids = f.List(
        Id(),
        required=True,
        validate=v.Length(1, 50),
        metadata={"description": "Published services, all of one laboratory (409 if not)"},
    )
    samples = f.List(f.Nested(SampleCreate), required=True, validate=v.Length(1, MAX_SAMPLES))
    report_language = f.String(
        load_default=ReportLanguage.ZH.value,
        validate=v.OneOf([x.value for x in ReportLanguage]),
    )
    report_addressee = Text(
        load_default="",
        validate=v.Length(max=200),
        metadata={"description": "Default: the organisation's name"},
    )
    report_address = Text(load_default="", validate=v.Length(max=300))
    expedited = f.Boolean(
        load_default=False,
        metadata={"description": "Every service must offer an expedited turnaround (409 if not)"},
    )
    title = Text(load_default="", validate=v.Length(max=200))
    notes = Text(load_default="", validate=v.Length(max=20_000))


class QuoteLineCreate(Input):
    description = Named(300, required=True)
    quantity = f.Integer(required=True, validate=v.Range(1, MAX_QUANTITY))
    unit_price_fen = f.Integer(required=True, validate=v.Range(0, MAX_LINE_FEN))
    service_id = Id(
        load_default=None,
        allow_none=True,
        metadata={"description": "One of the request's services, if the line is for one (400)"},
    )


class QuoteCreate(Input):
    """The laboratory's quote; it replaces the open one, if any."""

    lines = f.List(f.Nested(QuoteLineCreate), required=True, validate=v.Length(1, 100))
    turnaround_days = f.Integer(
        required=True, validate=v.Range(1, 365), metadata={"description": "Working days"}
    )
    valid_until = Year(
        required=True,
        metadata={
            "description": "Last day the quote may be accepted (Asia/Shanghai): today or "
            "later (an earlier day is answered 400)"
        },
    )
    note = Text(load_default="", validate=v.Length(max=20_000))
    terms = Text(load_default="", validate=v.Length(max=20_000))


class SampleDecision(Input):
    sample_id = Id(required=True)
    accepted = f.Boolean(required=True)
    condition_note = Text(load_default="", validate=v.Length(max=2000))
    refusal_reason = Text(
        load_default="",
        validate=v.Length(max=2000),
        metadata={"description": "Required (not blank) when the sample is refused (400)"},
    )
    storage_place = Text(load_default="", validate=v.Length(max=200))
    retain_until = Year(
        load_default=None,
        allow_none=True,
        metadata={"description": "Kept until (Asia/Shanghai), today or later; default 90 days on"},
    )


class ReceiptCreate(Input):
    """The laboratory's decision on every expected sample of the order: received (then
    numbered) or refused with the reason. Every sample refused ends the order (refused)."""

    samples = f.List(f.Nested(SampleDecision), required=True, validate=v.Length(1, MAX_SAMPLES))


# --- samples and their chain of custody ------------------------------------------------------


class SampleDetailSchema(SampleSchema):
    model_batch = f.String(required=True)
    hazards = f.String(required=True)
    storage_needs = f.String(required=True)
    after_test = Value(AfterTest)
    condition_note = f.String(required=True)
    refusal_reason = f.String(required=True)
    storage_place = f.String(required=True)
    closed_at = f.DateTime(attribute="closed_dt", allow_none=True, required=True)


class CustodyEventSchema(ma.Schema):
    id = f.Integer(required=True)
    sample_id = f.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "null: an event of the whole shipment"},
    )
    kind = f.String(
        required=True,
        metadata={"description": ", ".join(k.value for k in SampleEventKind) + " (or later kinds)"},
    )
    at = f.DateTime(attribute="at_dt", required=True)
    from_party = f.String(required=True)
    to_party = f.String(required=True)
    place = f.String(required=True)
    note = f.String(required=True)


class OrderSamples(ma.Schema):
    order_id = f.Integer(required=True)
    status = Value(RequestStatus)
    items = f.List(f.Nested(SampleDetailSchema), required=True)
    custody = f.List(
        f.Nested(CustodyEventSchema),
        required=True,
        metadata={"description": "The chain of custody, oldest first"},
    )
