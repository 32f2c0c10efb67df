"""Public catalogue: search, listing pages, photos, favourites, comparison, open data."""

from __future__ import annotations

import io
import json

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.accounts.models import Organisation, OrgKind
from sharehub.accounts.session import current_org
from sharehub.booking.availability import free_listing_ids, week_preview
from sharehub.catalog import queries, services
from sharehub.catalog.blueprint import bp
from sharehub.catalog.models import (
    FIELD_LABELS,
    KIND_LABELS,
    Favourite,
    Listing,
    ListingFile,
    ListingStatus,
)
from sharehub.catalog.pricing import unit_price
from sharehub.competence.services import requirement_for
from sharehub.core import csvfile
from sharehub.core.actions import page, perform
from sharehub.core.clock import utcnow
from sharehub.core.forms import safe_next
from sharehub.core.tx import commit
from sharehub.core.uploads import send_stored, stored_path
from sharehub.extensions import db
from sharehub.stats.demand import record_search_miss

COMPARE_KEY = "compare"
MAX_COMPARE = 4


@bp.route("/catalog")
def search():
    params = queries.SearchParams.from_args(request.args)
    for error in params.errors:
        flash(str(error), "warning")
    result = queries.search(params, free=free_listing_ids)
    if record_search_miss(params, result.total):  # unmet demand for the statistics
        commit()
    favourites = set()
    if current_user.is_authenticated:
        favourites = set(
            db.session.scalars(
                sa.select(Favourite.listing_id).where(Favourite.user_id == current_user.id)
            )
        )
    status = 400 if params.errors else 200  # the page shows what was ignored and why
    return render_template(
        "catalog/search.html",
        params=params,
        result=result,
        favourites=favourites,
        kind_labels=KIND_LABELS,
        field_labels=FIELD_LABELS,
        sorts=queries.SORTS,
        compare=session.get(COMPARE_KEY, []),
        **queries.facet_labels(),
    ), status


@bp.route("/catalog/<int:listing_id>")
def listing_page(listing_id: int):
    listing = queries.get_listing(listing_id, current_user)
    preview = week_preview(listing, utcnow()) if listing.units else {}
    is_favourite = (
        current_user.is_authenticated
        and db.session.scalar(
            sa.select(Favourite.id).where(
                Favourite.user_id == current_user.id, Favourite.listing_id == listing.id
            )
        )
        is not None
    )
    return render_template(
        "catalog/listing.html",
        listing=listing,
        quote=unit_price(listing, current_org()),
        preview=preview,
        is_favourite=is_favourite,
        compare=session.get(COMPARE_KEY, []),
        can_edit=listing.can_edit(current_user),
        requirement=requirement_for(listing),
    )


@bp.route("/catalog/files/<int:file_id>")
@bp.route("/catalog/files/<int:file_id>/<any(thumb):variant>")
def listing_file(file_id: int, variant: str | None = None):
    record = db.session.get(ListingFile, file_id)
    if record is None or not record.listing.can_view(current_user):
        abort(404)
    if record.role == "data" and not record.listing.can_edit(current_user):
        abort(404)  # the dataset itself opens only with an access grant
    if variant == "thumb" and record.thumb_name:
        return send_file(stored_path(record.thumb_name), mimetype="image/webp", max_age=86400)
    as_attachment = record.role != "photo"
    return send_stored(record, as_attachment=as_attachment, max_age=3600)


@bp.route("/catalog/<int:listing_id>/favourite", methods=["POST"])
@login_required
def toggle_favourite(listing_id: int):
    listing = queries.get_listing(listing_id, current_user)

    def toggled(added: bool):
        flash(
            _("Saved to your favourites.") if added else _("Removed from your favourites."),
            "success",
        )
        return redirect(safe_next())

    return perform(
        lambda: services.toggle_favourite(current_user, listing),
        done=toggled,
        again=page("catalog.listing_page", listing_id=listing.id),
    )


@bp.route("/catalog/favourites")
@login_required
def favourites():
    listings = db.session.scalars(
        sa.select(Listing)
        .join(Favourite, Favourite.listing_id == Listing.id)
        .where(Favourite.user_id == current_user.id)
        .options(so.selectinload(Listing.files), so.joinedload(Listing.lab))
        .order_by(Favourite.created_dt.desc())
    ).all()
    return render_template(
        "catalog/favourites.html", listings=[li for li in listings if li.can_view(current_user)]
    )


@bp.route("/catalog/compare", methods=["GET", "POST"])
def compare():
    ids: list[int] = list(session.get(COMPARE_KEY, []))
    if request.method == "POST":
        listing_id = request.form.get("listing_id", type=int)
        if listing_id is None:
            abort(400)
        if request.form.get("action") == "remove":
            ids = [i for i in ids if i != listing_id]
        elif listing_id not in ids:
            queries.get_listing(listing_id, current_user)
            if len(ids) >= MAX_COMPARE:
                flash(_("You can compare up to four listings; remove one first."), "warning")
            else:
                ids.append(listing_id)
        session[COMPARE_KEY] = ids
        return redirect(safe_next("catalog.compare"))
    listings = [
        li
        for li in (db.session.get(Listing, i) for i in ids)
        if li is not None and li.can_view(current_user)
    ]
    quotes = {li.id: unit_price(li, current_org()) for li in listings}
    return render_template("catalog/compare.html", listings=listings, quotes=quotes)


@bp.route("/labs/<int:lab_id>")
def lab_page(lab_id: int):
    lab = db.session.get(Organisation, lab_id)
    if lab is None or lab.kind != OrgKind.LAB or lab.status.value in ("pending", "rejected"):
        abort(404)
    listings = (
        db.session.scalars(
            sa.select(Listing)
            .where(Listing.lab_id == lab.id, Listing.status == ListingStatus.PUBLISHED)
            .options(so.selectinload(Listing.files))
            .order_by(Listing.kind, Listing.name)
        ).all()
        if lab.is_serving
        else []
    )
    return render_template("catalog/lab.html", lab=lab, listings=listings)


# --- open data ---------------------------------------------------------------------------

UNIQUIP_COLUMNS = [
    "Type",
    "ID",
    "Name",
    "Description",
    "Related Facility ID",
    "Technique",
    "Location",
    "Contact Name",
    "Contact Telephone",
    "Contact URL",
    "Contact Email",
    "Photo",
    "Department",
    "Site Location",
    "Web Address",
    "Keywords",
    "Quantity",
    "Manufacturer",
    "Model",
    "Year of Manufacture",
    "Price",
    "Category Code",
    "Original Value CNY",
    "Country of Origin",
]


def _export_rows():
    query = (
        queries.base_query()
        .options(
            so.contains_eager(Listing.lab).joinedload(Organisation.region),
            so.selectinload(Listing.units),
            so.selectinload(Listing.files),
            so.joinedload(Listing.category),
        )
        .order_by(Listing.id)
        .execution_options(yield_per=500)
    )
    return db.session.scalars(query)


def _uniquip(listing: Listing) -> list:
    lab = listing.lab
    photo = listing.photos[0] if listing.photos else None
    return [
        {"equipment": "equipment", "expert": "service", "dataset": "dataset"}[listing.kind.value],
        f"sharehub-{listing.id}",
        listing.name_en or listing.name,
        (listing.description_en or listing.description).replace("\r", " "),
        f"sharehub-lab-{lab.id}",
        listing.category.name_en if listing.category else "",
        listing.location or lab.address,
        listing.contact_name or lab.contact_name,
        listing.contact_phone or lab.contact_phone,
        url_for("catalog.listing_page", listing_id=listing.id, _external=True),
        listing.contact_email or lab.contact_email,
        url_for("catalog.listing_file", file_id=photo.id, _external=True) if photo else "",
        lab.name_en or lab.name,
        lab.region.name_en if lab.region else "",
        url_for("catalog.lab_page", lab_id=lab.id, _external=True),
        "; ".join(filter(None, [listing.name, listing.category.name if listing.category else ""])),
        len([u for u in listing.units if u.is_active]) or "",
        listing.manufacturer,
        listing.model,
        listing.commissioning_date.year if listing.commissioning_date else "",
        f"{listing.price_external / 100:.2f} CNY {listing.price_unit.value}",
        listing.category_code or "",
        f"{listing.original_value / 100:.2f}" if listing.original_value else "",
        listing.country_of_origin,
    ]


@bp.route("/catalog/export.csv")
def export_csv():
    def generate():
        buffer = io.StringIO()
        writer = csvfile.writer(buffer)
        buffer.write("\ufeff")  # Excel opens UTF-8 with a BOM correctly
        writer.writerow(UNIQUIP_COLUMNS)
        for listing in _export_rows():
            writer.writerow(_uniquip(listing))
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=sharehub-uniquip.csv"},
    )


def listing_json(listing: Listing) -> dict:
    return {
        "id": listing.id,
        "kind": listing.kind.value,
        "name": listing.name,
        "name_en": listing.name_en,
        "description": listing.description,
        "description_en": listing.description_en,
        "field": listing.field.value,
        "category_code": listing.category_code,
        "lab": {
            "id": listing.lab.id,
            "name": listing.lab.name,
            "name_en": listing.lab.name_en,
            "credit_code": listing.lab.credit_code,
        },
        "price": {
            "unit": listing.price_unit.value,
            "external_fen": listing.price_external,
            "currency": "CNY",
        },
        "instrument": {
            "number": listing.instrument_number,
            "model": listing.model,
            "manufacturer": listing.manufacturer,
            "country_of_origin": listing.country_of_origin,
            "original_value_fen": listing.original_value,
            "commissioning_date": listing.commissioning_date.isoformat()
            if listing.commissioning_date
            else None,
            "main_indicators": listing.main_indicators,
            "test_fields": listing.test_fields,
            "location": listing.location,
            "status": listing.instrument_status,
        }
        if listing.kind.value == "equipment"
        else None,
        "units": len([u for u in listing.units if u.is_active]),
        "url": url_for("catalog.listing_page", listing_id=listing.id, _external=True),
    }


@bp.route("/catalog/export.json")
def export_json():
    def generate():
        yield '{"listings": ['
        for n, listing in enumerate(_export_rows()):
            yield ("," if n else "") + json.dumps(listing_json(listing), ensure_ascii=False)
        yield "]}"

    return Response(stream_with_context(generate()), mimetype="application/json")
