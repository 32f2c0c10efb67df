"""Unmet demand: searches that found nothing (no listing matched, or none was free for the
wanted time), bookings declined for lack of capacity and people on waiting lists, for the
administrators' dashboard."""

from __future__ import annotations

import unicodedata
from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.accounts.models import Cluster, Organisation, Region
from sharehub.booking.models import Booking, BookingStatus, WaitlistEntry
from sharehub.catalog.models import Listing
from sharehub.core.db import utcnow
from sharehub.extensions import db
from sharehub.stats.models import SearchMiss
from sharehub.stats.sql import Filters, Period


def normalise_query(text: str) -> str:
    """One spelling per search: full-width forms folded (NFKC), case folded, runs of
    spaces made one, so "ＩＣＰ  光谱" and "icp 光谱" count as the same demand."""
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())[:200]


def record_search_miss(params, total: int) -> bool:
    """Keep a first-page search that found nothing: no listing matched, or none was free
    for the wanted time. True if kept (the caller commits). Only the normalised text and
    the filters are stored, not who searched; a search with neither is not demand.

    One INSERT and nothing else (the region and cluster are checked inside it), and only
    when there are no results, so the search path stays as fast as before."""
    if total or params.page != 1:
        return False
    query = normalise_query(params.q)
    if not (query or params.kind or params.field or params.region or params.cluster):
        if not params.wants_availability:
            return False

    def existing(model, key):
        return sa.select(model.id).where(model.id == key).scalar_subquery() if key else None

    db.session.execute(
        sa.insert(SearchMiss).values(
            query=query,
            kind=params.kind,
            field=params.field,
            region_id=existing(Region, params.region),
            cluster_id=existing(Cluster, params.cluster),
            wanted_from=params.free_from if params.wants_availability else None,
            wanted_to=(params.free_to or params.free_from) if params.wants_availability else None,
            hours=params.hours if params.wants_availability else None,
            created_dt=utcnow(),
        )
    )
    return True


def _lab_conditions(filters: Filters, lab):
    conditions = []
    if filters.lab_ids is not None:
        conditions.append(lab.id.in_(list(filters.lab_ids)))
    if filters.cluster_id:
        conditions.append(lab.cluster_id == filters.cluster_id)
    if filters.region_id:
        region = so.aliased(Region)
        conditions.append(
            lab.region_id.in_(
                sa.select(region.id).where(
                    sa.or_(region.id == filters.region_id, region.parent_id == filters.region_id)
                )
            )
        )
    if filters.field:
        conditions.append(Listing.field == filters.field)
    return conditions


def unmet_demand(start: date, end: date, filters: Filters | None = None) -> dict:
    """Counts per listing of declined-for-capacity bookings and waiting-list entries, and
    the searches that found nothing, all in the period (by request time)."""
    filters = filters or Filters()
    period = Period(start, end)
    lab = so.aliased(Organisation, name="lab")
    conditions = _lab_conditions(filters, lab)

    declined = sa.select(
        Booking.listing_id.label("listing_id"),
        sa.literal(1).label("declined"),
        sa.literal(0).label("waiting"),
    ).where(
        Booking.status == BookingStatus.DECLINED,
        Booking.declined_for_capacity.is_(True),
        Booking.created_dt >= period.start_dt,
        Booking.created_dt < period.end_dt,
    )
    waiting = sa.select(WaitlistEntry.listing_id, sa.literal(0), sa.literal(1)).where(
        WaitlistEntry.created_dt >= period.start_dt, WaitlistEntry.created_dt < period.end_dt
    )
    both = sa.union_all(declined, waiting).subquery("demand")
    rows = db.session.execute(
        sa.select(
            Listing.id,
            Listing.name,
            Listing.name_en,
            lab.id.label("lab_id"),
            lab.name.label("lab_name"),
            lab.name_en.label("lab_name_en"),
            sa.func.sum(both.c.declined).label("declined"),
            sa.func.sum(both.c.waiting).label("waiting"),
        )
        .select_from(both)
        .join(Listing, Listing.id == both.c.listing_id)
        .join(lab, lab.id == Listing.lab_id)
        .where(*conditions)
        .group_by(Listing.id, Listing.name, Listing.name_en, lab.id, lab.name, lab.name_en)
        .order_by(sa.desc("declined"), sa.desc("waiting"), Listing.id)
    ).all()

    misses = sa.select(SearchMiss).where(
        SearchMiss.created_dt >= period.start_dt, SearchMiss.created_dt < period.end_dt
    )
    if filters.cluster_id:
        misses = misses.where(SearchMiss.cluster_id == filters.cluster_id)
    if filters.field:
        misses = misses.where(SearchMiss.field == filters.field)
    if filters.region_id:
        misses = misses.where(
            SearchMiss.region_id.in_(
                sa.select(Region.id).where(
                    sa.or_(Region.id == filters.region_id, Region.parent_id == filters.region_id)
                )
            )
        )
    by_field = db.session.execute(
        misses.with_only_columns(SearchMiss.field, sa.func.count())
        .group_by(SearchMiss.field)
        .order_by(sa.func.count().desc(), SearchMiss.field)
    ).all()
    recent = db.session.scalars(misses.order_by(SearchMiss.created_dt.desc()).limit(50)).all()
    searched = sa.func.count().label("n")
    top = db.session.execute(
        misses.with_only_columns(
            SearchMiss.query,
            searched,
            sa.func.sum(sa.case((SearchMiss.hours.is_not(None), 1), else_=0)).label("for_time"),
        )
        .where(SearchMiss.query != "")
        .group_by(SearchMiss.query)
        .order_by(searched.desc(), SearchMiss.query)
        .limit(20)
    ).all()
    for_time = db.session.scalar(
        misses.with_only_columns(sa.func.count()).where(SearchMiss.hours.is_not(None))
    )
    return {
        "listings": rows,
        "declined": sum(int(r.declined) for r in rows),
        "waiting": sum(int(r.waiting) for r in rows),
        "searches": sum(n for _, n in by_field),
        "searches_for_free_time": for_time or 0,
        "searches_by_field": by_field,
        "top_queries": top,
        "recent_searches": recent,
    }
