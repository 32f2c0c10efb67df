"""Usage records of a laboratory, and statements of charges with their PDFs, through
the API.

Usage records belong to laboratories: only a token of a lab's manager reads or writes
them. Statements are visible to the issuing lab's managers and, once issued, to the
customer organisation; anything else is answered 404. /statements is the name; the former
/invoices paths answer the same and are marked deprecated.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import Response
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation
from sharehub.api import schemas as s
from sharehub.api.auth import require
from sharehub.api.blueprint import Blueprint
from sharehub.api.idempotency import write
from sharehub.api.models import ApiToken
from sharehub.api.pagination import page_of
from sharehub.api.views.bookings import TOKEN, acts_as_lab
from sharehub.billing.models import Invoice, InvoiceStatus
from sharehub.billing.pdf import invoice_pdf
from sharehub.booking import usage as usage_service
from sharehub.booking.availability import LAB_TZ
from sharehub.booking.models import ServiceWay, UsageRecord, UsageSource
from sharehub.catalog.models import Listing, Unit
from sharehub.core.errors import NotFound, PermissionDenied
from sharehub.extensions import db

usage = Blueprint(
    "api_usage",
    __name__,
    url_prefix="/api/v1",
    description="Usage records of the token's laboratory (scopes usage:read, usage:write)",
)
statements = Blueprint(
    "api_statements",
    __name__,
    url_prefix="/api/v1",
    description=(
        "Statements of charges (结算单, the laboratory's billing document; not a fapiao) "
        "and their PDFs (scope invoices:read)"
    ),
)
invoices = Blueprint(
    "api_invoices",
    __name__,
    url_prefix="/api/v1",
    description="Deprecated aliases of the statements operations (scope invoices:read)",
)
BLUEPRINTS = (usage, statements, invoices)
ID = "int(max=2147483647)"
PDF = {"type": "string", "format": "binary"}


def _lab_token(scope: str) -> ApiToken:
    token = require(scope)
    if not acts_as_lab(token):
        raise PermissionDenied(_l("Only managers of this laboratory record usage."))
    return token


@usage.route("/usage-records")
@usage.doc(security=TOKEN)
@usage.arguments(s.UsageQuery, location="query", as_kwargs=True)
@usage.response(200, s.UsagePage)
def list_usage(page: int, per_page: int, unit_id=None, start=None, end=None):
    """The laboratory's usage records (bookings checked in/out and internal use)

    `from` and `to` are days in the laboratory's time (Asia/Shanghai), both included.
    """
    token = _lab_token("usage:read")
    query = (
        sa.select(UsageRecord)
        .join(Unit, UsageRecord.unit_id == Unit.id)
        .join(Listing, Unit.listing_id == Listing.id)
        .where(Listing.lab_id == token.organisation_id)
    )
    if unit_id:
        query = query.where(UsageRecord.unit_id == unit_id)
    if start:
        query = query.where(UsageRecord.started_dt >= datetime.combine(start, time(), LAB_TZ))
    if end:
        day_after = datetime.combine(end + timedelta(days=1), time(), LAB_TZ)
        query = query.where(UsageRecord.started_dt < day_after)
    query = query.order_by(UsageRecord.started_dt.desc(), UsageRecord.id.desc())
    return page_of(query, page, per_page)


@usage.route("/usage-records", methods=["POST"])
@write("usage:write")
@usage.doc(security=TOKEN)
@usage.arguments(s.UsageCreate)
@usage.response(201, s.UsageSchema)
def create_usage(data: dict):
    """Record use that did not go through a booking (internal use by default)"""
    token = _lab_token("usage:write")
    unit = db.session.get(Unit, data["unit_id"])
    if unit is None or unit.listing.lab_id != token.organisation_id:
        raise NotFound(_l("No such unit."))
    user_org = None
    if data.get("user_org_id"):
        user_org = db.session.get(Organisation, data["user_org_id"])
        if user_org is None:
            raise NotFound(_l("No such organisation."))
    record = usage_service.log_usage(
        token.user,
        unit,
        user_org=user_org,
        started=data["started_at"],
        ended=data["ended_at"],
        prep_minutes=data["prep_minutes"],
        run_minutes=data["run_minutes"],
        post_minutes=data["post_minutes"],
        samples=data["samples"],
        service_way=ServiceWay(data["service_way"]),
        notes=data["notes"],
        source=UsageSource.API,
    )
    return record


def invoice_for(token: ApiToken, invoice_id: int) -> Invoice:
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or not (
        invoice.lab_id == token.organisation_id
        and acts_as_lab(token)
        or invoice.customer_org_id == token.organisation_id
        and not invoice.is_draft
    ):
        raise NotFound(_l("No such statement."))
    return invoice


def _list(page: int, per_page: int, side: str, status=None):
    token = require("invoices:read")
    query = sa.select(Invoice)
    if side == "lab":
        if not acts_as_lab(token):
            raise PermissionDenied(
                _l("Only a laboratory's managers list the statements it issued.")
            )
        query = query.where(Invoice.lab_id == token.organisation_id)
    else:
        query = query.where(
            Invoice.customer_org_id == token.organisation_id,
            Invoice.status != InvoiceStatus.DRAFT,
        )
    if status:
        query = query.where(Invoice.status == status)
    query = query.order_by(Invoice.issued_dt.desc().nulls_first(), Invoice.id.desc())
    return page_of(query, page, per_page)


def _pdf(invoice_id: int, lang: str) -> Response:
    invoice = invoice_for(require("invoices:read"), invoice_id)
    name = invoice.number or f"draft-{invoice.id}"
    return Response(
        invoice_pdf(invoice, lang),
        mimetype="application/pdf",
        headers={"Content-Disposition": f"attachment; filename={name}.pdf"},
    )


@statements.route("/statements")
@statements.doc(security=TOKEN)
@statements.arguments(s.InvoiceQuery, location="query", as_kwargs=True)
@statements.response(200, s.InvoicePage)
def list_statements(page: int, per_page: int, side: str, status=None):
    """Statements of charges to the organisation (side=customer) or issued by its
    laboratory (side=lab)"""
    return _list(page, per_page, side, status)


@statements.route(f"/statements/<{ID}:invoice_id>")
@statements.doc(security=TOKEN)
@statements.response(200, s.InvoiceSchema)
def get_statement(invoice_id: int):
    """One statement of charges with its lines, payments received and the amount still open"""
    return invoice_for(require("invoices:read"), invoice_id)


@statements.route(f"/statements/<{ID}:invoice_id>/pdf")
@statements.doc(security=TOKEN)
@statements.arguments(s.PdfQuery, location="query", as_kwargs=True)
@statements.response(200, PDF, content_type="application/pdf", description="The statement's PDF")
def statement_pdf_download(invoice_id: int, lang: str):
    """The statement of charges as PDF (Chinese by default, `lang=en` for English)"""
    return _pdf(invoice_id, lang)


# The former names, kept working for existing clients; the OpenAPI document marks them
# deprecated in favour of /statements.


@invoices.route("/invoices")
@invoices.doc(security=TOKEN, deprecated=True)
@invoices.arguments(s.InvoiceQuery, location="query", as_kwargs=True)
@invoices.response(200, s.InvoicePage)
def list_invoices(page: int, per_page: int, side: str, status=None):
    """Deprecated: use GET /statements (same answer)"""
    return _list(page, per_page, side, status)


@invoices.route(f"/invoices/<{ID}:invoice_id>")
@invoices.doc(security=TOKEN, deprecated=True)
@invoices.response(200, s.InvoiceSchema)
def get_invoice(invoice_id: int):
    """Deprecated: use GET /statements/{invoice_id} (same answer)"""
    return invoice_for(require("invoices:read"), invoice_id)


@invoices.route(f"/invoices/<{ID}:invoice_id>/pdf")
@invoices.doc(security=TOKEN, deprecated=True)
@invoices.arguments(s.PdfQuery, location="query", as_kwargs=True)
@invoices.response(200, PDF, content_type="application/pdf", description="The statement's PDF")
def invoice_pdf_download(invoice_id: int, lang: str):
    """Deprecated: use GET /statements/{invoice_id}/pdf (same answer)"""
    return _pdf(invoice_id, lang)
