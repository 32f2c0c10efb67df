"""Fixtures of the supervision tests: a regulator, a customer, bookings ahead."""

from __future__ import annotations

import pytest

from tests.support.clock import at


@pytest.fixture
def regulator(make_org, make_user):
    from sharehub.accounts.models import OrgKind

    authority = make_org(kind=OrgKind.AUTHORITY, name="苏州市市场监督管理局")
    return make_user(authority, email="regulator@example.cn")


@pytest.fixture
def buyer(make_org, make_user):
    org = make_org(name="采购企业", name_en="Buyer Co")
    return org, make_user(org, email="buyer@example.cn")


@pytest.fixture
def book(db):
    from sharehub.booking import services
    from sharehub.booking.services import BookingRequest

    def do(buyer, listing, day, start=(8, 30), end=(10, 30)):
        org, user = buyer
        booking = services.create_booking(
            user, org, listing, BookingRequest(starts_dt=at(day, *start), ends_dt=at(day, *end))
        )
        db.session.commit()
        return booking

    return do
