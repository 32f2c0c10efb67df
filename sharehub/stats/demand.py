"""Unmet demand: searches whose free-time filter found nothing, bookings declined for
lack of capacity and people on waiting lists, for the administrators' dashboard."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.accounts.models import Cluster, Organisation, Region
from sharehub.booking.models import Booking, BookingStatus, WaitlistEntry
from sharehub.catalog.models import Listing
from sharehub.extensions import db
from sharehub.stats.models import SearchMiss
from sharehub.stats.sql import Filters, Period


def record_search_miss(params, total: int) -> bool:
    """Keep a first-page search with a free-time filter that found nothing; True if kept
    (the caller commits). Only the filters are stored, not who searched."""
    if total or not params.wants_availability or params.page != 1:
        return False
    cluster = db.session.get(Cluster, params.cluster) if params.cluster else None
    region = db.session.get(Region, params.region) if params.region else None
    db.session.add(
        SearchMiss(
            query=params.q[:200],
            kind=params.kind,
            field=params.field,
            region_id=region.id if region else None,
            cluster_id=cluster.id if cluster else None,
            wanted_from=params.free_from,
            wanted_to=params.free_to or params.free_from,
            hours=params.hours,
        )
    )
    db.session.flush()
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
    return {
        "listings": rows,
        "declined": sum(int(r.declined) for r in rows),
        "waiting": sum(int(r.waiting) for r in rows),
        "searches": sum(n for _, n in by_field),
        "searches_by_field": by_field,
        "recent_searches": recent,
    }
