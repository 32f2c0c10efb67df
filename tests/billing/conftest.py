"""Fixtures of the billing tests."""

import pytest

from sharehub.booking import services as booking_services
from tests.support.clock import at, workday


@pytest.fixture
def booked(db, lab, make_listing, make_org, make_user):
    lab.bank_name, lab.bank_account = "中国银行苏州分行", "5301 0000 1234 5678"
    customer = make_org(name="苏州精密制造有限公司")
    user = make_user(customer, email="buyer@example.cn")
    listing = make_listing(
        lab, name="电感耦合等离子体发射光谱仪", approval_required=False, price_external=49999
    )
    booking = booking_services.create_booking(
        user,
        customer,
        listing,
        booking_services.BookingRequest(
            starts_dt=at(workday(), 8, 30), ends_dt=at(workday(), 10, 30)
        ),
    )
    db.session.commit()
    return booking
