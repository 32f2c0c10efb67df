"""Commissioned testing through the API: the organisation's orders (requests from their
submission on) with quotes and sample status, accepting a quote, the reports of an order,
and the public verification of a report number and code.

A token acts for one organisation: the customer's orders, or for a laboratory whose
member made the token, the lab's orders. Anything else is answered 404.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from sharehub.api import testing_schemas as s
from sharehub.api.auth import require
from sharehub.api.blueprint import Blueprint
from sharehub.api.idempotency import write
from sharehub.api.models import ApiToken
from sharehub.api.pagination import page_of
from sharehub.core.errors import NotFound, PermissionDenied
from sharehub.extensions import db, limiter
from sharehub.testing import orders, reports
from sharehub.testing.models import RequestStatus, TestingRequest
from sharehub.testing.report_models import Report

testing = Blueprint(
    "api_testing",
    __name__,
    url_prefix="/api/v1",
    description="Testing orders, quotes, samples and reports (scopes orders:read, "
    "orders:write, reports:read); report verification is public",
)
BLUEPRINTS = (testing,)
ID = "int(max=2147483647)"
TOKEN = [{"bearerAuth": []}]


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
