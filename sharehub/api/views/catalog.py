"""Public API: catalogue search with the filters of /catalog, listing details, free time,
and the directory of laboratories with their status."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import request
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, OrgKind, OrgStatus, Region
from sharehub.api import schemas as s
from sharehub.api.blueprint import Blueprint
from sharehub.api.pagination import page_meta, paginate
from sharehub.booking.availability import (
    LAB_TZ,
    bookable_window,
    free_intervals,
    free_listing_ids,
    free_starts,
    holidays_between,
)
from sharehub.catalog import queries
from sharehub.catalog.models import Listing, ListingKind, ListingStatus
from sharehub.core.clock import local_today
from sharehub.core.errors import Conflict, NotFound, ValidationError
from sharehub.core.inputs import check_date
from sharehub.core.tx import commit
from sharehub.extensions import db
from sharehub.stats.demand import record_search_miss

catalog = Blueprint(
    "api_catalog",
    __name__,
    url_prefix="/api/v1",
    description="Catalogue: search, listings and free time (public)",
)
labs = Blueprint(
    "api_labs", __name__, url_prefix="/api/v1", description="Laboratory directory (public)"
)
BLUEPRINTS = (catalog, labs)
ID = "int(max=2147483647)"


@catalog.route("/listings")
@catalog.arguments(s.SearchQuery, location="query", as_kwargs=True)
@catalog.response(200, s.SearchResultSchema)
def search_listings(**_filters):
    """Search the catalogue

    The same filters, sorting and pages (20 per page) as the catalogue page /catalog:
    `from`, `to` and `hours` keep listings free for that many hours in one piece. Totals
    stop at 1,000 (`total_exact` false: more match; the pages go on while `page` is
    below `pages` or the page is full).
    """
    params = queries.SearchParams.from_args(request.args)
    if params.errors:
        raise ValidationError(params.errors[0])
    result = queries.search(params, free=free_listing_ids)
    if record_search_miss(params, result.total):  # unmet demand, as on /catalog
        commit()
    page = result.page
    return {
        "items": page.items,
        "meta": {
            "page": page.page,
            "per_page": page.per_page,
            "total": page.total,
            "pages": page.pages,
        },
        "facets": {k: {str(key): n for key, n in v.items()} for k, v in result.facets.items()},
        "total_exact": result.total_exact,
        "facets_exact": result.facets_exact,
    }


def public_listing(listing_id: int) -> Listing:
    listing = db.session.scalar(queries.base_query().where(Listing.id == listing_id))
    if listing is None:
        raise NotFound(_l("No such listing."))
    return listing


@catalog.route(f"/listings/<{ID}:listing_id>")
@catalog.response(200, s.ListingDetailSchema)
def get_listing(listing_id: int):
    """A published listing, with its booking rules and units"""
    return public_listing(listing_id)


@catalog.route(f"/listings/<{ID}:listing_id>/availability")
@catalog.arguments(s.AvailabilityQuery, location="query", as_kwargs=True)
@catalog.response(200, s.AvailabilitySchema)
def availability(listing_id: int, days: int, start=None, minutes=None):
    """Free time of a listing

    The start times at which a booking of `minutes` fits on some unit (opening hours,
    holidays and make-up working days, outages, other bookings and the listing's lead time
    and horizon all counted), and each unit's free intervals, for `days` days from `from`.
    """
    listing = public_listing(listing_id)
    if listing.kind == ListingKind.DATASET:  # a well-formed request this listing cannot serve
        raise Conflict(_l("Datasets are not booked by time."))
    minutes = minutes or listing.min_minutes
    first = check_date(start, field="from") or local_today()
    if first > local_today() + timedelta(days=queries.MAX_FREE_AHEAD_DAYS):
        raise ValidationError(queries.FREE_START_TEXT, field="from")
    window_start, window_end = bookable_window(
        listing,
        datetime.combine(first, time(), LAB_TZ),
        datetime.combine(first + timedelta(days=days), time(), LAB_TZ),
    )
    starts: list[datetime] = []
    units = []
    if window_start < window_end:
        holidays = holidays_between(first - timedelta(days=1), first + timedelta(days=days + 1))
        starts = free_starts(listing, window_start, window_end, minutes, holidays)
        for unit in listing.units:
            if unit.is_active:
                free = free_intervals(unit, window_start, window_end, holidays)
                units.append(
                    {"unit_id": unit.id, "free": [{"starts_at": a, "ends_at": b} for a, b in free]}
                )
    return {"listing_id": listing.id, "minutes": minutes, "starts": starts, "units": units}


PUBLIC_LAB_STATUSES = (
    OrgStatus.ACTIVE,
    OrgStatus.RECTIFYING,
    OrgStatus.SUSPENDED,
    OrgStatus.REVOKED,
)


def _lab_rows(query):
    counts = (
        sa.select(Listing.lab_id, sa.func.count(Listing.id).label("n"))
        .where(Listing.status == ListingStatus.PUBLISHED)
        .group_by(Listing.lab_id)
        .subquery()
    )
    return query.add_columns(sa.func.coalesce(counts.c.n, 0)).outerjoin(
        counts, counts.c.lab_id == Organisation.id
    )


def _lab(lab: Organisation, listings: int) -> Organisation:
    lab.published_listings = listings if lab.is_active else 0  # read by LabSchema
    return lab


@labs.route("/labs")
@labs.arguments(s.LabQuery, location="query", as_kwargs=True)
@labs.response(200, s.LabPage)
def list_labs(page: int, per_page: int, status=None, region=None, cluster=None):
    """The laboratory directory with each lab's status

    Admitted laboratories: active, rectifying (整改), suspended or revoked (the
    entry/exit mechanism of the national rules), with their accreditation numbers.
    """
    query = sa.select(Organisation).where(
        Organisation.kind == OrgKind.LAB, Organisation.status.in_(PUBLIC_LAB_STATUSES)
    )
    if status:
        query = query.where(Organisation.status == status)
    if region:
        cities = sa.select(Region.id).where(sa.or_(Region.id == region, Region.parent_id == region))
        query = query.where(Organisation.region_id.in_(cities))
    if cluster:
        query = query.where(Organisation.cluster_id == cluster)
    total, rows = paginate(_lab_rows(query).order_by(Organisation.id), page, per_page)
    return {
        "items": [_lab(lab, n) for lab, n in rows],
        "meta": page_meta(page, per_page, total),
    }


@labs.route(f"/labs/<{ID}:lab_id>")
@labs.response(200, s.LabSchema)
def get_lab(lab_id: int):
    """One laboratory of the directory"""
    row = db.session.execute(
        _lab_rows(
            sa.select(Organisation).where(
                Organisation.id == lab_id,
                Organisation.kind == OrgKind.LAB,
                Organisation.status.in_(PUBLIC_LAB_STATUSES),
            )
        )
    ).first()
    if row is None:
        raise NotFound(_l("No such laboratory."))
    return _lab(*row)
