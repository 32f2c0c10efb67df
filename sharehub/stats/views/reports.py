"""Statistics pages: the lab's own figures, the administrators' and regulators' overview
with rankings and drill-down, unmet demand, the exports, and rating a booking."""

from __future__ import annotations

import os
from datetime import timedelta

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from sharehub.accounts.models import Cluster, Organisation, Region
from sharehub.accounts.session import admin_required, current_org, staff_required
from sharehub.booking.models import Booking
from sharehub.catalog.models import FIELD_LABELS, Field, Unit
from sharehub.core.actions import page, perform
from sharehub.core.clock import local_today
from sharehub.core.forms import ConfirmForm
from sharehub.core.i18n import user_zone
from sharehub.extensions import db
from sharehub.stats import demand, exports, queries, ratings, settings
from sharehub.stats.blueprint import bp
from sharehub.stats.metrics import served_by_cluster
from sharehub.stats.models import Rating
from sharehub.stats.sql import Filters, Period
from sharehub.stats.testing import by_service

OVERVIEW_LEVELS = ("lab", "cluster", "region", "field")
LAB_LEVELS = ("listing", "unit")


def _choice() -> queries.PeriodChoice:
    choice = queries.PeriodChoice.from_args(request.args, local_today(user_zone()))
    for error in choice.errors:
        flash(str(error), "warning")
    return choice


def _filters_from_args() -> Filters:
    field = request.args.get("field", "")
    return Filters(
        cluster_id=request.args.get("cluster", type=int),
        region_id=request.args.get("region", type=int),
        field=field if field in {f.value for f in Field} else None,
    )


def _can_see_lab(lab: Organisation) -> bool:
    return (
        current_user.is_platform_admin
        or current_user.is_regulator
        or current_user.membership_in(lab) is not None
    )


def _lab(lab_id: int) -> Organisation:
    lab = db.session.get(Organisation, lab_id)
    if lab is None or not lab.is_lab or not _can_see_lab(lab):
        abort(404)
    return lab


def _trend_chart(points: list[dict]) -> dict:
    """Chart.js data (read by static/js/stats.js from a data attribute); steps are labelled
    by month, or by the first day of the week."""
    monthly = len(points) > 1 and (points[1]["start"] - points[0]["start"]).days > 7
    return {
        "type": "bar",
        "labels": [
            p["start"].strftime("%Y-%m") if monthly else p["start"].strftime("%m-%d")
            for p in points
        ],
        "datasets": [
            {"label": _("Effective hours"), "data": [float(p["effective_hours"]) for p in points]},
            {
                "label": _("External service hours"),
                "data": [float(p["external_hours"]) for p in points],
            },
            {
                "label": _("Utilisation (available hours)"),
                "data": [
                    float(p["utilisation_available"] * 100)
                    if p["utilisation_available"] is not None
                    else None
                    for p in points
                ],
                "type": "line",
                "yAxisID": "percent",
            },
        ],
    }


def _ranking_chart(rows: list[dict], label_key: str = "name") -> dict:
    top = rows[:10]
    return {
        "type": "bar",
        "indexAxis": "y",
        "labels": [str(r.get(label_key) or "—") for r in top],
        "datasets": [
            {"label": _("Effective hours"), "data": [float(r["effective_hours"]) for r in top]},
            {
                "label": _("External service hours"),
                "data": [float(r["external_hours"]) for r in top],
            },
        ],
    }


@bp.route("/stats/")
@staff_required
def overview():
    choice = _choice()
    level = request.args.get("level", "lab")
    level = level if level in OVERVIEW_LEVELS else "lab"
    filters = _filters_from_args()
    sort = request.args.get("sort", "effective_hours")
    rows = queries.table(choice, level, filters, sort)
    for row in rows:
        if level == "field" and row["key"]:
            row["name"] = str(FIELD_LABELS[Field(row["key"])])
    return render_template(
        "stats/overview.html",
        choice=choice,
        level=level,
        levels=OVERVIEW_LEVELS,
        filters=filters,
        sort=sort,
        rows=rows,
        columns=queries.columns_for(level),
        totals=queries.totals(choice, filters),
        trend_chart=_trend_chart(queries.chart_trend(choice, filters)),
        ranking_chart=_ranking_chart(rows),
        clusters=db.session.scalars(db.select(Cluster).order_by(Cluster.name)).all(),
        provinces=db.session.scalars(
            db.select(Region).where(Region.parent_id.is_(None)).order_by(Region.code)
        ).all(),
        fields=FIELD_LABELS,
        filter_args=_filter_args(filters),
        page_args={**choice.args, **_filter_args(filters)},
    )


def _filter_args(filters: Filters) -> dict:
    return {
        k: v
        for k, v in (
            ("cluster", filters.cluster_id),
            ("region", filters.region_id),
            ("field", filters.field),
        )
        if v
    }


@bp.route("/stats/lab")
@login_required
def my_lab():
    org = current_org()
    if org is None or not org.is_lab:
        abort(403)
    return redirect(url_for("stats.lab_page", lab_id=org.id, **request.args))


@bp.route("/stats/labs/<int:lab_id>")
@login_required
def lab_page(lab_id: int):
    lab = _lab(lab_id)
    choice = _choice()
    level = request.args.get("level", "listing")
    level = level if level in LAB_LEVELS else "listing"
    filters = Filters(lab_ids=[lab.id])
    sort = request.args.get("sort", "effective_hours")
    rows = queries.table(choice, level, filters, sort)
    return render_template(
        "stats/lab.html",
        lab=lab,
        choice=choice,
        level=level,
        levels=LAB_LEVELS,
        sort=sort,
        rows=rows,
        columns=queries.columns_for(level),
        totals=queries.totals(choice, filters),
        trend_chart=_trend_chart(queries.chart_trend(choice, filters)),
        served=served_by_cluster(choice.start, choice.end, filters),
        clusters={c.id: c for c in db.session.scalars(db.select(Cluster))},
        recent_ratings=ratings.lab_ratings(lab, limit=10),
        testing_services=by_service(lab.id, Period(choice.start, choice.end)),
    )


@bp.route("/stats/units/<int:unit_id>")
@login_required
def unit_page(unit_id: int):
    unit = db.session.get(Unit, unit_id)
    if unit is None or not _can_see_lab(unit.listing.lab):
        abort(404)
    choice = _choice()
    filters = Filters(lab_ids=[unit.listing.lab_id], unit_id=unit.id)
    points = queries.trend(choice, filters)
    return render_template(
        "stats/unit.html",
        unit=unit,
        lab=unit.listing.lab,
        choice=choice,
        totals=queries.totals(choice, filters),
        points=points,
        trend_chart=_trend_chart(points),
    )


@bp.route("/stats/demand")
@staff_required
def unmet_demand():
    choice = _choice()
    filters = _filters_from_args()
    found = demand.unmet_demand(choice.start, choice.end, filters)
    chart = {
        "type": "bar",
        "labels": [
            str(FIELD_LABELS[Field(f)]) if f else _("Any field")
            for f, _n in found["searches_by_field"]
        ],
        "datasets": [
            {
                "label": _("Searches that found nothing"),
                "data": [n for _f, n in found["searches_by_field"]],
            }
        ],
    }
    return render_template(
        "stats/demand.html",
        choice=choice,
        filters=filters,
        found=found,
        demand_chart=chart,
        field_labels=FIELD_LABELS,
        clusters=db.session.scalars(db.select(Cluster).order_by(Cluster.name)).all(),
        filter_args=_filter_args(filters),
        page_args={**choice.args, **_filter_args(filters)},
    )


@bp.route("/stats/rated-hours", methods=["GET", "POST"])
@admin_required
def rated_hours():
    def rated_hours_page():  # shows what was typed (request.form) over the stored figures
        return render_template(
            "stats/rated_hours.html",
            rows=settings.rated_hours(),
            labels=settings.CLASS_LABELS,
            confirm_form=ConfirmForm(),
        )

    if request.method == "GET":
        return rated_hours_page()
    if not ConfirmForm().validate_on_submit():
        abort(400)

    def save():
        for row in settings.rated_hours():
            settings.set_rated_hours(
                current_user, row.usage_class, request.form.get(row.usage_class)
            )

    return perform(
        save,
        done=url_for("stats.rated_hours"),
        success=_("The rated hours have been saved."),
        again=rated_hours_page,
    )


# --- exports -------------------------------------------------------------------------------


def _export(fmt: str, columns, rows, name: str):
    if fmt == "csv":
        return Response(
            stream_with_context(exports.csv_stream(columns, rows)),
            mimetype="text/csv; charset=utf-8",
            headers={"Content-Disposition": f"attachment; filename={name}.csv"},
        )
    path = exports.xlsx_file(columns, rows)
    handle = open(path, "rb")  # noqa: SIM115  (closed by the generator below)
    os.remove(path)  # the open handle keeps the data until it is sent

    def chunks():
        with handle:
            while data := handle.read(64 * 1024):
                yield data

    return Response(
        chunks(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename={name}.xlsx"},
    )


@bp.route("/stats/export.<any(csv, xlsx):fmt>")
@staff_required
def export_overview(fmt: str):
    choice = _choice()
    level = request.args.get("level", "lab")
    level = level if level in OVERVIEW_LEVELS else "lab"
    filters = _filters_from_args()
    columns = exports.table_columns(queries.LEVEL_LABELS[level])
    rows = queries.iter_table(choice, level, filters)
    if level == "field":
        rows = ({**r, "name": str(FIELD_LABELS[Field(r["key"])]) if r["key"] else ""} for r in rows)
    return _export(fmt, columns, rows, f"sharehub-{level}-{choice.start}-{choice.end}")


@bp.route("/stats/labs/<int:lab_id>/export.<any(csv, xlsx):fmt>")
@login_required
def export_lab(lab_id: int, fmt: str):
    lab = _lab(lab_id)
    choice = _choice()
    level = request.args.get("level", "listing")
    level = level if level in LAB_LEVELS else "listing"
    columns = exports.table_columns(queries.LEVEL_LABELS[level])
    rows = queries.iter_table(choice, level, Filters(lab_ids=[lab.id]))
    return _export(fmt, columns, rows, f"sharehub-lab{lab.id}-{level}-{choice.start}")


def _trend_rows(choice, filters):
    for point in queries.trend(choice, filters):
        yield {**point, "start": point["start"].isoformat(), "end": point["end"].isoformat()}


TREND_COLUMNS = [("start", _l("From")), ("end", _l("To (exclusive)"))]


@bp.route("/stats/trend.<any(csv, xlsx):fmt>")
@staff_required
def export_trend(fmt: str):
    choice = _choice()
    columns = TREND_COLUMNS + [(k, h) for k, h, _f in queries.COLUMNS]
    rows = _trend_rows(choice, _filters_from_args())
    return _export(fmt, columns, rows, f"sharehub-trend-{choice.start}-{choice.end}")


@bp.route("/stats/labs/<int:lab_id>/trend.<any(csv, xlsx):fmt>")
@login_required
def export_lab_trend(lab_id: int, fmt: str):
    """The trend of the lab, or of one of its units (`unit`)."""
    lab = _lab(lab_id)
    choice = _choice()
    unit_id = request.args.get("unit", type=int)
    if unit_id is not None:
        unit = db.session.get(Unit, unit_id)
        if unit is None or unit.listing.lab_id != lab.id:
            abort(404)
    columns = TREND_COLUMNS + [(k, h) for k, h, _f in queries.COLUMNS]
    rows = _trend_rows(choice, Filters(lab_ids=[lab.id], unit_id=unit_id))
    return _export(fmt, columns, rows, f"sharehub-trend-lab{lab.id}-{choice.start}")


@bp.route("/stats/labs/<int:lab_id>/served.<any(csv, xlsx):fmt>")
@login_required
def export_served(lab_id: int, fmt: str):
    lab = _lab(lab_id)
    choice = _choice()
    clusters = {c.id: c.name for c in db.session.scalars(db.select(Cluster))}
    columns = [
        ("cluster", _("Cluster of the customer")),
        ("orgs", _("Organisations")),
        ("external_orgs", _("External")),
        ("smes", _("SMEs")),
        ("hours", _("Effective hours")),
    ]
    rows = (
        {
            "cluster": clusters.get(r.cluster_id, ""),
            "orgs": r.orgs,
            "external_orgs": r.external_orgs,
            "smes": r.smes,
            "hours": r.hours,
        }
        for r in served_by_cluster(choice.start, choice.end, Filters(lab_ids=[lab.id]))
    )
    return _export(fmt, columns, rows, f"sharehub-served-lab{lab.id}-{choice.start}")


@bp.route("/stats/national.<any(csv, xlsx):fmt>")
@staff_required
def export_national(fmt: str):
    year = request.args.get("year", local_today(user_zone()).year, type=int)
    if not 2000 <= year <= 2100:
        abort(400)
    rows = exports.national_rows(year, _filters_from_args())
    return _export(fmt, exports.NATIONAL_COLUMNS, rows, f"sharehub-national-{year}")


@bp.route("/stats/labs/<int:lab_id>/national.<any(csv, xlsx):fmt>")
@login_required
def export_lab_national(lab_id: int, fmt: str):
    lab = _lab(lab_id)
    year = request.args.get("year", local_today(user_zone()).year, type=int)
    if not 2000 <= year <= 2100:
        abort(400)
    rows = exports.national_rows(year, Filters(lab_ids=[lab.id]))
    return _export(fmt, exports.NATIONAL_COLUMNS, rows, f"sharehub-national-lab{lab.id}-{year}")


@bp.route("/stats/demand.<any(csv, xlsx):fmt>")
@staff_required
def export_demand(fmt: str):
    choice = _choice()
    found = demand.unmet_demand(choice.start, choice.end, _filters_from_args())
    columns = [
        ("listing_id", _("Listing id")),
        ("listing", _("Listing")),
        ("lab", _("Laboratory")),
        ("declined", _("Declined for lack of capacity")),
        ("waiting", _("Waiting-list entries")),
    ]
    rows = (
        {
            "listing_id": r.id,
            "listing": r.name,
            "lab": r.lab_name,
            "declined": int(r.declined),
            "waiting": int(r.waiting),
        }
        for r in found["listings"]
    )
    return _export(fmt, columns, rows, f"sharehub-unmet-demand-{choice.start}")


# --- ratings -------------------------------------------------------------------------------


@bp.route("/bookings/<int:booking_id>/rating", methods=["POST"])
@login_required
def rate_booking(booking_id: int):
    booking = db.session.get(Booking, booking_id)
    if booking is None or not booking.can_view(current_user):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return perform(
        lambda: ratings.rate(
            current_user, booking, request.form.get("score"), request.form.get("comment", "")
        ),
        done=url_for("booking.booking_page", booking_id=booking.id),
        success=_("Thank you: your rating has been published."),
        again=page("booking.booking_page", booking_id=booking.id),
    )


@bp.route("/ratings/<int:rating_id>/reply", methods=["POST"])
@login_required
def reply_rating(rating_id: int):
    rating = db.session.get(Rating, rating_id)
    if rating is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return perform(
        lambda: ratings.reply(current_user, rating, request.form.get("reply", "")),
        done=url_for("booking.booking_page", booking_id=rating.booking_id),
        success=_("Your reply has been published."),
        again=page("booking.booking_page", booking_id=rating.booking_id),
    )


@bp.app_template_global()
def booking_rating(booking):
    return ratings.rating_of(booking)


@bp.app_template_global()
def listing_ratings(listing):
    return ratings.listing_ratings(listing)


@bp.app_template_global()
def can_rate(booking):
    return ratings.can_rate(current_user, booking)


@bp.app_template_filter("prev_day")
def previous_day(day):
    """The inclusive last day of a period that ends (exclusive) on `day`."""
    return (day - timedelta(days=1)).isoformat()


@bp.app_template_filter("figure")
def format_figure(value, places: int = 4) -> str:
    """A number rounded half up to at most `places` decimals, without trailing zeros (as
    the scorecards' working writes it)."""
    from sharehub.stats.figures import round_half_up

    if value is None:
        return "—"
    text = f"{round_half_up(value, places):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@bp.app_template_filter("stat")
def format_stat(value, fmt: str = "int"):
    """A figure as the tables show it: hours (2 decimals), a percentage (2 decimals),
    money, a mean rating (2 decimals) or minutes (1 decimal), rounded half up once
    (sharehub.stats.figures: an already rounded figure is shown as it is)."""
    from flask_babel import format_decimal, format_percent

    from sharehub.core.money import format_fen
    from sharehub.stats.figures import round_half_up

    if value is None:
        return "—"
    if fmt == "rate":
        return format_percent(round_half_up(value, 4), "#,##0.00%")
    if fmt == "money":
        return format_fen(value)
    if fmt == "yuan":  # whole yuan, for the figure cards
        from decimal import Decimal

        from flask_babel import format_currency

        return format_currency(Decimal(value) / 100, "CNY", "¤#,##0", currency_digits=False)
    if fmt in ("hours", "score"):
        return format_decimal(round_half_up(value, 2), "#,##0.00")
    if fmt in ("minutes", "days"):
        return format_decimal(round_half_up(value, 1), "#,##0.0")
    return format_decimal(value, "#,##0")
