"""Open statistics and sharing metrics through the API, computed by sharehub.stats (the
figures of the statistics pages, not a second computation).

`/statistics` is public and gives only aggregates by cluster, province or field.
`/metrics` and `/metrics/national-report` take a token with `metrics:read`: a lab's
managers see their own laboratory (another lab's id is answered 404), platform
administrators and regulators every laboratory and every level; anyone else gets 403.
"""

from __future__ import annotations

from flask import Response, stream_with_context
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation, OrgKind
from sharehub.api import schemas as s
from sharehub.api.auth import require
from sharehub.api.blueprint import Blueprint
from sharehub.api.models import ApiToken
from sharehub.api.pagination import page_meta
from sharehub.api.views.bookings import TOKEN, acts_as_lab
from sharehub.catalog.models import Field
from sharehub.core.errors import NotFound, PermissionDenied
from sharehub.extensions import db
from sharehub.stats import exports, queries
from sharehub.stats.sql import Filters

statistics = Blueprint(
    "api_statistics",
    __name__,
    url_prefix="/api/v1",
    description="Open statistics of resource sharing by cluster, province and field (public)",
)
metrics_blp = Blueprint(
    "api_metrics",
    __name__,
    url_prefix="/api/v1",
    description="Sharing metrics and the national report (scope metrics:read)",
)
BLUEPRINTS = (statistics, metrics_blp)
SCOPE = "metrics:read"
LAB_OWN_LEVELS = ("unit", "listing", "lab")
UNGROUPED = {"cluster": _l("Outside any cluster"), "region": _l("No province")}
# The rows as JSON or, with format=csv, as the CSV export (flask-smorest documents one
# content type per response; the doc below replaces its 200 with both).
CSV_DOC = {
    "responses": {
        "200": {
            "description": "OK",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/NationalPage"}},
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "\ufeffInstrument number,Category code,…\r\n",
                },
            },
        }
    }
}


def _rows(start, end, level: str, filters: Filters) -> list[dict]:
    """The ranked table of the statistics pages, with the group as id or field."""
    choice = queries.PeriodChoice("range", start, end)
    rows = []
    for row in queries.table(choice, level, filters):
        key = row["key"]
        row["id"] = None if level == "field" else key
        row["field"] = Field(key) if level == "field" and key else None
        if key is None:
            row["name"], row["name_en"] = str(UNGROUPED.get(level, "")), ""
        row.setdefault("name", "")
        row.setdefault("name_en", "")
        rows.append(row)
    return rows


def _page(rows: list, page: int, per_page: int) -> tuple[list, dict]:
    first = (page - 1) * per_page
    return rows[first : first + per_page], page_meta(page, per_page, len(rows))


@statistics.route("/statistics")
@statistics.arguments(s.StatisticsQuery, location="query", as_kwargs=True)
@statistics.response(200, s.StatisticsPage)
def open_statistics(level: str, start, end, page: int, per_page: int):
    """Aggregate open-sharing figures by industrial cluster, province or field

    Every admitted laboratory's equipment and expert time over the local days
    [`from`, `to`) (Asia/Shanghai; default this year up to today). Only aggregates: no
    customer, laboratory or instrument is named. Ranked by effective hours.
    """
    items, meta = _page(_rows(start, end, level, Filters()), page, per_page)
    return {"level": level, "period": {"start": start, "end": end}, "items": items, "meta": meta}


def is_staff(token: ApiToken) -> bool:
    """A platform administrator's or regulator's token (acting for the platform or an
    authority)."""
    return token.organisation.kind in (OrgKind.PLATFORM, OrgKind.AUTHORITY)


def _scope(token: ApiToken, lab_id: int | None) -> Filters:
    """The laboratories the token may measure: staff any (or the one asked for), a lab's
    managers only their own; another lab is answered 404 as if it did not exist."""
    if is_staff(token):
        if lab_id is None:
            return Filters()
        lab = db.session.get(Organisation, lab_id)
        if lab is None or not lab.is_lab:
            raise NotFound(_l("No such laboratory."))
        return Filters(lab_ids=[lab.id])
    if not acts_as_lab(token):
        raise PermissionDenied(
            _l("Only a laboratory's managers, platform administrators and regulators read metrics.")
        )
    if lab_id is not None and lab_id != token.organisation_id:
        raise NotFound(_l("No such laboratory."))
    return Filters(lab_ids=[token.organisation_id])


@metrics_blp.route("/metrics")
@metrics_blp.doc(security=TOKEN)
@metrics_blp.arguments(s.MetricsQuery, location="query", as_kwargs=True)
@metrics_blp.response(200, s.MetricsPage)
def lab_metrics(level: str, start, end, page: int, per_page: int, lab=None):
    """Every sharing metric per unit, listing, laboratory, cluster, province or field

    A lab's managers: their own laboratory at level unit, listing or lab. Platform
    administrators and regulators: any laboratory (`lab`) at any level. Local days
    [`from`, `to`) (Asia/Shanghai; default this year up to today), ranked by effective
    hours.
    """
    token = require(SCOPE)
    filters = _scope(token, lab)
    if level not in LAB_OWN_LEVELS and not is_staff(token):
        raise PermissionDenied(
            _l("A laboratory's token reads its own figures by unit, listing or lab.")
        )
    items, meta = _page(_rows(start, end, level, filters), page, per_page)
    return {"level": level, "period": {"start": start, "end": end}, "items": items, "meta": meta}


@metrics_blp.route("/metrics/national-report")
@metrics_blp.doc(security=TOKEN, **CSV_DOC)
@metrics_blp.arguments(s.NationalQuery, location="query", as_kwargs=True)
@metrics_blp.response(200, s.NationalPage)
def national_report(year: int, page: int, per_page: int, format: str, lab=None):  # noqa: A002
    """The national report of instruments (科研仪器开放共享) for a calendar year

    Per instrument (unit of an equipment listing): yearly effective hours, external
    service hours, external income and organisations and users served. `format=csv`
    streams every row as the statistics pages' export does (`page` is then ignored).
    """
    filters = _scope(require(SCOPE), lab)
    rows = exports.national_rows(year, filters)
    if format == "csv":
        suffix = f"-lab{filters.lab_ids[0]}" if filters.lab_ids else ""
        return Response(
            stream_with_context(exports.csv_stream(exports.NATIONAL_COLUMNS, rows)),
            mimetype="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f"attachment; filename=sharehub-national{suffix}-{year}.csv"
            },
        )
    first = (page - 1) * per_page
    items, total = [], 0
    for total, row in enumerate(rows, start=1):  # noqa: B007  (counts every row)
        if first < total <= first + per_page:
            items.append(row)
    return {"year": year, "items": items, "meta": page_meta(page, per_page, total)}
