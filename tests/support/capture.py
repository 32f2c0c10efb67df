"""A lab unit with a confirmed booking of a customer's user, a kiosk of its unit, a kiosk
of the listing's second unit and a device (meter) of its unit, with their tokens."""

from __future__ import annotations

import pytest

from sharehub.accounts.models import Role
from sharehub.booking import capture, services
from sharehub.booking.models import BookingStatus, DeviceKind
from tests.support.clock import at, workday


@pytest.fixture
def capture_world(db, lab, lab_manager, make_listing, make_org, make_user):
    firm = make_org(name="检测客户", name_en="Client Co")
    buyer = make_user(firm, email="buyer@example.cn")
    colleague = make_user(firm, email="colleague@example.cn", role=Role.MEMBER)
    listing = make_listing(lab, approval_required=False, units=2)
    day = workday()
    booking = services.create_booking(
        buyer,
        firm,
        listing,
        services.BookingRequest(
            starts_dt=at(day, 8, 30), ends_dt=at(day, 10, 30), unit_id=listing.units[0].id
        ),
    )
    db.session.commit()
    assert booking.status == BookingStatus.CONFIRMED
    kiosk, kiosk_token = capture.issue_device(
        lab_manager, listing.units[0], DeviceKind.KIOSK, "平板"
    )
    other_kiosk, other_token = capture.issue_device(
        lab_manager, listing.units[1], DeviceKind.KIOSK, "平板二"
    )
    meter, meter_token = capture.issue_device(
        lab_manager, listing.units[0], DeviceKind.METER, "电表"
    )
    db.session.commit()
    return {
        "firm": firm,
        "buyer": buyer,
        "colleague": colleague,
        "listing": listing,
        "booking": booking,
        "kiosk": kiosk,
        "kiosk_token": kiosk_token,
        "other_kiosk": other_kiosk,
        "other_token": other_token,
        "meter": meter,
        "meter_token": meter_token,
    }
