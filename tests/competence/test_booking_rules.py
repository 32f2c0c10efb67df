"""The booking service applies the competence rule: a self-operated booking needs an
authorisation to operate alone valid at its start; otherwise the booking comes with a staff
operator, whose time is booked on the lab's staff calendar and charged as the listing says."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.booking import services
from sharehub.booking.models import Booking, BookingStatus
from sharehub.competence.models import Authorisation, Level
from sharehub.competence.services import NotAuthorised, check_operator, expiry_of
from sharehub.core.clock import LAB_TZ
from tests.support.clock import at, today, travel, workday

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def world(competence_world):
    return competence_world


def _request(day, assisted=False):
    """09:30–11:30, two slots of the listing's opening hours (08:30–12:00)."""
    return services.BookingRequest(
        starts_dt=at(day, 9, 30), ends_dt=at(day, 11, 30), assisted=assisted
    )


def _count(db, model=Booking):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_self_operated_booking_without_authorisation_is_refused_with_the_way_to_training(db, world):
    before = _count(db)
    with pytest.raises(NotAuthorised) as refused:
        services.create_booking(world.buyer, world.firm, world.instrument, _request(workday()))
    message = str(refused.value.message)
    assert "not authorised to operate" in message
    assert "staff operator" in message and "ICP-OES 上机培训" in message
    assert refused.value.status == 403
    assert _count(db) == before


def test_an_authorised_user_books_alone(db, world, authorise):
    authorise(world, world.buyer)
    booking = services.create_booking(
        world.buyer, world.firm, world.instrument, _request(workday())
    )
    assert not booking.assisted and booking.operators == []
    assert booking.net_amount == 100000  # 2 h × ¥500, no operator


def test_an_assisted_only_level_does_not_operate_alone(db, world, authorise):
    authorise(world, world.buyer, level=Level.ASSISTED)
    with pytest.raises(NotAuthorised):
        services.create_booking(world.buyer, world.firm, world.instrument, _request(workday()))


def test_an_authorisation_that_ends_before_the_start_does_not_count(db, world, authorise):
    authorisation = authorise(world, world.buyer)
    late = authorisation.expires_dt.astimezone(LAB_TZ).date() + timedelta(days=1)
    with pytest.raises(NotAuthorised) as refused:
        check_operator(world.buyer, world.instrument, at(late, 10), assisted=False)
    assert "expires before" in str(refused.value.message)


def test_expiry_is_midnight_beijing_time_at_the_end_of_the_validity(db, world, authorise):
    granted = at(workday(), 15)  # a fixed day, 15:00 Beijing (07:00 UTC)
    authorisation = authorise(world, world.buyer, now=granted)
    last_day = (granted + timedelta(days=366)).date()
    expected_end = expiry_of(granted, 12)
    assert authorisation.expires_dt == expected_end
    assert expected_end.astimezone(LAB_TZ).time().isoformat() == "00:00:00"
    assert expected_end.astimezone(LAB_TZ).date().replace(year=granted.year) == granted.date()
    last_day = (expected_end - timedelta(minutes=1)).astimezone(LAB_TZ)
    with travel(last_day.replace(hour=23, minute=59)):
        assert authorisation.is_current
        assert check_operator(
            world.buyer, world.instrument, last_day.replace(hour=23, minute=59), False
        )
    with travel(expected_end):
        assert not authorisation.is_current
        with pytest.raises(NotAuthorised):
            check_operator(world.buyer, world.instrument, expected_end, False)


def test_an_assisted_booking_books_the_staff_operator_and_charges_the_assisted_rate(db, world):
    booking = services.create_booking(
        world.buyer, world.firm, world.instrument, _request(workday(), assisted=True)
    )
    db.session.commit()
    assert booking.assisted
    # 2 h × ¥500 for the instrument + 2 h × ¥120 for the operator, VAT 6 %
    assert booking.assisted_amount == 24000
    assert booking.net_amount == 124000
    assert booking.vat_amount == 7440 and booking.gross_amount == 131440
    [operator] = booking.operators
    assert operator.unit.listing_id == world.staff.id
    assert (operator.starts_dt, operator.ends_dt) == (booking.starts_dt, booking.ends_dt)
    assert operator.status == BookingStatus.CONFIRMED and operator.gross_amount == 0


def test_a_staff_operator_is_not_booked_twice(db, world, make_user):
    day = workday()
    services.create_booking(world.buyer, world.firm, world.instrument, _request(day, True))
    db.session.commit()
    other = make_user(world.firm, email="colleague@example.cn")
    before = _count(db)
    # The instrument has a second unit free, but the one operator is taken.
    with pytest.raises(services.OperatorTaken) as refused:
        services.create_booking(other, world.firm, world.instrument, _request(day, True))
    assert refused.value.status == 409
    assert "No staff operator is free" in str(refused.value.message)
    db.session.rollback()
    assert _count(db) == before


def test_cancelling_an_assisted_booking_frees_the_operator(db, world):
    booking = services.create_booking(
        world.buyer, world.firm, world.instrument, _request(workday(), True)
    )
    services.cancel(world.buyer, booking)
    db.session.commit()
    assert booking.operators[0].status == BookingStatus.CANCELLED
    again = services.create_booking(
        world.buyer, world.firm, world.instrument, _request(workday(), True)
    )
    assert again.operators[0].unit_id == booking.operators[0].unit_id


def test_the_operators_time_cannot_be_changed_apart_from_its_booking(db, world):
    booking = services.create_booking(
        world.buyer, world.firm, world.instrument, _request(workday(), True)
    )
    operator = booking.operators[0]
    with pytest.raises(Exception) as refused:
        services.cancel(world.buyer, operator)
    assert refused.value.status == 409
    assert operator.status == BookingStatus.CONFIRMED


def test_a_listing_that_requires_assistance_refuses_even_authorised_users_alone(
    db, world, authorise
):
    authorise(world, world.buyer)
    world.requirement.assistance_required = True
    db.session.commit()
    with pytest.raises(NotAuthorised) as refused:
        services.create_booking(world.buyer, world.firm, world.instrument, _request(workday()))
    assert "operated only by the laboratory's staff" in str(refused.value.message)
    booking = services.create_booking(
        world.buyer, world.firm, world.instrument, _request(workday(), True)
    )
    assert booking.assisted


def test_a_listing_without_requirement_books_as_before_and_offers_no_operator(
    db, world, make_listing
):
    plain = make_listing(world.lab, name="万能试验机", approval_required=False)
    assert services.create_booking(world.buyer, world.firm, plain, _request(workday()))
    with pytest.raises(services.ValidationError):
        services.create_booking(world.buyer, world.firm, plain, _request(workday(), True))


def test_rescheduling_past_the_expiry_is_refused(db, world, authorise):
    authorisation = authorise(world, world.buyer)
    booking = services.create_booking(
        world.buyer, world.firm, world.instrument, _request(workday())
    )
    db.session.commit()
    end = authorisation.expires_dt.astimezone(LAB_TZ).date()
    late = workday((end - today()).days + 1)
    world.instrument.horizon_days = 800
    with pytest.raises(NotAuthorised):
        services.reschedule(world.buyer, booking, at(late, 9, 30), at(late, 11, 30))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Authorisation)) == 1


def test_the_invoice_shows_the_operator_on_its_own_line(db, world):
    from sharehub.billing.services import invoice_from_booking

    booking = services.create_booking(
        world.buyer, world.firm, world.instrument, _request(workday(), True)
    )
    invoice = invoice_from_booking(world.manager, booking)
    service, operator = invoice.lines
    assert (service.net, operator.net) == (100000, 24000)
    assert "Staff operator" in operator.description and operator.unit_price == 12000
    assert service.vat + operator.vat == booking.vat_amount
    assert invoice.gross_total == booking.gross_amount


def test_the_operator_follows_its_booking_through_approval_and_moves(db, world):
    world.instrument.approval_required = True
    db.session.commit()
    booking = services.create_booking(
        world.buyer, world.firm, world.instrument, _request(workday(), True)
    )
    [operator] = booking.operators
    assert booking.status == operator.status == BookingStatus.PENDING
    services.approve(world.manager, booking)
    assert operator.status == BookingStatus.CONFIRMED
    later = workday(12)
    services.reschedule(world.buyer, booking, at(later, 13, 30), at(later, 15, 30))
    db.session.commit()
    assert (operator.starts_dt, operator.ends_dt) == (at(later, 13, 30), at(later, 15, 30))
    assert booking.assisted_amount == 24000


def test_an_expired_request_expires_its_operator_with_it(db, world):
    world.instrument.approval_required = True
    db.session.commit()
    booking = services.create_booking(
        world.buyer, world.firm, world.instrument, _request(workday(), True)
    )
    db.session.commit()
    assert services.expire_holds(booking.hold_expires_dt + timedelta(minutes=1)) == 1
    assert booking.status == booking.operators[0].status == BookingStatus.EXPIRED
