"""Fixtures of the fapiao tests: an issued statement, the customer's invoice profile, a
request and an issued fapiao."""

import pytest

from sharehub.fapiao import services
from sharehub.fapiao.models import FapiaoKind
from tests.support.accounts import make_credit_code
from tests.support.billing import issued_for
from tests.support.clock import today
from tests.support.fapiao import NUMBER, fapiao_pdf


@pytest.fixture
def statement(db, booked, lab_manager):
    booked.listing.model = "Agilent 5110"
    invoice = issued_for(lab_manager, booked)
    db.session.commit()
    return invoice


@pytest.fixture
def customer(booked):
    return booked.customer_user


@pytest.fixture
def profile(db, customer, booked):
    profile = services.save_profile(
        customer,
        booked.customer_org,
        services.ProfileData(
            kind=FapiaoKind.NORMAL,
            title="苏州精密制造有限公司",
            tax_id=make_credit_code(5151),
            email="fapiao@example.cn",
        ),
    )
    db.session.commit()
    return profile


@pytest.fixture
def fapiao_request(db, statement, profile, customer):
    request = services.request_fapiao(customer, statement, profile)
    db.session.commit()
    return request


@pytest.fixture
def issued_fapiao(db, fapiao_request, lab_manager, storage_dir):
    fapiao = services.attach_fapiao(
        lab_manager, fapiao_request, fapiao_pdf(), "fapiao.pdf", NUMBER, today()
    )
    db.session.commit()
    return fapiao
