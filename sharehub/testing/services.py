"""The lab's testing services and accreditation certificates: writing them, and the
administrator's review of services (the review listings go through, catalog.services).

Requests, quotes and orders are in testing.orders; samples in testing.samples."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from sharehub.catalog.models import Field, ListingStatus, Unit
from sharehub.catalog.search import bigrams, normalize
from sharehub.core import audit
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.inputs import clean_tax_code
from sharehub.core.uploads import sniff_document, store_bytes
from sharehub.extensions import db
from sharehub.testing.models import (
    AccreditationCertificate,
    AccreditationKind,
    AccreditationScope,
    CertificateDocument,
    PriceBasis,
    ServiceParameter,
    TestingService,
    normalize_standard,
    standard_parts,
)

if TYPE_CHECKING:
    from sharehub.accounts.models import Organisation, User

MAX_PRICE_FEN = 100_000_000_00  # 100 million yuan
MAX_DAYS = 365
MAX_PARAMETERS = 100


def require_manager(actor: User, lab: Organisation) -> None:
    if not actor.is_authenticated or not actor.can_manage(lab):
        raise PermissionDenied(_l("Only managers of this laboratory may do this."))


def _require_admin(actor: User) -> None:
    if not actor.is_platform_admin:
        raise PermissionDenied(_l("Only platform administrators may do this."))


# --- services -------------------------------------------------------------------------

SERVICE_FIELDS = (
    "name",
    "name_en",
    "standard_code",
    "method",
    "method_en",
    "description",
    "description_en",
    "field",
    "sample_quantity",
    "sample_size",
    "sample_condition",
    "standard_days",
    "expedited_days",
    "expedited_surcharge_percent",
    "price_basis",
    "price_internal",
    "price_external",
    "price_cluster",
    "quote_required",
    "cancel_fee_fen",
    "cancel_fee_percent",
    "tax_code",
    "line_spec",
    "line_unit",
)


def _text(data: dict, key: str, limit: int, label, required: bool = False) -> str:
    value = (data.get(key) or "").strip()
    if required and not value:
        raise ValidationError(_l("%(field)s is required.", field=label), field=key)
    if len(value) > limit:
        raise ValidationError(
            _l("%(field)s is at most %(n)s characters.", field=label, n=limit), field=key
        )
    return value


def _number(data: dict, key: str, low: int, high: int, label, optional: bool = False):
    value = data.get(key)
    if value is None or value == "":
        if optional:
            return None
        raise ValidationError(_l("%(field)s is required.", field=label), field=key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(
            _l(
                "%(field)s is a whole number between %(low)s and %(high)s.",
                field=label,
                low=low,
                high=high,
            ),
            field=key,
        )
    return value


def validate_service(data: dict) -> dict[str, Any]:
    """The service's values checked; raise ValidationError naming the field at fault.
    Prices are integer fen."""
    clean: dict[str, Any] = {
        "name": _text(data, "name", 200, _l("Name"), required=True),
        "name_en": _text(data, "name_en", 200, _l("English name")),
        "standard_code": _text(data, "standard_code", 100, _l("Standard"), required=True),
        "method": _text(data, "method", 200, _l("Method")),
        "method_en": _text(data, "method_en", 200, _l("Method (English)")),
        "description": _text(data, "description", 20_000, _l("Description")),
        "description_en": _text(data, "description_en", 20_000, _l("Description (English)")),
        "sample_size": _text(data, "sample_size", 200, _l("Sample size")),
        "sample_condition": _text(data, "sample_condition", 20_000, _l("Sample condition")),
        "sample_quantity": _number(data, "sample_quantity", 1, 10_000, _l("Pieces per sample")),
        "standard_days": _number(data, "standard_days", 1, MAX_DAYS, _l("Turnaround")),
        "expedited_days": _number(
            data, "expedited_days", 1, MAX_DAYS, _l("Expedited turnaround"), optional=True
        ),
        "expedited_surcharge_percent": _number(
            data, "expedited_surcharge_percent", 0, 500, _l("Expedited surcharge"), optional=True
        )
        or 0,
        "price_internal": _number(data, "price_internal", 0, MAX_PRICE_FEN, _l("Internal price")),
        "price_external": _number(data, "price_external", 0, MAX_PRICE_FEN, _l("External price")),
        "price_cluster": _number(
            data, "price_cluster", 0, MAX_PRICE_FEN, _l("Cluster price"), optional=True
        ),
        "quote_required": bool(data.get("quote_required")),
        "cancel_fee_fen": _number(
            data, "cancel_fee_fen", 0, MAX_PRICE_FEN, _l("Cancellation fee"), optional=True
        )
        or 0,
        "cancel_fee_percent": _number(
            data, "cancel_fee_percent", 0, 100, _l("Cancellation fee percentage"), optional=True
        )
        or 0,
        "tax_code": clean_tax_code(data.get("tax_code")),
        "line_spec": _text(data, "line_spec", 200, _l("Specification on the fapiao")),
        "line_unit": _text(data, "line_unit", 20, _l("Unit on the fapiao")),
    }
    if not normalize_standard(clean["standard_code"]):
        raise ValidationError(_l("Name the standard, e.g. GB/T 10125-2021."), field="standard_code")
    try:
        clean["field"] = Field(data.get("field") or "")
    except ValueError:
        raise ValidationError(_l("Choose a field."), field="field") from None
    try:
        clean["price_basis"] = PriceBasis(data.get("price_basis") or PriceBasis.SAMPLE)
    except ValueError:
        raise ValidationError(_l("Choose how the price is counted."), field="price_basis") from None
    if clean["expedited_days"] is not None and clean["expedited_days"] >= clean["standard_days"]:
        raise ValidationError(
            _l("The expedited turnaround is shorter than the standard one."),
            field="expedited_days",
        )
    return clean


def validate_parameters(rows: list[dict]) -> list[dict[str, str]]:
    """Parameters as (name, name_en, unit, limit_text); blank rows are dropped."""
    clean = []
    for row in rows:
        name = (row.get("name") or "").strip()
        if not name:
            continue
        clean.append(
            {
                "name": _text(row, "name", 200, _l("Parameter")),
                "name_en": _text(row, "name_en", 200, _l("Parameter (English)")),
                "unit": _text(row, "unit", 32, _l("Unit of the parameter")),
                "limit_text": _text(row, "limit_text", 200, _l("Limit")),
            }
        )
    if len(clean) > MAX_PARAMETERS:
        raise ValidationError(_l("At most %(n)s parameters.", n=MAX_PARAMETERS), field="parameters")
    return clean


def index_service(service: TestingService) -> None:
    """Refresh the search columns: names, standard (as written and normalized, with and
    without its year, so "10125" and "GB/T 10125" find it), method and parameters."""
    number, _year = standard_parts(service.standard_code)
    parts = [
        service.name,
        service.name_en,
        service.standard_code,
        number,
        service.standard_key,
        service.method,
        service.method_en,
        service.description,
        service.description_en,
        *(p.name for p in service.parameters),
        *(p.name_en for p in service.parameters),
    ]
    text = " \n".join(normalize(p) for p in parts if p)
    service.search_text = text
    service.search_bigrams = " ".join(bigrams(text))


def _apply(
    service: TestingService,
    data: dict,
    parameters: list[dict] | None,
    unit_ids: list[int] | None,
) -> None:
    for key, value in data.items():
        setattr(service, key, value)
    service.standard_key = normalize_standard(service.standard_code)
    if parameters is not None:
        service.parameters.clear()
        db.session.flush()
        for position, row in enumerate(parameters):
            service.parameters.append(ServiceParameter(position=position, **row))
    if unit_ids is not None:
        units = (
            db.session.scalars(sa.select(Unit).where(Unit.id.in_(unit_ids))).all()
            if unit_ids
            else []
        )
        if len(units) != len(set(unit_ids)) or any(
            u.listing.lab_id != service.lab_id for u in units
        ):
            raise ValidationError(
                _l("Choose instruments of your own laboratory."), field="unit_ids"
            )
        service.units = list(units)
    service.updated_dt = utcnow()
    index_service(service)


def create_service(
    actor: User,
    lab: Organisation,
    data: dict,
    parameters: list[dict] | None = None,
    unit_ids: list[int] | None = None,
) -> TestingService:
    require_manager(actor, lab)
    if not lab.is_lab:
        raise ValidationError(_l("Only laboratories offer testing services."))
    clean = validate_service(data)
    params = validate_parameters(parameters or [])
    service = TestingService(lab=lab, lab_id=lab.id, status=ListingStatus.DRAFT)
    db.session.add(service)
    _apply(service, clean, params, unit_ids or [])
    db.session.flush()
    audit.record(actor, "testing_service.created", service, organisation=lab.id)
    db.session.flush()
    return service


def update_service(
    actor: User,
    service: TestingService,
    data: dict,
    parameters: list[dict] | None = None,
    unit_ids: list[int] | None = None,
) -> None:
    """Change a service. A published service goes back to review (and out of the search)
    until an administrator approves the change: its price and scope are what customers
    order on."""
    require_manager(actor, service.lab)
    clean = validate_service(data)
    params = validate_parameters(parameters) if parameters is not None else None
    _apply(service, clean, params, unit_ids)
    if service.status == ListingStatus.PUBLISHED:
        service.status = ListingStatus.PENDING
    audit.record(actor, "testing_service.updated", service, organisation=service.lab_id)
    db.session.flush()


def submit_service(actor: User, service: TestingService) -> None:
    require_manager(actor, service.lab)
    if not service.lab.is_serving:
        raise Conflict(_l("Your laboratory must be admitted (and not suspended) to publish."))
    if service.status not in (
        ListingStatus.DRAFT,
        ListingStatus.REJECTED,
        ListingStatus.WITHDRAWN,
    ):
        raise Conflict(_l("Only drafts, rejected or withdrawn services can be submitted."))
    if not service.parameters:
        raise ValidationError(_l("Name at least one parameter the service reports."))
    service.status = ListingStatus.PENDING
    service.review_note = ""
    audit.record(actor, "testing_service.submitted", service, organisation=service.lab_id)
    db.session.flush()


def withdraw_service(actor: User, service: TestingService) -> None:
    require_manager(actor, service.lab)
    if service.status not in (ListingStatus.PUBLISHED, ListingStatus.PENDING):
        raise Conflict(_l("Only published or submitted services can be withdrawn."))
    service.status = ListingStatus.WITHDRAWN
    audit.record(actor, "testing_service.withdrawn", service, organisation=service.lab_id)
    db.session.flush()


def approve_service(actor: User, service: TestingService) -> None:
    _require_admin(actor)
    if service.status != ListingStatus.PENDING:
        raise Conflict(_l("This service is not waiting for review."))
    if not service.lab.is_serving:
        raise Conflict(_l("The laboratory is not active; it cannot publish."))
    service.status = ListingStatus.PUBLISHED
    service.published_dt = service.published_dt or utcnow()
    audit.record(actor, "testing_service.approved", service, organisation=service.lab_id)
    db.session.flush()


def reject_service(actor: User, service: TestingService, reason: str) -> None:
    _require_admin(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_l("Give the reason for the rejection."), field="reason")
    if service.status != ListingStatus.PENDING:
        raise Conflict(_l("This service is not waiting for review."))
    service.status = ListingStatus.REJECTED
    service.review_note = reason
    audit.record(
        actor, "testing_service.rejected", service, organisation=service.lab_id, reason=reason
    )
    db.session.flush()


# --- accreditation --------------------------------------------------------------------


def add_certificate(
    actor: User,
    lab: Organisation,
    *,
    kind: str,
    number: str,
    issued_date: date | None,
    valid_until: date | None,
    issuer: str = "",
    scope: list[tuple[str, str]] | None = None,
    document: tuple[bytes, str] | None = None,
) -> AccreditationCertificate:
    """A CMA or CNAS certificate with its scope: (standard code, parameter or "") pairs.
    `document` is the PDF as read by core.uploads.read_upload (checked by content)."""
    require_manager(actor, lab)
    try:
        kind_value = AccreditationKind(kind)
    except ValueError:
        raise ValidationError(_l("Choose CMA or CNAS."), field="kind") from None
    number = (number or "").strip()
    if not number or len(number) > 64:
        raise ValidationError(_l("Give the certificate number."), field="number")
    if issued_date is None or valid_until is None:
        raise ValidationError(_l("Give the certificate's dates."), field="valid_until")
    if valid_until < issued_date:
        raise ValidationError(
            _l("A certificate is valid after the day it was issued."), field="valid_until"
        )
    if db.session.scalar(
        sa.select(AccreditationCertificate.id).where(
            AccreditationCertificate.kind == kind_value, AccreditationCertificate.number == number
        )
    ):
        raise Conflict(_l("This certificate is already on the platform."), field="number")
    certificate = AccreditationCertificate(
        lab_id=lab.id,
        kind=kind_value,
        number=number,
        issuer=(issuer or "").strip()[:200],
        issued_date=issued_date,
        valid_until=valid_until,
    )
    db.session.add(certificate)
    for code, parameter in scope or []:
        add_scope(certificate, code, parameter)
    if document is not None:
        attach_certificate_document(certificate, *document)
    db.session.flush()
    audit.record(actor, "accreditation.added", certificate, organisation=lab.id, number=number)
    db.session.flush()
    return certificate


def add_scope(certificate: AccreditationCertificate, code: str, parameter: str = "") -> None:
    code = (code or "").strip()
    number, year = standard_parts(code)
    if not number or len(code) > 100:
        raise ValidationError(_l("Name each standard of the scope, e.g. GB/T 10125-2021."))
    certificate.scope.append(
        AccreditationScope(
            standard_code=code,
            standard_number=number,
            standard_year=year,
            parameter=(parameter or "").strip()[:200],
        )
    )


def parse_scope(text: str) -> list[tuple[str, str]]:
    """One standard a line; "GB/T 10125-2021" covers the standard, "GB/T 228.1-2021 |
    抗拉强度" one parameter of it."""
    rows = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        code, _bar, parameter = line.partition("|")
        rows.append((code.strip(), parameter.strip()))
    if len(rows) > 2000:
        raise ValidationError(_l("At most 2000 lines of scope."), field="scope")
    return rows


def attach_certificate_document(
    certificate: AccreditationCertificate, data: bytes, original_name: str
) -> CertificateDocument:
    if sniff_document(data) != "application/pdf":
        raise ValidationError(_l("The certificate is uploaded as a PDF file."), field="document")
    stored = store_bytes(data, original_name, "application/pdf")
    document = CertificateDocument(
        original_name=stored.original_name,
        stored_name=stored.stored_name,
        content_type=stored.content_type,
        size=stored.size,
    )
    certificate.documents.append(document)
    return document


def set_certificate_suspended(
    actor: User, certificate: AccreditationCertificate, suspended: bool
) -> None:
    require_manager(actor, certificate.lab)
    certificate.suspended = suspended
    audit.record(
        actor,
        "accreditation.suspended" if suspended else "accreditation.reinstated",
        certificate,
        organisation=certificate.lab_id,
    )
    db.session.flush()
