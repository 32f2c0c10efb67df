"""Catalogue search: filters from the URL, facet counts, sorting and pagination."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Cluster, Organisation, Region
from sharehub.catalog.models import Field, Listing, ListingKind, ListingStatus
from sharehub.catalog.search import normalize, text_condition
from sharehub.core.clock import local_today
from sharehub.core.errors import NotFound, ValidationError
from sharehub.core.inputs import parse_date, parse_fen, parse_id, parse_page
from sharehub.extensions import db

PER_PAGE = 20
# Totals and facet counts stop at this many matches ("1,000+"): the first page of a common
# word must not wait for every one of its tens of thousands of matches to be read.
COUNT_CAP = 1000
MAX_AVAILABILITY_CANDIDATES = 1000
MAX_FREE_DAYS = 31  # the longest range of the free-time search
MAX_FREE_AHEAD_DAYS = 365  # how far ahead it may start
FREE_START_TEXT = _l("The free-time search starts today or later, at most a year ahead.")
FREE_SPAN_TEXT = _l("The free-time search covers at most %(n)s days.", n=MAX_FREE_DAYS)
SORTS = {
    "relevance": _l("Best match"),
    "price_asc": _l("Price: low to high"),
    "price_desc": _l("Price: high to low"),
    "newest": _l("Newest"),
    "rating": _l("Best rated"),
}


@dataclass
class SearchParams:
    q: str = ""
    kind: str = ""
    field: str = ""
    category: str = ""
    region: int | None = None
    cluster: int | None = None
    lab: int | None = None
    accreditation: str = ""
    price_min: int | None = None  # fen
    price_max: int | None = None
    rating: float | None = None
    free_from: date | None = None
    free_to: date | None = None
    hours: int | None = None
    sort: str = "relevance"
    page: int = 1
    errors: list = dc_field(default_factory=list)

    @classmethod
    def from_args(cls, args) -> SearchParams:
        """Read the query string; a bad value is reported and ignored, never a 500."""
        p = cls(q=(args.get("q") or "").strip()[:100])
        p.kind = (
            args.get("kind", "") if args.get("kind", "") in {k.value for k in ListingKind} else ""
        )
        p.field = args.get("field", "") if args.get("field", "") in {f.value for f in Field} else ""
        category = (args.get("category") or "").strip()
        p.category = category if category.isdigit() and len(category) <= 6 else ""
        for key in ("region", "cluster", "lab"):
            try:
                setattr(p, key, parse_id(args.get(key)))
            except ValidationError as exc:
                p.errors.append(exc.message)
        p.accreditation = args.get("accr", "") if args.get("accr") in ("cnas", "cma") else ""
        for key, attr in (("price_min", "price_min"), ("price_max", "price_max")):
            try:
                setattr(p, attr, parse_fen(args.get(key)))
            except ValidationError as exc:
                p.errors.append(exc.message)
        rating = args.get("rating", type=float)
        p.rating = rating if rating is not None and 1 <= rating <= 5 else None
        for key, attr in (("from", "free_from"), ("to", "free_to")):
            try:
                setattr(p, attr, parse_date(args.get(key)))
            except ValidationError as exc:
                p.errors.append(exc.message)
        hours = args.get("hours", type=int)
        p.hours = hours if hours and 0 < hours <= 24 * 14 else None
        if p.free_from and p.free_to and p.free_to < p.free_from:
            p.errors.append(_l("The end date is before the start date."))
            p.free_to = None
        p._bound_free_range()
        p.sort = args.get("sort", "relevance") if args.get("sort") in SORTS else "relevance"
        try:
            p.page = parse_page(args.get("page"))
        except ValidationError as exc:
            p.errors.append(exc.message)
        return p

    def _bound_free_range(self) -> None:
        """The free-time search looks from today up to a year ahead, over at most
        MAX_FREE_DAYS days: a wider range would keep a worker busy for nothing."""
        if not self.free_from:
            return
        today = local_today()
        last = self.free_to or self.free_from
        if not today <= self.free_from <= today + timedelta(days=MAX_FREE_AHEAD_DAYS):
            self.errors.append(FREE_START_TEXT)
            self.free_from = self.free_to = None
        elif (last - self.free_from).days + 1 > MAX_FREE_DAYS:
            self.errors.append(FREE_SPAN_TEXT)
            self.free_from = self.free_to = None

    @property
    def wants_availability(self) -> bool:
        return bool(self.free_from and self.hours)


def base_query():
    return (
        sa.select(Listing)
        .join(Organisation, Listing.lab_id == Organisation.id)
        .where(Listing.status == ListingStatus.PUBLISHED, Organisation.is_serving)
    )


def _conditions(p: SearchParams, dialect: str, skip: str = "") -> list:
    """The WHERE conditions of a search; `skip` leaves out one faceted filter, or all of
    them with "facets"."""
    c = []
    if p.q:
        c.append(text_condition(p.q, dialect))
    if p.kind and skip not in ("kind", "facets"):
        c.append(Listing.kind == p.kind)
    if p.field and skip not in ("field", "facets"):
        c.append(Listing.field == p.field)
    if p.category:
        c.append(Listing.category_code.startswith(p.category))
    if p.region and skip not in ("region", "facets"):
        cities = sa.select(Region.id).where(
            sa.or_(Region.id == p.region, Region.parent_id == p.region)
        )
        c.append(Organisation.region_id.in_(cities))
    if p.cluster and skip not in ("cluster", "facets"):
        c.append(Organisation.cluster_id == p.cluster)
    if p.lab:
        c.append(Listing.lab_id == p.lab)
    if p.accreditation == "cnas":
        c.append(Organisation.cnas_number != "")
    elif p.accreditation == "cma":
        c.append(Organisation.cma_number != "")
    # The cards show prices with VAT, so the price filter compares them with VAT: gross =
    # floor((net × (10000 + rate) + 5000) / 10000) fen, as pricing.unit_price computes it,
    # kept in integers.
    scaled = Listing.price_external * (10000 + Organisation.vat_rate_bp) + 5000
    if p.price_min is not None:
        c.append(scaled >= p.price_min * 10000)
    if p.price_max is not None:
        c.append(scaled < (p.price_max + 1) * 10000)
    if p.rating:
        c.append(Listing.rating_avg >= p.rating)
    return c


def _order(p: SearchParams):
    if p.sort == "price_asc":
        return [Listing.price_external.asc(), Listing.id.desc()]
    if p.sort == "price_desc":
        return [Listing.price_external.desc(), Listing.id.desc()]
    if p.sort == "rating":
        return [
            sa.func.coalesce(Listing.rating_avg, 0).desc(),
            Listing.rating_count.desc(),
            Listing.id.desc(),
        ]
    if p.sort == "relevance" and p.q:
        in_name = sa.or_(
            sa.func.lower(Listing.name).contains(normalize(p.q), autoescape=True),
            sa.func.lower(Listing.name_en).contains(normalize(p.q), autoescape=True),
        )
        return [sa.case((in_name, 0), else_=1), Listing.published_dt.desc(), Listing.id.desc()]
    return [Listing.published_dt.desc(), Listing.id.desc()]


def _available_ids(p: SearchParams, conditions: list, free: FreeFilter) -> list[int]:
    candidates = db.session.scalars(
        base_query()
        .where(*conditions)
        .order_by(*_order(p))
        .options(so.selectinload(Listing.units), so.selectinload(Listing.opening_hours))
        .limit(MAX_AVAILABILITY_CANDIDATES)
    ).all()
    return free(candidates, p.free_from, p.free_to or p.free_from, p.hours * 60)


@dataclass
class SearchResult:
    page: Page
    facets: dict
    total: int
    total_exact: bool = True  # False: more than `total` (COUNT_CAP) listings match
    facets_exact: bool = True  # False: the facet counts are at least these numbers


class Page:
    """The slice of results shown, with what the pagination macro needs.

    With an exact total the pages are known; with a capped one (`exact` False) the pages
    go as far as the total shows and `more` (a row was read past this page) says whether
    there is a next one."""

    def __init__(
        self,
        items: list,
        page: int,
        per_page: int,
        total: int,
        exact: bool = True,
        more: bool = False,
    ):
        self.items, self.page, self.per_page, self.total = items, page, per_page, total
        self.exact = exact
        known = total if exact else max(total, (page - 1) * per_page + len(items) + int(more))
        self.pages = max(1, -(-known // per_page))
        self.has_prev = page > 1
        self.has_next = page < self.pages if exact else more
        self.prev_num, self.next_num = page - 1, page + 1

    def iter_pages(self, left_edge=2, left_current=2, right_current=4, right_edge=2):
        last = 0
        for num in range(1, self.pages + 1):
            if (
                num <= left_edge
                or self.page - left_current <= num <= self.page + right_current
                or num > self.pages - right_edge
            ):
                if last + 1 != num:
                    yield None
                yield num
                last = num


FACETS = ("kind", "field", "cluster", "region")


def _facet_conditions(p: SearchParams, columns) -> dict:
    """The filters that have facets, on the columns of the matched set."""
    return {
        "kind": columns.kind == p.kind if p.kind else None,
        "field": columns.field == p.field if p.field else None,
        "cluster": columns.cluster == p.cluster if p.cluster else None,
        "region": sa.or_(columns.region == p.region, columns.city == p.region)
        if p.region
        else None,
    }


# Which of these listings have so many minutes free in one block between two days (the
# booking domain answers: `booking.availability.free_listing_ids`).
FreeFilter = Callable[[list[Listing], date, date, int], list[int]]


def search(p: SearchParams, free: FreeFilter | None = None) -> SearchResult:
    """The total and facet counts from the first COUNT_CAP + 1 matches, then the page.

    One statement reads at most COUNT_CAP + 1 listings matching the text and the filters
    without facets, and derives from them the total and every facet's counts (each facet
    ignoring its own filter): exact when no more match, otherwise lower bounds. Only then,
    with a facet filter chosen, the total is counted apart, again up to the cap. The page
    reads its PER_PAGE + 1 rows in the order of the sort (see `_page`).
    A search for free time needs `free`, the booking domain's answer."""
    dialect = db.engine.dialect.name
    shared = _conditions(p, dialect, skip="facets")
    if p.wants_availability:
        if free is None:
            raise TypeError("a search for free time needs the booking domain's filter")
        shared.append(Listing.id.in_(_available_ids(p, _conditions(p, dialect), free)))
    matched = (
        sa.select(
            Listing.id.label("id"),
            Listing.kind.label("kind"),
            Listing.field.label("field"),
            Organisation.cluster_id.label("cluster"),
            Region.parent_id.label("region"),
            Organisation.region_id.label("city"),
        )
        .select_from(Listing)
        .join(Organisation, Listing.lab_id == Organisation.id)
        .outerjoin(Region, Organisation.region_id == Region.id)
        .where(
            Listing.status == ListingStatus.PUBLISHED,
            Organisation.is_serving,
            *shared,
        )
        .limit(COUNT_CAP + 1)
        .cte("matched")
    )
    conditions = _facet_conditions(p, matched.c)
    chosen = [c for c in conditions.values() if c is not None]
    parts = [
        sa.select(sa.literal("read"), sa.literal(""), sa.func.count()).select_from(matched),
        sa.select(sa.literal("total"), sa.literal(""), sa.func.count())
        .select_from(matched)
        .where(*chosen),
    ]
    for name in FACETS:
        column = matched.c[name]
        parts.append(
            sa.select(sa.literal(name), sa.cast(column, sa.String), sa.func.count())
            .select_from(matched)
            .where(*[c for k, c in conditions.items() if k != name and c is not None])
            .group_by(column)
        )
    facets: dict = {name: {} for name in FACETS}
    read = total = 0
    for name, key, count in _through_indexes(sa.union_all(*parts)):
        if name == "read":
            read = count
        elif name == "total":
            total = count
        elif key is not None:
            facets[name][int(key) if name in ("cluster", "region") else key] = count
    own = [c for c in _conditions(p, dialect) if c is not None]
    if p.wants_availability:
        own = [*own, *shared[-1:]]
    facets_exact = read <= COUNT_CAP
    if not facets_exact:
        if chosen:
            total = _count_up_to(own, COUNT_CAP + 1)
        total = min(total, COUNT_CAP + 1)
    total_exact = total <= COUNT_CAP
    total = min(total, COUNT_CAP)
    items, more = _page(p, own)
    return SearchResult(
        page=Page(items, p.page, PER_PAGE, total, exact=total_exact, more=more),
        facets=facets,
        total=total,
        total_exact=total_exact,
        facets_exact=facets_exact,
    )


def _count_up_to(conditions: list, limit: int) -> int:
    """How many listings match, counting no further than `limit`."""
    first = base_query().with_only_columns(Listing.id).where(*conditions).limit(limit)
    counted = _through_indexes(sa.select(sa.func.count()).select_from(first.subquery()))
    return counted[0][0] if counted else 0


def _through_indexes(statement) -> list:
    """The rows of a statement that reads the first matches of a search (LIMIT, no order).

    For a common word PostgreSQL plans such a LIMIT as a sequential scan that stops early,
    underestimating the bigram check it then makes on every row it reads; the GIN index
    finds as many matches without that check (a bigram alone needs no recheck). So
    sequential scans are discouraged for this one statement."""
    if db.engine.dialect.name != "postgresql":
        return list(db.session.execute(statement).all())
    db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    rows = list(db.session.execute(statement).all())
    db.session.execute(sa.text("SET LOCAL enable_seqscan TO DEFAULT"))
    return rows


def _page(p: SearchParams, conditions: list) -> tuple[list[Listing], bool]:
    """The listings of page `p.page` and whether there are more after them (PER_PAGE + 1
    rows are read, so that a sort the database can follow along an index stops there)."""
    items = db.session.scalars(
        base_query()
        .where(*conditions)
        .order_by(*_order(p))
        .options(so.contains_eager(Listing.lab), so.selectinload(Listing.files))
        .limit(PER_PAGE + 1)
        .offset((p.page - 1) * PER_PAGE)
    ).all()
    return list(items[:PER_PAGE]), len(items) > PER_PAGE


def facet_labels() -> dict:
    clusters = db.session.scalars(sa.select(Cluster).order_by(Cluster.name)).all()
    provinces = db.session.scalars(
        sa.select(Region).where(Region.parent_id.is_(None)).order_by(Region.code)
    ).all()
    return {"clusters": clusters, "provinces": provinces}


def get_listing(listing_id: int, viewer, *options) -> Listing:
    """The listing this viewer may see; NotFound (404) both when there is none and when
    they may not see it, so its existence is not given away. Its lab comes in the same
    statement (can_view needs it); `options` load more with it."""
    listing = db.session.get(Listing, listing_id, options=[so.joinedload(Listing.lab), *options])
    if listing is None or not listing.can_view(viewer):
        raise NotFound(_l("No such listing."))
    return listing
