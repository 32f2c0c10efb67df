"""Booking pages: the week calendar of free slots, review and confirm, the booking page
with its actions, the customer's and the lab's lists."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from sharehub.accounts.session import current_org
from sharehub.booking import messages, services, usage
from sharehub.booking.availability import free_starts
from sharehub.booking.blueprint import bp
from sharehub.booking.forms import (
    BookingRequestForm,
    CheckInForm,
    CheckOutForm,
    DeclineForm,
    MoveForm,
    ReasonForm,
    from_page,
)
from sharehub.booking.models import (
    HOLDING,
    STATUS_LABELS,
    Booking,
    BookingStatus,
    ServiceWay,
)
from sharehub.booking.pricing import quote
from sharehub.calibration import queries as calibration
from sharehub.calibration.models import CalibrationPolicy
from sharehub.catalog.models import Listing, ListingKind, Unit
from sharehub.catalog.queries import get_listing
from sharehub.competence.services import requirement_for
from sharehub.core.actions import page, perform, refused
from sharehub.core.clock import local_today
from sharehub.core.db import utcnow
from sharehub.core.errors import DomainError, PermissionDenied
from sharehub.core.forms import ConfirmForm, refuse_form, typed
from sharehub.core.i18n import user_zone
from sharehub.core.inputs import check_date
from sharehub.core.models import Notification
from sharehub.core.tx import commit
from sharehub.extensions import db
from sharehub.institutions.queries import chargeable_accounts


def week_slots(listing: Listing, week_start: date, zone) -> dict:
    """Free start times (for the shortest allowed booking, on any unit) per local day."""
    days: dict[date, list[datetime]] = {week_start + timedelta(days=n): [] for n in range(7)}
    start = datetime.combine(week_start, time(), zone)
    end = datetime.combine(week_start + timedelta(days=7), time(), zone)
    for point in free_starts(listing, start, end, listing.min_minutes):
        day = point.astimezone(zone).date()
        if day in days:
            days[day].append(point)
    return days


@bp.route("/catalog/<int:listing_id>/book")
@login_required
def calendar(listing_id: int):
    listing = get_listing(listing_id, current_user)
    if listing.kind == ListingKind.DATASET:
        abort(404)
    zone = user_zone()
    today = local_today(zone)
    try:
        week = date.fromisoformat(request.args.get("week", ""))
    except ValueError:
        week = today
    check_date(week, field="week")
    week = max(week - timedelta(days=week.weekday()), today - timedelta(days=today.weekday()))
    if request.args.get("view") == "month":
        return _month(listing, max(week, today).replace(day=1), zone)
    return render_template(
        "booking/calendar.html",
        listing=listing,
        week=week,
        days=week_slots(listing, week, zone),
        prev_week=week - timedelta(days=7),
        next_week=week + timedelta(days=7),
        durations=range(listing.min_minutes, listing.max_minutes + 1, listing.slot_minutes),
    )


def _month(listing: Listing, first: date, zone):
    """Free starts counted per day of a month; each day links to its week."""
    following = (first + timedelta(days=32)).replace(day=1)
    found: dict[date, list] = {}
    monday = first - timedelta(days=first.weekday())
    while monday < following:
        found.update(week_slots(listing, monday, zone))
        monday += timedelta(days=7)
    days = {
        first + timedelta(days=n): found.get(first + timedelta(days=n), [])
        for n in range((following - first).days)
    }
    return render_template(
        "booking/month.html",
        listing=listing,
        first=first,
        days=days,
        previous=(first - timedelta(days=1)).replace(day=1),
        following=following,
    )


def _listing_to_book(listing_id: int) -> Listing:
    """The listing with all that booking it reads (lab, opening hours, units, calibration
    policy) in one statement; 404 as `get_listing` when the viewer may not see it."""
    found = (
        db.session.execute(
            sa.select(Listing, CalibrationPolicy.listing_id)
            .outerjoin(CalibrationPolicy, CalibrationPolicy.listing_id == Listing.id)
            .where(Listing.id == listing_id)
            .options(
                so.joinedload(Listing.lab),
                so.joinedload(Listing.opening_hours),
                so.joinedload(Listing.units),
            )
        )
        .unique()
        .first()
    )
    if found is None:
        return get_listing(listing_id, current_user)  # NotFound
    listing, policy_id = found
    if policy_id is None:
        calibration.known_without_policy(listing.id)
    return get_listing(listing.id, current_user)  # in the identity map: no statement


@bp.route("/catalog/<int:listing_id>/book/review", methods=["GET", "POST"])
@login_required
def review(listing_id: int):
    listing = _listing_to_book(listing_id)
    org = current_org()
    if org is None:
        return refused(
            PermissionDenied(_("You need an organisation to book; ask a colleague to invite you.")),
            again=page("catalog.listing_page", listing_id=listing.id),
        )
    form = from_page(BookingRequestForm)
    if not form.validate():
        return refuse_form(form, page("booking.calendar", listing_id=listing.id))
    booking_request = form.booking_request()
    if request.method == "GET":
        try:
            services.check_rules(listing, booking_request.starts_dt, booking_request.ends_dt)
        except DomainError as exc:
            flash(str(exc.message), "warning")
        return _review_page(listing, org, booking_request)
    try:
        booking = services.create_booking(current_user, org, listing, booking_request)
    except services.SlotTaken as exc:
        free = exc.alternatives
        return refused(exc, again=lambda: _review_page(listing, org, booking_request, free))
    except DomainError as exc:
        return refused(exc, again=lambda: _review_page(listing, org, booking_request))
    # Read before the commit expires the booking and the user (the message is in the
    # user's language), so the redirect sends no query.
    booking_id = booking.id
    done = (
        _("Your booking request has been sent to the laboratory.")
        if booking.status == BookingStatus.PENDING
        else _("Your booking is confirmed.")
    )
    commit()
    flash(done, "success")
    return redirect(url_for("booking.booking_page", booking_id=booking_id))


def _review_page(listing, org, booking_request, alternatives=None):
    minutes = int((booking_request.ends_dt - booking_request.starts_dt).total_seconds() // 60)
    return render_template(
        "booking/review.html",
        listing=listing,
        req=booking_request,
        minutes=minutes,
        price=quote(listing, org, minutes, booking_request.sample_count, booking_request.assisted),
        requirement=requirement_for(listing),
        org=org,
        accounts=chargeable_accounts(current_user, org),
        alternatives=alternatives,
        confirm_form=ConfirmForm(),
    )


def _booking(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or not booking.can_view(current_user):
        abort(404)
    return booking


@bp.route("/bookings/<int:booking_id>")
@login_required
def booking_page(booking_id: int):
    return _booking_page(_booking(booking_id))


def _booking_page(booking: Booking, status: int = 200, values=None):
    """The booking page; `values` re-fills the check-in/out form after a refusal."""
    is_lab = booking.is_lab_manager(current_user)
    fee = services.cancellation_terms(booking, by_lab=is_lab) if booking.is_holding else 0
    from sharehub.booking.views.kiosk import kiosk_qr

    return render_template(
        "booking/booking.html",
        booking=booking,
        is_lab=is_lab,
        kiosk=kiosk_qr(booking, current_user),
        fee=fee,
        confirm_form=ConfirmForm(),
        ways=ServiceWay,
        values=values or {},
    ), status


ACTION_FORMS = {
    "decline": DeclineForm,
    "cancel": ReasonForm,
    "check_in": CheckInForm,
    "check_out": CheckOutForm,
    "reschedule": MoveForm,
}


@bp.route(
    "/bookings/<int:booking_id>/<any(approve, decline, cancel, check_in, check_out, "
    "no_show, reschedule):action>",
    methods=["POST"],
)
@login_required
def booking_action(booking_id: int, action: str):
    booking = _booking(booking_id)
    form = ACTION_FORMS.get(action, ConfirmForm)()

    def again():  # nothing changed: the booking page again, with what was typed
        return _booking_page(db.session.get(Booking, booking_id), values=typed(form))

    if not form.validate_on_submit():
        return refuse_form(form, again)
    page = url_for("booking.booking_page", booking_id=booking.id)

    def done(record):
        if action == "check_out" and record is not None:
            flash(
                _(
                    "Checked out: %(minutes)s minutes of use recorded.",
                    minutes=record.effective_minutes,
                ),
                "success",
            )
        else:
            flash(str(DONE_MESSAGES[action]), "success")
        return redirect(page)

    return perform(lambda: _act(action, booking, form), done=done, again=again)


DONE_MESSAGES = {
    "approve": _l("The booking is approved; the customer has been told."),
    "decline": _l("The booking is declined; the customer has been told."),
    "cancel": _l("The booking is cancelled."),
    "check_in": _l("Checked in: the use has started."),
    "check_out": _l("Checked out."),
    "no_show": _l("The booking is marked as a no-show."),
    "reschedule": _l("The booking is moved to its new time."),
}


def _act(action: str, booking: Booking, form):
    if action == "approve":
        services.approve(current_user, booking)
    elif action == "decline":
        services.decline(
            current_user, booking, form.reason.data, for_capacity=form.for_capacity.data
        )
    elif action == "cancel":
        services.cancel(current_user, booking, form.reason.data)
    elif action == "check_in":
        usage.check_in(current_user, booking, form.started.data)
    elif action == "check_out":
        return usage.check_out(
            current_user,
            booking,
            ended=form.ended.data,
            prep_minutes=form.prep_minutes.data,
            run_minutes=form.run_minutes.data,
            post_minutes=form.post_minutes.data,
            samples=form.samples.data,
            service_way=form.service_way.data,
            notes=form.notes.data,
        )
    elif action == "no_show":
        services.mark_no_show(current_user, booking)
    elif action == "reschedule":
        start = form.start.data
        minutes = form.minutes.data or booking.minutes
        services.reschedule(current_user, booking, start, start + timedelta(minutes=minutes))
    return None


@bp.route("/bookings")
@login_required
def my_bookings():
    """The organisation's bookings, newest first, a page at a time; filtered by status and
    by upcoming or past."""
    org = current_org()
    query = (
        sa.select(Booking)
        .where(Booking.customer_org_id == (org.id if org else -1))
        # a staff operator's time shows on the booking it assists
        .where(Booking.assists_booking_id.is_(None))
    )
    status = request.args.get("status", "")
    if status in BookingStatus.__members__.values():
        query = query.where(Booking.status == status)
    else:
        status = ""
    when = request.args.get("when", "")
    now = utcnow()
    if when == "upcoming":
        query = query.where(Booking.ends_dt > now).order_by(Booking.starts_dt.asc(), Booking.id)
    else:
        if when == "past":
            query = query.where(Booking.ends_dt <= now)
        else:
            when = ""
        query = query.order_by(Booking.starts_dt.desc(), Booking.id.desc())
    listing = db.paginate(
        query.options(so.joinedload(Booking.listing), so.joinedload(Booking.unit)),
        per_page=BOOKINGS_PER_PAGE,
        error_out=False,
    )
    unread = messages.unread_counts(current_user, "booking", [b.id for b in listing.items])
    return render_template(
        "booking/list.html",
        bookings=listing.items,
        page=listing,
        status=status,
        when=when,
        statuses=STATUS_LABELS,
        unread_threads=unread,
        title=_("Our bookings"),
    )


BOOKINGS_PER_PAGE = 50


@bp.route("/lab/bookings")
@login_required
def lab_bookings():
    """All units of the lab over a day, a week or a month."""
    org = current_org()
    if org is None or not org.is_lab or not current_user.can_manage(org):
        abort(403)
    zone = user_zone()
    view = request.args.get("view", "week")
    view = view if view in ("day", "week", "month") else "week"
    try:
        anchor = date.fromisoformat(request.args.get("date", request.args.get("week", "")))
    except ValueError:
        anchor = local_today(zone)
    check_date(anchor)
    if view == "day":
        first, count, step = anchor, 1, timedelta(days=1)
    elif view == "week":
        first, count, step = anchor - timedelta(days=anchor.weekday()), 7, timedelta(days=7)
    else:
        first = anchor.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        count, step = (following - first).days, None
    days = [first + timedelta(days=n) for n in range(count)]
    start = datetime.combine(first, time(), zone)
    end = datetime.combine(days[-1] + timedelta(days=1), time(), zone)
    units = db.session.scalars(
        sa.select(Unit)
        .join(Unit.listing)
        .where(Listing.lab_id == org.id)
        .options(so.joinedload(Unit.listing))
        .order_by(Listing.name, Unit.name)
    ).all()
    bookings = (
        list(services.holding_bookings_of([u.id for u in units], start, end)) if units else []
    )
    pending = db.session.scalars(
        sa.select(Booking)
        .join(Booking.listing)
        .where(Listing.lab_id == org.id, Booking.status == BookingStatus.PENDING)
        .order_by(Booking.starts_dt)
    ).all()
    grid: dict = {}
    for b in bookings:
        grid.setdefault((b.unit_id, b.starts_dt.astimezone(zone).date()), []).append(b)
        grid.setdefault(b.starts_dt.astimezone(zone).date(), []).append(b)
    if step is None:
        previous = (first - timedelta(days=1)).replace(day=1)
        following = days[-1] + timedelta(days=1)
    else:
        previous, following = first - step, first + step
    return render_template(
        "booking/lab_calendar.html",
        units=units,
        grid=grid,
        view=view,
        days=days,
        pending=pending,
        previous=previous,
        following=following,
        anchor=anchor,
    )


@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def notifications():
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        db.session.execute(
            sa.update(Notification)
            .where(Notification.user_id == current_user.id, Notification.read_dt.is_(None))
            .values(read_dt=utcnow())
        )
        commit()
        return redirect(url_for("booking.notifications"))
    items = db.session.scalars(
        sa.select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.id.desc())
        .limit(100)
    )
    return render_template(
        "booking/notifications.html", items=items.all(), confirm_form=ConfirmForm()
    )


__all__ = ["bp", "HOLDING"]
