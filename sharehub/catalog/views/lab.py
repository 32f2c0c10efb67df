"""The lab's side of the catalogue: listings, units, opening hours, outages, files."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from sharehub.accounts import orgs
from sharehub.accounts.session import current_org
from sharehub.catalog import files, services
from sharehub.catalog.blueprint import bp
from sharehub.catalog.forms import FileForm, ListingForm, OutageForm, UnitForm
from sharehub.catalog.models import (
    DEFAULT_TAX_CODES,
    Listing,
    ListingFile,
    ListingKind,
    ListingRevision,
    Outage,
    OutageKind,
    Unit,
)
from sharehub.core.actions import page, perform, refused
from sharehub.core.errors import DomainError, ValidationError
from sharehub.core.forms import ConfirmForm
from sharehub.core.i18n import user_zone
from sharehub.core.tx import commit
from sharehub.core.uploads import read_upload
from sharehub.extensions import db

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~至]\s*(\d{1,2}):(\d{2})\s*$")


def _my_lab():
    org = current_org()
    if org is None or not org.is_lab or not current_user.can_manage(org):
        abort(403)
    return org


def _managed(model, object_id: int, lab_of):
    obj = db.session.get(model, object_id)
    if obj is None or not current_user.can_manage(lab_of(obj)):
        abort(404)  # another lab's objects are not even acknowledged
    return obj


def unit_calendars(listing: Listing) -> dict:
    from sharehub.calendar.models import ExternalCalendar

    calendars: dict[int, list] = {}
    for calendar in db.session.scalars(
        sa.select(ExternalCalendar).where(
            ExternalCalendar.unit_id.in_([u.id for u in listing.units])
        )
    ):
        calendars.setdefault(calendar.unit_id, []).append(calendar)
    return calendars


def _listing(listing_id: int) -> Listing:
    return _managed(Listing, listing_id, lambda li: li.lab)


def _listing_form(form: ListingForm, kind: ListingKind, listing: Listing | None):
    page = render_template(
        "catalog/manage/form.html",
        form=form,
        kind=kind,
        listing=listing,
        default_tax_code=DEFAULT_TAX_CODES[kind],
    )
    return page, (400 if form.errors else 200)


@bp.route("/lab/listings")
@login_required
def my_listings():
    lab = _my_lab()
    listings = db.session.scalars(
        sa.select(Listing).where(Listing.lab_id == lab.id).order_by(Listing.updated_dt.desc())
    ).all()
    pending = set(
        db.session.scalars(
            sa.select(ListingRevision.listing_id).where(
                ListingRevision.status == "pending",
                ListingRevision.listing_id.in_([li.id for li in listings]),
            )
        )
    )
    return render_template("catalog/manage/list.html", lab=lab, listings=listings, pending=pending)


@bp.route("/lab/listings/new", methods=["GET", "POST"])
@login_required
def new_listing():
    lab = _my_lab()
    try:
        kind = ListingKind(request.args.get("kind", "equipment"))
    except ValueError:
        abort(404)
    form = ListingForm()
    if request.method == "GET":
        form.contact_name.data, form.contact_phone.data = lab.contact_name, lab.contact_phone
        if kind == ListingKind.EXPERT:
            form.price_unit.data, form.category_code.data = "session", "080101"
        elif kind == ListingKind.DATASET:
            form.price_unit.data, form.category_code.data = "period", "070101"
    if not form.validate_on_submit():
        return _listing_form(form, kind, None)
    try:
        listing = services.create_listing(
            current_user, lab, kind, form.to_data(), units=form.units.data or 1
        )
        if kind != ListingKind.DATASET:
            services.set_opening_hours(current_user, listing, DEFAULT_HOURS)
    except DomainError as exc:
        return refused(exc, lambda: _listing_form(form, kind, None), form=form)
    commit()
    flash(
        _(
            "The listing is saved as a draft. Add photos and check the opening hours, "
            "then submit it for review."
        ),
        "success",
    )
    return redirect(url_for("catalog.manage_listing", listing_id=listing.id))


DEFAULT_HOURS = [(d, 510, 720) for d in range(5)] + [(d, 810, 1050) for d in range(5)]


@bp.route("/lab/listings/<int:listing_id>/edit", methods=["GET", "POST"])
@login_required
def edit_listing(listing_id: int):
    listing = _listing(listing_id)
    form = ListingForm()
    if request.method == "GET":
        form.load(listing)
    if not form.validate_on_submit():
        return _listing_form(form, listing.kind, listing)
    try:
        revision = services.update_listing(current_user, listing, form.to_data())
    except DomainError as exc:
        return refused(exc, lambda: _listing_form(form, listing.kind, listing), form=form)
    commit()
    flash(
        _(
            "Your change waits for an administrator's review; the listing stays as it "
            "was until then."
        )
        if revision
        else _("The listing has been saved."),
        "success",
    )
    return redirect(url_for("catalog.manage_listing", listing_id=listing.id))


@bp.route("/lab/listings/<int:listing_id>")
@login_required
def manage_listing(listing_id: int):
    return _manage_page(_listing(listing_id))


def _manage_page(
    listing: Listing, status: int = 200, hours_text=None, outage_form=None, unit_form=None
):
    """The lab's page of a listing; after a refusal, with its status (nothing changed)."""
    revision = db.session.scalar(
        sa.select(ListingRevision)
        .where(ListingRevision.listing_id == listing.id)
        .order_by(ListingRevision.id.desc())
        .limit(1)
    )
    return render_template(
        "catalog/manage/listing.html",
        listing=listing,
        confirm_form=ConfirmForm(),
        unit_form=unit_form or UnitForm(),
        outage_form=outage_form or _outage_form(listing),
        file_form=FileForm(),
        revision=revision,
        hours_text=hours_text or hours_as_text(listing),
        weekdays=WEEKDAYS,
        u_calendars=unit_calendars(listing),
    ), status


@bp.route("/lab/listings/<int:listing_id>/<any(submit, withdraw):action>", methods=["POST"])
@login_required
def listing_action(listing_id: int, action: str):
    listing = _listing(listing_id)
    return perform(
        lambda: getattr(services, action)(current_user, listing),
        done=url_for("catalog.manage_listing", listing_id=listing.id),
        success=_("Submitted for review.")
        if action == "submit"
        else _("The listing has been withdrawn from the catalogue."),
        again=page("catalog.manage_listing", listing_id=listing.id),
    )


@bp.route("/lab/listings/<int:listing_id>/units", methods=["POST"])
@login_required
def add_unit(listing_id: int):
    listing = _listing(listing_id)
    form = UnitForm()

    def again():
        return _manage_page(listing, unit_form=form)

    if not form.validate_on_submit():
        return refused(ValidationError(_("Name the unit.")), again)
    return perform(
        lambda: services.add_unit(
            current_user,
            listing,
            form.name.data,
            form.serial_number.data or "",
            form.location.data or "",
        ),
        done=url_for("catalog.manage_listing", listing_id=listing.id),
        again=again,
    )


@bp.route("/lab/units/<int:unit_id>/toggle", methods=["POST"])
@login_required
def toggle_unit(unit_id: int):
    unit = _managed(Unit, unit_id, lambda u: u.listing.lab)
    return perform(
        lambda: services.set_unit_active(current_user, unit, not unit.is_active),
        done=url_for("catalog.manage_listing", listing_id=unit.listing_id),
        again=page("catalog.manage_listing", listing_id=unit.listing_id),
    )


def hours_as_text(listing: Listing) -> list[str]:
    days = [[] for _ in range(7)]
    for interval in listing.opening_hours:
        days[interval.weekday].append(
            f"{interval.start_minute // 60:02d}:{interval.start_minute % 60:02d}-"
            f"{interval.end_minute // 60:02d}:{interval.end_minute % 60:02d}"
        )
    return [", ".join(d) for d in days]


def parse_hours(texts: list[str]) -> list[tuple[int, int, int]]:
    """'08:30-12:00, 13:30-17:30' per weekday into (weekday, start, end) minutes."""
    intervals = []
    for weekday, text in enumerate(texts):
        for part in filter(None, (p.strip() for p in re.split(r"[,，;；]", text or ""))):
            match = _SPAN.match(part)
            if not match:
                raise ValidationError(
                    _(
                        "Write opening hours like 08:30-12:00, 13:30-17:30 "
                        "(%(part)s is not understood).",
                        part=part,
                    )
                )
            h1, m1, h2, m2 = map(int, match.groups())
            if m1 > 59 or m2 > 59 or h1 > 24 or h2 > 24:
                raise ValidationError(_("%(part)s is not a time of day.", part=part))
            intervals.append((weekday, h1 * 60 + m1, h2 * 60 + m2))
    return intervals


@bp.route("/lab/listings/<int:listing_id>/hours", methods=["POST"])
@login_required
def set_hours(listing_id: int):
    listing = _listing(listing_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    texts = [request.form.get(f"day{d}", "") for d in range(7)]
    return perform(
        lambda: services.set_opening_hours(current_user, listing, parse_hours(texts)),
        done=url_for("catalog.manage_listing", listing_id=listing.id),
        success=_("The opening hours have been saved."),
        again=lambda: _manage_page(listing, hours_text=texts),
    )


def _outage_form(listing: Listing) -> OutageForm:
    form = OutageForm()
    form.unit_id.choices = [SelectChoice(u.id, u.name) for u in listing.units]
    return form


@bp.route("/lab/listings/<int:listing_id>/outages", methods=["POST"])
@login_required
def add_outage(listing_id: int):
    listing = _listing(listing_id)
    form = _outage_form(listing)

    def again():
        return _manage_page(listing, outage_form=form)

    if not form.validate_on_submit():
        return refused(
            ValidationError(_("Give the unit, the start and the end of the outage.")), again
        )
    unit = next((u for u in listing.units if u.id == form.unit_id.data), None)
    if unit is None:
        abort(404)
    return perform(
        lambda: services.add_outage(
            current_user,
            unit,
            OutageKind(form.kind.data),
            form.starts.data.replace(tzinfo=user_zone()),
            form.ends.data.replace(tzinfo=user_zone()),
            form.note.data or "",
        ),
        done=url_for("catalog.manage_listing", listing_id=listing.id),
        success=_("The outage has been recorded."),
        again=again,
    )


@bp.route("/lab/outages/<int:outage_id>/delete", methods=["POST"])
@login_required
def delete_outage(outage_id: int):
    outage = _managed(Outage, outage_id, lambda o: o.unit.listing.lab)
    listing_id = outage.unit.listing_id
    return perform(
        lambda: services.remove_outage(current_user, outage),
        done=url_for("catalog.manage_listing", listing_id=listing_id),
        again=page("catalog.manage_listing", listing_id=listing_id),
    )


@bp.route("/lab/listings/<int:listing_id>/files", methods=["POST"])
@login_required
def upload_file(listing_id: int):
    listing = _listing(listing_id)
    form = FileForm()
    again = page("catalog.manage_listing", listing_id=listing.id)
    if not form.validate_on_submit():
        return refused(ValidationError(_("Choose a file to upload.")), again)

    def add():
        data, name = read_upload(form.file.data, files.MAX_DOC_BYTES)
        files.add_file(current_user, listing, form.role.data, data, name)

    return perform(
        add,
        done=url_for("catalog.manage_listing", listing_id=listing.id),
        success=_("The file has been added."),
        again=again,
    )


@bp.route("/lab/files/<int:file_id>/delete", methods=["POST"])
@login_required
def delete_file(file_id: int):
    record = _managed(ListingFile, file_id, lambda f: f.listing.lab)
    listing_id = record.listing_id
    return perform(
        lambda: files.remove_file(current_user, record),
        done=url_for("catalog.manage_listing", listing_id=listing_id),
        again=page("catalog.manage_listing", listing_id=listing_id),
    )


@bp.route("/lab/settings", methods=["GET", "POST"])
@login_required
def lab_settings():
    lab = _my_lab()
    rates = {600: "6 %", 300: "3 %", 100: "1 %", 0: "0 %"}

    def settings_page():
        return render_template(
            "catalog/manage/settings.html", lab=lab, rates=rates, confirm_form=ConfirmForm()
        )

    if request.method == "GET":
        return settings_page()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    rate = request.form.get("vat_rate_bp", type=int)
    if rate not in rates:
        return refused(ValidationError(_("Choose one of the VAT rates.")), settings_page)
    return perform(
        lambda: orgs.update_organisation(
            current_user,
            lab,
            vat_rate_bp=rate,
            bank_name=request.form.get("bank_name", "").strip()[:200],
            bank_account=request.form.get("bank_account", "").strip()[:64],
            bank_holder=request.form.get("bank_holder", "").strip()[:200],
        ),
        done=url_for("catalog.lab_settings"),
        success=_("The settings have been saved."),
        again=settings_page,
    )
