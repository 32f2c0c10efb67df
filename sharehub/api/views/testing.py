"""Commissioned testing through the API: the public search of testing services; the
organisation's orders (requests from their submission on) with quotes and sample status;
a new request (委托单), the laboratory's quote, accepting a quote, the laboratory's
receipt of the samples and their chain of custody; the reports of an order with their
PDF; and the public verification of a report number and code.

A token acts for one organisation: the customer's orders, or for a laboratory whose
member made the token, the lab's orders. Anything else is answered 404. The rules are
the testing services' (sharehub.testing.orders, .samples), as on the pages.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import OrgKind
from sharehub.api import testing_schemas as s
from sharehub.api.auth import require
from sharehub.api.blueprint import Blueprint
from sharehub.api.idempotency import write
from sharehub.api.models import ApiToken
from sharehub.api.pagination import page_meta, page_of
from sharehub.core.clock import local_today
from sharehub.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from sharehub.core.inputs import parse_fen
from sharehub.core.uploads import send_stored
from sharehub.extensions import db, limiter
from sharehub.testing import orders, queries, reports, samples
from sharehub.testing.models import RequestStatus, SampleEvent, TestingRequest
from sharehub.testing.report_models import Report

testing = Blueprint(
    "api_testing",
    __name__,
    url_prefix="/api/v1",
    description="Testing orders, quotes, samples and reports (scopes orders:read, "
    "orders:write, reports:read); report verification is public",
)
services = Blueprint(
    "api_testing_services",
    __name__,
    url_prefix="/api/v1",
    description="Testing services: search by standard number or name (public)",
)
BLUEPRINTS = (services, testing)
ID = "int(max=2147483647)"
TOKEN = [{"bearerAuth": []}]
PDF = {"type": "string", "format": "binary"}
# The refusals of orders.create_request that depend on the services chosen, not on the
# request's form: 409 in the API (the request is well formed), as the API answers the
# state of the data.
ORDERABLE_FIELDS = ("service_ids", "expedited")


def _verify_limit() -> str:
    return current_app.config["SIGNIN_RATE_LIMIT"]  # guessing codes is as slow as passwords


def _is_lab_side(token: ApiToken, order: TestingRequest) -> bool:
    return order.lab_id == token.organisation_id and token.organisation.is_lab


def order_for(token: ApiToken, order_id: int) -> TestingRequest:
    order = db.session.get(TestingRequest, order_id)
    if (
        order is None
        or order.status == RequestStatus.DRAFT
        or not (order.customer_org_id == token.organisation_id or _is_lab_side(token, order))
    ):
        raise NotFound(_l("No such order."))
    return order


@testing.route("/orders")
@testing.doc(security=TOKEN)
@testing.arguments(s.OrderQuery, location="query", as_kwargs=True)
@testing.response(200, s.OrderPage)
def list_orders(page: int, per_page: int, side: str, status=None):
    """The organisation's testing requests and orders, newest first"""
    token = require("orders:read")
    query = sa.select(TestingRequest).where(TestingRequest.status != RequestStatus.DRAFT)
    if side == "lab":
        if not token.organisation.is_lab:
            raise PermissionDenied(_l("Only a laboratory lists the orders it received."))
        query = query.where(TestingRequest.lab_id == token.organisation_id)
    else:
        query = query.where(TestingRequest.customer_org_id == token.organisation_id)
    if status:
        query = query.where(TestingRequest.status == status)
    return page_of(query.order_by(TestingRequest.id.desc()), page, per_page)


@testing.route(f"/orders/<{ID}:order_id>")
@testing.doc(security=TOKEN)
@testing.response(200, s.OrderSchema)
def get_order(order_id: int):
    """One testing request or order, with its quotes and the status of its samples"""
    return order_for(require("orders:read"), order_id)


@testing.route(f"/orders/<{ID}:order_id>/accept", methods=["POST"])
@write("orders:write")
@testing.doc(security=TOKEN)
@testing.arguments(s.QuoteAccept)
@testing.response(200, s.OrderSchema)
def accept_quote(data: dict, order_id: int):
    """Accept the open quote (the customer): the request becomes an order"""
    token = require("orders:write")
    order = order_for(token, order_id)
    return orders.accept(token.user, order, data.get("quote_id"))


@testing.route(f"/orders/<{ID}:order_id>/reports")
@testing.doc(security=TOKEN)
@testing.response(200, s.ReportList)
def order_reports(order_id: int):
    """The order's reports: issued ones for the customer, drafts too for the lab"""
    token = require("reports:read")
    order = order_for(token, order_id)
    lab_side = _is_lab_side(token, order)
    found = db.session.scalars(
        sa.select(Report).where(Report.order_id == order.id).order_by(Report.id)
    )
    return {"items": [r for r in found if r.is_issued or lab_side]}


@testing.route(f"/reports/<{ID}:report_id>")
@testing.doc(security=TOKEN)
@testing.response(200, s.ReportSchema)
def get_report(report_id: int):
    """One report with its results"""
    token = require("reports:read")
    report = db.session.get(Report, report_id)
    if report is None:
        raise NotFound(_l("No such report."))
    order = order_for(token, report.order_id)
    if not (report.is_issued or _is_lab_side(token, order)):
        raise NotFound(_l("No such report."))
    return report


@testing.route("/reports/verify")
@testing.arguments(s.VerifyQuery, location="query", as_kwargs=True)
@testing.response(200, s.VerifiedReportSchema)
@limiter.limit(_verify_limit)
def verify_report(no: str, code: str):
    """Check a report by its number and verification code (public, rate-limited)

    Answers the issuing laboratory, the issue date, the sample names, the overall verdict
    and the status (issued, amended, withdrawn); a wrong code reveals nothing.
    """
    report = reports.verify(no, code)
    if report is None:
        raise NotFound(_l("No report matches this number and code."))
    return report


# --- services ------------------------------------------------------------------------------


@services.route("/testing-services")
@services.arguments(s.ServiceQuery, location="query", as_kwargs=True)
@services.response(200, s.ServicePage)
def search_services(page: int, per_page: int, **filters):
    """Search the testing services

    The same filters as the page /testing/services: words of the name, method or
    parameters, or a standard number with or without its year; `accr` keeps services
    inside a valid CMA or CNAS scope today (their `marks`).
    """
    search = queries.ServiceSearch(
        q=(filters.get("q") or "").strip(),
        field=filters.get("field") or "",
        accreditation=filters.get("accr") or "",
        days=filters.get("days"),
        price_max=parse_fen(filters.get("price_max"), field="price_max"),
        region=filters.get("region"),
        cluster=filters.get("cluster"),
        lab=filters.get("lab"),
    )
    rows = queries.search_services(search, local_today())
    items = []
    for service, marks in rows[(page - 1) * per_page : page * per_page]:
        service.marks = [m.value for m in marks]  # read by TestingServiceSchema
        items.append(service)
    return {"items": items, "meta": page_meta(page, per_page, len(rows))}


# --- requests, quotes, samples -------------------------------------------------------------


@testing.route("/orders", methods=["POST"])
@write("orders:write")
@testing.doc(security=TOKEN)
@testing.arguments(s.OrderCreate)
@testing.response(201, s.OrderSchema)
def create_order(data: dict):
    """Send a testing request (委托单) for the organisation (an enterprise)

    Standard services are priced at once: the request is `quoted` with an automatic quote
    to accept. A service that needs a quote leaves it `submitted` until the laboratory
    quotes. Services of several laboratories, or `expedited` with a service that has no
    expedited turnaround, are answered 409 (`field` names which).
    """
    token = require("orders:write")
    if token.organisation.kind != OrgKind.ENTERPRISE:
        raise PermissionDenied(_l("Only an enterprise requests testing."))
    try:
        created = orders.create_request(
            token.user,
            token.organisation,
            data["service_ids"],
            [orders.SampleInput(**row) for row in data["samples"]],
            report_language=data["report_language"],
            report_addressee=data["report_addressee"],
            report_address=data["report_address"],
            expedited=data["expedited"],
            title=data["title"],
            notes=data["notes"],
        )
    except ValidationError as exc:
        if exc.field in ORDERABLE_FIELDS:  # a well-formed request these services cannot take
            raise Conflict(exc.message, exc.field) from None
        raise
    return orders.submit(token.user, created)


def _lab_order(token: ApiToken, order_id: int, message) -> TestingRequest:
    order = order_for(token, order_id)
    if not _is_lab_side(token, order):
        raise PermissionDenied(message)
    return order


@testing.route(f"/orders/<{ID}:order_id>/quotes", methods=["POST"])
@write("orders:write")
@testing.doc(security=TOKEN)
@testing.arguments(s.QuoteCreate)
@testing.response(201, s.QuoteSchema)
def create_quote(data: dict, order_id: int):
    """Quote a request (the laboratory's managers): lines, turnaround and validity

    A new quote replaces the open one. The customer accepts it with
    POST /orders/{order_id}/accept.
    """
    token = require("orders:write")
    order = _lab_order(token, order_id, _l("Only the laboratory quotes."))
    offered = {item.service_id for item in order.items}
    if any(line["service_id"] not in (None, *offered) for line in data["lines"]):
        raise ValidationError(_l("A line's service is one of the request's services."), "lines")
    return orders.quote(
        token.user,
        order,
        [
            orders.LineInput(
                description=line["description"],
                quantity=line["quantity"],
                unit_price_fen=line["unit_price_fen"],
                service_id=line["service_id"],
            )
            for line in data["lines"]
        ],
        valid_until=data["valid_until"],
        turnaround_days=data["turnaround_days"],
        note=data["note"],
        terms=data["terms"],
    )


def _samples_of(order: TestingRequest) -> dict:
    custody = db.session.scalars(
        sa.select(SampleEvent)
        .where(SampleEvent.request_id == order.id)
        .order_by(SampleEvent.at_dt, SampleEvent.id)
    ).all()
    return {
        "order_id": order.id,
        "status": order.status,
        "items": order.samples,
        "custody": custody,
    }


@testing.route(f"/orders/<{ID}:order_id>/samples")
@testing.doc(security=TOKEN)
@testing.response(200, s.OrderSamples)
def order_samples(order_id: int):
    """The order's samples with their status, and the chain of custody"""
    return _samples_of(order_for(require("orders:read"), order_id))


@testing.route(f"/orders/<{ID}:order_id>/receipt", methods=["POST"])
@write("orders:write")
@testing.doc(security=TOKEN)
@testing.arguments(s.ReceiptCreate)
@testing.response(200, s.OrderSamples)
def receive_samples(data: dict, order_id: int):
    """Record the receipt of the samples (the laboratory's managers)

    Each expected sample is received (numbered, stored, kept until `retain_until`) or
    refused with its reason; every sample is decided at once.
    """
    token = require("orders:write")
    order = _lab_order(token, order_id, _l("Only the laboratory records the receipt of samples."))
    samples.receive(
        token.user,
        order,
        [samples.ReceiptInput(**decision) for decision in data["samples"]],
    )
    return _samples_of(order)


@testing.route(f"/reports/<{ID}:report_id>/pdf")
@testing.doc(security=TOKEN)
@testing.response(200, PDF, content_type="application/pdf", description="The report's PDF")
def report_pdf(report_id: int):
    """The report as PDF: the issued one, or for the laboratory's staff a draft's upload"""
    token = require("reports:read")
    report = db.session.get(Report, report_id)
    if report is None:
        raise NotFound(_l("No such report."))
    order = order_for(token, report.order_id)
    # The checks of the report's page (testing.report_views.pdf), for the token's side.
    lab_staff = _is_lab_side(token, order) and report.is_lab_staff(token.user)
    document = report.issued_pdf if report.is_issued else report.uploaded_pdf
    if document is None or not report.can_view(token.user) or not (report.is_issued or lab_staff):
        raise NotFound(_l("No such report."))
    return send_stored(document)
