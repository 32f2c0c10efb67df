"""The booking service: rules, holding states, overlaps refused by the database, fees."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from babel.dates import format_skeleton
from sqlalchemy.exc import IntegrityError, OperationalError

from sharehub.booking import services
from sharehub.booking.models import Booking, BookingStatus
from sharehub.booking.services import BookingRequest, SlotTaken
from sharehub.core.clock import LAB_TZ
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.models import Notification
from sharehub.core.tx import commit
from tests.support import clock
from tests.support.clock import at, is_workday, workday
from tests.support.outbox import run_outbox


def en_day(day):
    """A day as English pages and mail write it (Babel's medium date)."""
    return format_skeleton("yMMMd", day, locale="en")


pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def buyer(make_org, make_user):
    org = make_org(name="采购企业", name_en="Buyer Co")
    return org, make_user(org, email="buyer@example.cn")


def book(buyer, listing, day, start=(8, 30), end=(10, 30), **kw):
    org, user = buyer
    return services.create_booking(
        user, org, listing, BookingRequest(starts_dt=at(day, *start), ends_dt=at(day, *end), **kw)
    )


def test_approval_listing_creates_a_pending_hold_and_instant_confirms(
    db, lab, make_listing, buyer, mailbox
):
    day = workday()
    pending = book(buyer, make_listing(lab, approval_required=True), day)
    assert pending.status == BookingStatus.PENDING and pending.hold_expires_dt is not None
    assert (pending.net_amount, pending.vat_amount, pending.gross_amount) == (100000, 6000, 106000)
    instant = book(buyer, make_listing(lab, name="即时", approval_required=False), day)
    assert instant.status == BookingStatus.CONFIRMED
    commit()  # the people concerned are told after the commit (core/mail.py defer_event)
    run_outbox()  # and by the worker what the factories' own commits stored
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) >= 2


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ((9, 0), (11, 0), "slots"),
        ((8, 30), (9, 30), "lasts from"),
        ((8, 30), (17, 30), "lasts from"),
        ((11, 30), (10, 30), "ends after"),
    ],
)
def test_rules_are_enforced(db, lab, make_listing, buyer, start, end, message):
    listing = make_listing(lab, slot_minutes=60, min_minutes=120, max_minutes=240)
    with pytest.raises(ValidationError, match=message):
        book(buyer, listing, workday(), start, end)


def test_lead_time_and_horizon(db, lab, make_listing, buyer):
    listing = make_listing(lab, lead_hours=72, horizon_days=30)
    day = workday()
    starts, ends = at(day, 8, 30), at(day, 10, 30)
    for hours_before in (71, 1):  # asked less than 72 hours before the start
        with pytest.raises(ValidationError, match="72 hours ahead"):
            services.check_rules(listing, starts, ends, now=starts - timedelta(hours=hours_before))
    services.check_rules(listing, starts, ends, now=starts - timedelta(hours=72))
    with pytest.raises(ValidationError, match="30 days ahead"):
        services.check_rules(listing, starts, ends, now=starts - timedelta(days=31))


def test_closed_time_is_refused_with_alternatives(db, lab, make_listing, buyer):
    listing = make_listing(lab)
    day = workday()
    with pytest.raises(SlotTaken) as caught:
        book(buyer, listing, day, (10, 30), (12, 30))  # runs into the lunch break
    assert caught.value.alternatives
    assert all(b - a == timedelta(hours=2) for a, b in caught.value.alternatives)


def test_second_unit_takes_the_next_booking_and_third_is_refused(db, lab, make_listing, buyer):
    listing = make_listing(lab, units=2)
    day = workday()
    first, second = book(buyer, listing, day), book(buyer, listing, day)
    assert {first.unit_id, second.unit_id} == {u.id for u in listing.units}
    with pytest.raises(SlotTaken) as caught:
        book(buyer, listing, day)
    assert caught.value.alternatives[0][0] >= at(day, 10, 30)


def test_buffer_keeps_bookings_apart(db, lab, make_listing, buyer):
    listing = make_listing(lab, buffer_minutes=30, slot_minutes=30, min_minutes=60)
    day = workday()
    book(buyer, listing, day, (9, 0), (10, 0))
    with pytest.raises(SlotTaken):
        book(buyer, listing, day, (10, 0), (11, 0))
    assert book(buyer, listing, day, (10, 30), (11, 30)).status == BookingStatus.PENDING


def test_database_refuses_overlap_even_without_the_service(db, lab, make_listing, buyer):
    """The constraint itself: a second holding booking over the same range cannot exist."""
    listing = make_listing(lab)
    first = book(buyer, listing, workday())
    db.session.commit()
    clone = Booking(
        uid="clone@sharehub.cn",
        listing_id=listing.id,
        unit_id=first.unit_id,
        customer_org_id=first.customer_org_id,
        starts_dt=first.starts_dt + timedelta(hours=1),
        ends_dt=first.ends_dt + timedelta(hours=1),
        blocked_until_dt=first.ends_dt + timedelta(hours=1),
        status=BookingStatus.CONFIRMED,
        price_tier="external",
        net_amount=0,
        vat_rate_bp=600,
        vat_amount=0,
        gross_amount=0,
    )

    def write(status, uid):
        with db.session.begin_nested():
            clone.status, clone.uid = status, uid
            db.session.add(clone)
            db.session.flush()

    with pytest.raises((IntegrityError, OperationalError)):
        write(BookingStatus.CONFIRMED, "clone@sharehub.cn")
    # a cancelled booking does not hold the slot ...
    write(BookingStatus.CANCELLED, "clone2@sharehub.cn")
    # ... and cannot be revived over a holding one
    with pytest.raises((IntegrityError, OperationalError)):
        write(BookingStatus.CONFIRMED, "clone2@sharehub.cn")


def test_lab_approves_declines_and_customer_cannot(db, lab, lab_manager, make_listing, buyer):
    listing = make_listing(lab)
    day = workday()
    booking = book(buyer, listing, day)
    with pytest.raises(PermissionDenied):
        services.approve(buyer[1], booking)
    services.approve(lab_manager, booking)
    assert booking.status == BookingStatus.CONFIRMED
    with pytest.raises(Conflict):
        services.approve(lab_manager, booking)
    other = book(buyer, listing, day, (13, 30), (15, 30))
    with pytest.raises(ValidationError):
        services.decline(lab_manager, other, "")
    services.decline(lab_manager, other, "设备维护")
    assert other.status == BookingStatus.DECLINED
    # the declined slot is free again
    assert book(buyer, listing, day, (13, 30), (15, 30)).status == BookingStatus.PENDING


def test_cancellation_fee_follows_the_policy_and_lab_refunds_fully(
    db, lab, lab_manager, make_listing, buyer
):
    listing = make_listing(
        lab, approval_required=False, free_cancel_hours=24 * 30, cancel_fee_percent=20
    )
    day = workday()
    early = book(
        buyer,
        make_listing(
            lab, name="宽松", approval_required=False, free_cancel_hours=24, cancel_fee_percent=20
        ),
        day,
    )
    assert services.cancel(buyer[1], early) == 0
    late = book(buyer, listing, day)
    assert services.cancellation_terms(late, by_lab=False) == 21200  # 20 % of 1,060.00
    assert services.cancel(buyer[1], late) == 21200
    assert late.status == BookingStatus.CANCELLED and late.sequence == 1
    by_lab = book(buyer, listing, day)
    assert services.cancel(lab_manager, by_lab) == 0


def test_holds_expire(db, lab, make_listing, buyer):
    booking = book(buyer, make_listing(lab), workday())
    db.session.commit()
    assert services.expire_holds(now=booking.hold_expires_dt - timedelta(seconds=1)) == 0
    assert services.expire_holds(now=booking.hold_expires_dt) == 1
    assert booking.status == BookingStatus.EXPIRED


def test_customer_reschedules_within_policy(db, lab, make_listing, buyer):
    listing = make_listing(lab, approval_required=False)
    day = workday()
    booking = book(buyer, listing, day)
    blocker = book(buyer, listing, day, (14, 30), (16, 30))
    with pytest.raises(SlotTaken):
        services.reschedule(buyer[1], booking, at(day, 14, 30), at(day, 16, 30))
    services.reschedule(buyer[1], booking, at(day, 9, 30), at(day, 11, 30))
    assert (booking.starts_dt, booking.sequence) == (at(day, 9, 30), 1)
    assert blocker.status == BookingStatus.CONFIRMED


def test_suspended_lab_takes_no_bookings(db, lab, make_listing, buyer):
    from sharehub.accounts.models import OrgStatus

    listing = make_listing(lab)
    lab.status = OrgStatus.SUSPENDED
    with pytest.raises(Conflict):
        book(buyer, listing, workday())


def test_multi_day_booking_on_a_round_the_clock_listing(db, lab, make_listing, buyer):
    listing = make_listing(
        lab,
        hours=[(d, 0, 1440) for d in range(7)],
        slot_minutes=60,
        min_minutes=60,
        max_minutes=3 * 1440,
        approval_required=False,
    )
    day = workday()  # three working days in a row (holidays close even this listing)
    while not all(is_workday(day + timedelta(days=k)) for k in range(3)):
        day = workday((day - clock.today()).days + 1)
    org, user = buyer
    booking = services.create_booking(
        user,
        org,
        listing,
        BookingRequest(starts_dt=at(day, 18), ends_dt=at(day + timedelta(days=2), 9)),
    )
    assert booking.minutes == (24 + 15) * 60
    with pytest.raises(SlotTaken):  # overnight overlap on the second night
        services.create_booking(
            user,
            org,
            listing,
            BookingRequest(
                starts_dt=at(day + timedelta(days=1), 22), ends_dt=at(day + timedelta(days=2), 2)
            ),
        )


def test_no_show_only_after_the_start(db, lab, lab_manager, make_listing, buyer):
    listing = make_listing(lab, approval_required=False)
    booking = book(buyer, listing, workday())
    with pytest.raises(ValidationError, match="after the booked start"):
        services.mark_no_show(lab_manager, booking)
    booking.starts_dt -= timedelta(days=30)
    booking.ends_dt -= timedelta(days=30)
    booking.blocked_until_dt -= timedelta(days=30)
    services.mark_no_show(lab_manager, booking)
    assert booking.status == BookingStatus.NO_SHOW


def _weekday_holiday(year: int = 2027) -> date:
    """A day off of the official schedule that falls on a weekday (the lab's usual hours
    would open it)."""
    import holidays

    return next(d for d in sorted(holidays.China(years=year)) if d.weekday() < 5)


def test_a_public_holiday_is_refused_as_a_closed_day(db, lab, make_listing):
    listing = make_listing(lab)
    day = _weekday_holiday()
    now = at(day - timedelta(days=20), 9)
    with pytest.raises(ValidationError) as caught:
        services.check_rules(listing, at(day, 8, 30), at(day, 10, 30), now=now)
    message = str(caught.value.message)
    assert f"{en_day(day)} is a public holiday; the laboratory is closed" in message
    assert "slots" not in message
    saturday = day + timedelta(days=(5 - day.weekday()) % 7)
    while saturday in _holiday_days(saturday.year):
        saturday += timedelta(days=7)
    with pytest.raises(ValidationError, match=f"closed on {en_day(saturday)}"):
        services.check_rules(listing, at(saturday, 8, 30), at(saturday, 10, 30), now=now)
    # a working day at an unaligned time still gets the slot message
    monday = saturday + timedelta(days=2)
    while monday in _holiday_days(monday.year):
        monday += timedelta(days=7)
    with pytest.raises(ValidationError, match="slots"):
        services.check_rules(listing, at(monday, 8, 45), at(monday, 10, 45), now=now)


def _holiday_days(year: int) -> set[date]:
    import holidays

    calendar = holidays.China(years=year)
    return set(calendar) | set(getattr(calendar, "weekend_workdays", ()))


def test_the_reminder_names_the_start_and_skips_bookings_made_just_before(
    db, lab, make_listing, buyer
):
    listing = make_listing(lab, approval_required=False)
    day = workday()
    late = book(buyer, listing, day, (8, 30), (10, 30))
    early = book(buyer, listing, day, (13, 30), (15, 30))
    late.created_dt = late.starts_dt - timedelta(hours=3)  # booked 3 h ahead
    early.created_dt = early.starts_dt - timedelta(days=3)
    db.session.commit()
    now = late.starts_dt - timedelta(hours=2, minutes=30)
    assert services.send_reminders(now=now) == 1
    db.session.expire_all()
    assert db.session.get(Booking, late.id).reminder_sent_dt is None
    assert db.session.get(Booking, early.id).reminder_sent_dt is not None
    texts = db.session.scalars(
        sa.select(Notification.text).where(Notification.link.endswith(f"/{early.id}"))
    ).all()
    reminder = next(t for t in texts if f"{early.starts_dt.astimezone(LAB_TZ):%Y-%m-%d %H:%M}" in t)
    assert "24" not in reminder.replace(f"#{early.id}", "").replace(
        f"{early.starts_dt.astimezone(LAB_TZ):%Y-%m-%d %H:%M}", ""
    )
