"""Reads of commissioned testing: the service search, a lab's and a customer's requests,
and the objects a viewer may open (NotFound when they may not, so existence is not
given away)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, Region
from sharehub.catalog.models import Field, ListingStatus
from sharehub.catalog.search import normalize
from sharehub.core.errors import NotFound, ValidationError
from sharehub.core.inputs import parse_fen, parse_id, parse_int
from sharehub.extensions import db
from sharehub.testing.accreditation import marks_for
from sharehub.testing.models import (
    AccreditationKind,
    Sample,
    TestingRequest,
    TestingService,
    normalize_standard,
)

PER_PAGE = 20
MAX_CANDIDATES = 2000


@dataclass
class ServiceSearch:
    """A search of testing services from the URL; a bad value is reported and ignored."""

    q: str = ""
    field: str = ""
    accreditation: str = ""  # "", "cma", "cnas", "any"
    days: int | None = None  # at most this many working days (standard or expedited)
    price_max: int | None = None  # fen, external price per sample/parameter
    region: int | None = None
    cluster: int | None = None
    lab: int | None = None
    errors: list = dc_field(default_factory=list)

    @classmethod
    def from_args(cls, args) -> ServiceSearch:
        p = cls(q=(args.get("q") or "").strip()[:100])
        p.field = args.get("field", "") if args.get("field") in {f.value for f in Field} else ""
        accr = args.get("accr", "")
        p.accreditation = accr if accr in ("cma", "cnas", "any") else ""
        for key in ("region", "cluster", "lab"):
            try:
                setattr(p, key, parse_id(args.get(key)))
            except ValidationError as exc:
                p.errors.append(exc.message)
        try:
            p.days = parse_int(args.get("days"), minimum=1, maximum=365)
        except ValidationError as exc:
            p.errors.append(exc.message)
        try:
            p.price_max = parse_fen(args.get("price_max"))
        except ValidationError as exc:
            p.errors.append(exc.message)
        return p


def _text_condition(q: str):
    """Every word of the query in the service's text, or the query as a standard number
    inside the normalized standard ("GB/T 10125", "gbt10125", "10125")."""
    words = [w for w in normalize(q).split() if w]
    escaped = [w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in words]
    by_words = sa.and_(*(TestingService.search_text.like(f"%{w}%", escape="\\") for w in escaped))
    key = normalize_standard(q)
    if key:
        return sa.or_(by_words, TestingService.standard_key.like(f"%{key}%"))
    return by_words


def search_services(p: ServiceSearch, today: date) -> list[tuple[TestingService, list]]:
    """Published services of serving labs matching the search, each with its marks today.
    The accreditation filter reads the scope (marks_for), after the SQL filters."""
    query = (
        sa.select(TestingService)
        .join(Organisation, TestingService.lab_id == Organisation.id)
        .where(TestingService.status == ListingStatus.PUBLISHED, Organisation.is_serving)
        .options(so.selectinload(TestingService.parameters), so.joinedload(TestingService.lab))
        .order_by(TestingService.standard_key, TestingService.id)
        .limit(MAX_CANDIDATES)
    )
    if p.q:
        query = query.where(_text_condition(p.q))
    if p.field:
        query = query.where(TestingService.field == p.field)
    if p.days:
        query = query.where(
            sa.or_(TestingService.standard_days <= p.days, TestingService.expedited_days <= p.days)
        )
    if p.price_max is not None:
        query = query.where(TestingService.price_external <= p.price_max)
    if p.lab:
        query = query.where(TestingService.lab_id == p.lab)
    if p.cluster:
        query = query.where(Organisation.cluster_id == p.cluster)
    if p.region:
        region = db.session.get(Region, p.region)
        ids = region.subtree_ids() if region is not None else [-1]
        query = query.where(Organisation.region_id.in_(ids))
    rows = []
    for service in db.session.scalars(query).unique():
        marks = marks_for(service, today)
        if p.accreditation == "any" and not marks:
            continue
        if p.accreditation in ("cma", "cnas") and AccreditationKind(p.accreditation) not in marks:
            continue
        rows.append((service, marks))
    return rows


def get_service(service_id: int, viewer) -> TestingService:
    service = db.session.get(TestingService, service_id)
    if service is None or not service.can_view(viewer):
        raise NotFound(_l("No such testing service."))
    return service


def get_request(request_id: int, viewer) -> TestingRequest:
    request = db.session.get(TestingRequest, request_id)
    if request is None or not request.can_view(viewer):
        raise NotFound(_l("No such testing request."))
    return request


def requests_of_customer(org_id: int) -> list[TestingRequest]:
    return list(
        db.session.scalars(
            sa.select(TestingRequest)
            .where(TestingRequest.customer_org_id == org_id)
            .order_by(TestingRequest.created_dt.desc(), TestingRequest.id.desc())
        )
    )


def requests_of_lab(lab_id: int) -> list[TestingRequest]:
    """A lab's requests, drafts left out (the customer has not sent them yet)."""
    return list(
        db.session.scalars(
            sa.select(TestingRequest)
            .where(TestingRequest.lab_id == lab_id, TestingRequest.status != "draft")
            .order_by(TestingRequest.created_dt.desc(), TestingRequest.id.desc())
        )
    )


def services_of_lab(lab_id: int) -> list[TestingService]:
    return list(
        db.session.scalars(
            sa.select(TestingService)
            .where(TestingService.lab_id == lab_id)
            .order_by(TestingService.standard_key, TestingService.id)
        )
    )


def pending_services() -> list[TestingService]:
    return list(
        db.session.scalars(
            sa.select(TestingService)
            .where(TestingService.status == ListingStatus.PENDING)
            .options(so.joinedload(TestingService.lab))
            .order_by(TestingService.updated_dt)
        )
    )


def received_samples(request_id: int) -> list[Sample]:
    return list(
        db.session.scalars(
            sa.select(Sample)
            .where(Sample.request_id == request_id, Sample.code.is_not(None))
            .order_by(Sample.sequence)
        )
    )


# --- reports ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportsIssued:
    """What a lab reported in a period (for the sharing statistics)."""

    total: int  # reports issued, amendments included
    first_issues: int  # version 1: orders reported for the first time
    amendments: int  # later versions
    withdrawn: int  # of those issued in the period, withdrawn since
    by_verdict: dict  # {"pass": n, "fail": n, "na": n}
    orders: int
    customers: int


def reports_issued(lab, period) -> ReportsIssued:
    """Reports `lab` (an Organisation or its id) issued on the local days [period.start,
    period.end) — the shape of stats.sql.Period — counted by their issue date."""
    from sharehub.testing.report_models import Report

    lab_id = getattr(lab, "id", lab)
    rows = db.session.execute(
        sa.select(
            Report.version,
            Report.status,
            Report.overall_verdict,
            Report.order_id,
            TestingRequest.customer_org_id,
        )
        .join(TestingRequest, TestingRequest.id == Report.order_id)
        .where(
            Report.lab_id == lab_id,
            Report.sequence.is_not(None),
            Report.issue_date >= period.start,
            Report.issue_date < period.end,
        )
    ).all()
    by_verdict = {"pass": 0, "fail": 0, "na": 0}
    for row in rows:
        if row.overall_verdict is not None:
            by_verdict[row.overall_verdict.value] += 1
    return ReportsIssued(
        total=len(rows),
        first_issues=sum(1 for row in rows if row.version == 1),
        amendments=sum(1 for row in rows if row.version > 1),
        withdrawn=sum(1 for row in rows if row.status.value == "withdrawn"),
        by_verdict=by_verdict,
        orders=len({row.order_id for row in rows}),
        customers=len({row.customer_org_id for row in rows}),
    )
