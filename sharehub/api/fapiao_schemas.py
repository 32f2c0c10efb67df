"""API schemas of fapiao (增值税发票): the enterprise's invoice profiles, fapiao requests
on statements of charges and the fapiao attached to them. Amounts are fen, tax included."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from sharehub.api.schemas import Id, Input, PageMeta, PageQuery, Value
from sharehub.fapiao.models import FapiaoKind, RedReason, RequestStatus


class ProfileSchema(ma.Schema):
    id = f.Integer(required=True)
    kind = Value(FapiaoKind, metadata={"description": "normal: 普通发票; special: 专用发票"})
    title = f.String(required=True, metadata={"description": "名称 (抬头)"})
    tax_id = f.String(required=True, metadata={"description": "纳税人识别号"})
    address = f.String(required=True)
    phone = f.String(required=True)
    bank_name = f.String(required=True)
    bank_account = f.String(required=True)
    email = f.String(required=True)
    is_default = f.Boolean(required=True)


class ProfileList(ma.Schema):
    items = f.List(f.Nested(ProfileSchema), required=True)


class BuyerSchema(ma.Schema):
    """The profile as it was when the fapiao was asked for."""

    kind = f.String(required=True)
    title = f.String(required=True)
    tax_id = f.String(required=True)
    address = f.String(required=True)
    phone = f.String(required=True)
    bank_name = f.String(required=True)
    bank_account = f.String(required=True)
    email = f.String(required=True)


class FapiaoSchema(ma.Schema):
    id = f.Integer(required=True)
    number = f.String(required=True, metadata={"description": "20 digits"})
    issued_date = f.Date(required=True)
    amount_fen = f.Integer(
        attribute="amount", required=True, metadata={"description": "Negative for a red fapiao"}
    )
    is_red = f.Boolean(required=True)
    original_id = f.Integer(allow_none=True, required=True)
    red_confirmation_no = f.String(allow_none=True, required=True)
    red_reason = f.Enum(RedReason, by_value=True, allow_none=True, required=True)
    content_type = f.String(required=True)
    sha256 = f.String(required=True)


class FapiaoRequestSchema(ma.Schema):
    id = f.Integer(required=True)
    statement_id = f.Integer(attribute="invoice_id", required=True)
    statement_number = f.String(attribute="invoice.number", allow_none=True, required=True)
    lab_id = f.Integer(required=True)
    customer_org_id = f.Integer(required=True)
    profile_id = f.Integer(allow_none=True, required=True)
    status = Value(RequestStatus)
    kind = Value(FapiaoKind)
    buyer = f.Nested(BuyerSchema, required=True)
    amount_fen = f.Integer(attribute="amount", required=True)
    currency = f.Constant("CNY", required=True)
    created_at = f.DateTime(attribute="created_dt", required=True)
    exported_at = f.DateTime(attribute="exported_dt", allow_none=True, required=True)
    fapiao = f.List(
        f.Nested(FapiaoSchema),
        attribute="fapiaos",
        required=True,
        metadata={"description": "The issued fapiao and any red fapiao reversing it"},
    )


class FapiaoRequestPage(ma.Schema):
    items = f.List(f.Nested(FapiaoRequestSchema), required=True)
    meta = f.Nested(PageMeta, required=True)


class FapiaoRequestQuery(PageQuery):
    side = f.String(
        load_default="customer",
        validate=v.OneOf(["customer", "lab"]),
        metadata={"description": "customer: asked by the organisation; lab: to its lab"},
    )
    status = f.String(validate=v.OneOf([s.value for s in RequestStatus]))


class FapiaoRequestCreate(Input):
    statement_id = Id(
        required=True,
        metadata={"description": "An issued statement to the organisation, not yet asked for"},
    )
    profile_id = Id(required=True, metadata={"description": "One of the organisation's profiles"})
