"""API schemas of commissioned testing: orders (requests from submission on), their
quotes, samples and reports, and the public verification of a report."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from sharehub.api.schemas import PageMeta, PageQuery, Query, Value
from sharehub.testing.models import QuoteStatus, RequestStatus, SampleStatus
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
