"""Voucher fixtures: an authority with its programme, an issued invoice of the billing
tests' booked fixture, and a served order (voucher applied, rest paid, booking completed)."""

from datetime import date

import pytest

from sharehub.accounts.models import OrgKind, Role
from sharehub.billing import payments
from sharehub.billing import services as billing
from sharehub.booking import services as booking_services
from sharehub.booking import usage
from sharehub.vouchers import services
from tests.billing.conftest import booked  # noqa: F401  (a fixture)
from tests.support import clock
from tests.support.clock import at, workday

YEAR = clock.today().year


@pytest.fixture
def authority(make_org, make_user):
    org = make_org(kind=OrgKind.AUTHORITY, name="苏州市科学技术局", name_en="Suzhou S&T Bureau")
    return org, make_user(org, role=Role.MANAGER)


@pytest.fixture
def officer(authority):
    return authority[1]


@pytest.fixture
def programme(db, authority):
    org, officer = authority
    programme = services.create_programme(
        officer,
        org,
        name="2026年苏州科技创新券",
        subsidy_bp=5000,
        yearly_cap=50_000_00,
        order_cap=400_00,
        valid_from=date(YEAR, 1, 1),
        valid_to=date(YEAR, 12, 31),
    )
    db.session.commit()
    return programme


@pytest.fixture
def invoice(db, booked, lab_manager):  # noqa: F811
    invoice = billing.invoice_from_booking(lab_manager, booked)
    billing.issue(lab_manager, invoice)
    db.session.commit()
    return invoice


@pytest.fixture
def make_invoice(db, booked, lab_manager):  # noqa: F811
    """Another issued invoice of the same customer: one hour of the same listing (529.99)."""

    def factory(hour: int = 13):
        booking = booking_services.create_booking(
            booked.customer_user,
            booked.customer_org,
            booked.listing,
            booking_services.BookingRequest(
                starts_dt=at(workday(), hour, 30), ends_dt=at(workday(), hour + 1, 30)
            ),
        )
        invoice = billing.invoice_from_booking(lab_manager, booking)
        billing.issue(lab_manager, invoice)
        db.session.commit()
        return invoice

    return factory


@pytest.fixture
def buyer(booked):  # noqa: F811
    return booked.customer_user


@pytest.fixture
def quota(db, programme, officer, booked):  # noqa: F811
    quota = services.apply_for_quota(
        booked.customer_user, booked.customer_org, programme, YEAR, 10_000_00
    )
    services.grant_quota(officer, quota, 10_000_00)
    db.session.commit()
    return quota


def serve(db, use, lab_manager):
    """The customer pays the rest by bank transfer and the lab completes the booking, so the
    voucher use can be claimed."""
    invoice = use.invoice
    payments.record_bank_transfer(lab_manager, invoice, invoice.outstanding, clock.today(), "")
    booking = invoice.booking
    usage.check_in(lab_manager, booking, at=booking.starts_dt, now=booking.starts_dt)
    usage.check_out(lab_manager, booking, ended=booking.ends_dt, now=booking.ends_dt)
    db.session.commit()
    return use


@pytest.fixture
def served_use(db, quota, invoice, buyer, lab_manager):
    use = services.use_voucher(buyer, quota, invoice)
    db.session.commit()
    return serve(db, use, lab_manager)


@pytest.fixture
def login_as(client, login):
    """Sign out whoever is signed in, then sign in as this user."""

    def do(user):
        client.post("/account/signout")
        return login(user)

    return do
