"""Reads of the fapiao pages and the consistency checks."""

from __future__ import annotations

import sqlalchemy as sa

from sharehub.billing.models import Invoice, InvoiceLine
from sharehub.extensions import db
from sharehub.fapiao.models import OPEN_STATUSES, Fapiao, FapiaoRequest, RequestStatus


def lab_requests(lab_id: int, status: str | None = None) -> list[FapiaoRequest]:
    query = sa.select(FapiaoRequest).where(FapiaoRequest.lab_id == lab_id)
    if status:
        query = query.where(FapiaoRequest.status == status)
    return list(db.session.scalars(query.order_by(FapiaoRequest.id.desc()).limit(500)))


def customer_requests(org_id: int) -> list[FapiaoRequest]:
    return list(
        db.session.scalars(
            sa.select(FapiaoRequest)
            .where(FapiaoRequest.customer_org_id == org_id)
            .order_by(FapiaoRequest.id.desc())
            .limit(500)
        )
    )


def latest_request(invoice_id: int) -> FapiaoRequest | None:
    return db.session.scalar(
        sa.select(FapiaoRequest)
        .where(FapiaoRequest.invoice_id == invoice_id)
        .order_by(FapiaoRequest.id.desc())
        .limit(1)
    )


def statements_with_several_open_requests() -> list[dict]:
    """A statement has at most one open fapiao request (requested, exported or issued)."""
    rows = db.session.execute(
        sa.select(FapiaoRequest.invoice_id, sa.func.count())
        .where(FapiaoRequest.status.in_(OPEN_STATUSES))
        .group_by(FapiaoRequest.invoice_id)
        .having(sa.func.count() > 1)
    )
    return [{"invoice": invoice_id, "open_requests": n} for invoice_id, n in rows]


def fapiao_amounts_off_statement() -> list[dict]:
    """An issued fapiao (less its red ones) is for the statement's total less credit notes."""
    found = []
    requests = db.session.scalars(
        sa.select(FapiaoRequest).where(FapiaoRequest.status == RequestStatus.ISSUED)
    )
    for request in requests:
        invoiced = sum(f.amount for f in request.fapiaos)
        statement: Invoice = request.invoice
        if invoiced != statement.effective_total:
            found.append(
                {
                    "request": request.id,
                    "invoice": statement.id,
                    "fapiao": invoiced,
                    "statement": statement.effective_total,
                }
            )
    return found


def requests_with_lines_without_tax_code() -> list[dict]:
    """Every line of a statement waiting for its fapiao (requested or exported) carries
    its 19-digit 税收分类编码: the tax system refuses a bulk-issue row without one."""
    rows = db.session.execute(
        sa.select(FapiaoRequest.id, InvoiceLine.id, InvoiceLine.tax_code)
        .join(InvoiceLine, InvoiceLine.invoice_id == FapiaoRequest.invoice_id)
        .where(FapiaoRequest.status.in_((RequestStatus.REQUESTED, RequestStatus.EXPORTED)))
        .order_by(FapiaoRequest.id, InvoiceLine.id)
    )
    return [
        {"request": request_id, "line": line_id, "tax_code": code}
        for request_id, line_id, code in rows
        if not (len(code) == 19 and code.isdigit())
    ]


def fapiao_for(request_id: int) -> list[Fapiao]:
    return list(
        db.session.scalars(
            sa.select(Fapiao).where(Fapiao.request_id == request_id).order_by(Fapiao.id)
        )
    )
