"""Which accreditation marks (CMA, CNAS) a service may show on a day: those of the lab's
certificates valid that day whose scope covers the service's standard (and, when the
scope names parameters, the parameter asked about). Reports reuse `marks_for` with their
issue date and each result's parameter."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.extensions import db
from sharehub.testing.models import (
    AccreditationCertificate,
    AccreditationKind,
    TestingService,
)


def valid_certificates(lab_id: int, on_date: date) -> list[AccreditationCertificate]:
    return list(
        db.session.scalars(
            sa.select(AccreditationCertificate)
            .where(
                AccreditationCertificate.lab_id == lab_id,
                AccreditationCertificate.issued_date <= on_date,
                AccreditationCertificate.valid_until >= on_date,
                AccreditationCertificate.suspended.is_(False),
            )
            .options(so.selectinload(AccreditationCertificate.scope))
            .order_by(AccreditationCertificate.kind, AccreditationCertificate.id)
        )
    )


def marks_for(
    service: TestingService, on_date: date, parameter: str | None = None
) -> list[AccreditationKind]:
    """The marks the service's results carry on `on_date`: CMA and/or CNAS, in that order.

    Without `parameter`, the method is in scope when a scope entry covers the whole
    standard, or when every parameter of the service is covered one by one. With
    `parameter` (a report's result), that parameter must be covered."""
    marks = []
    for certificate in valid_certificates(service.lab_id, on_date):
        if _covers(certificate, service, parameter) and certificate.kind not in marks:
            marks.append(certificate.kind)
    return sorted(marks, key=lambda kind: list(AccreditationKind).index(kind))


def _covers(
    certificate: AccreditationCertificate, service: TestingService, parameter: str | None
) -> bool:
    code = service.standard_code
    if parameter is not None:
        return any(entry.covers(code, parameter) for entry in certificate.scope)
    if any(entry.covers(code) for entry in certificate.scope):
        return True
    names = [p.name for p in service.parameters]
    return bool(names) and all(
        any(entry.covers(code, name) for entry in certificate.scope) for name in names
    )
