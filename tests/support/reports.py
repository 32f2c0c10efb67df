"""Report fixtures (a pytest plugin, see tests/conftest.py): a testing order whose sample
the lab has received, with a salt-spray service of two parameters (one measured with a
unit, one judged by eye), the lab's CMA certificate covering its standard, and the
three people of the lab who sign reports."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support import clock

STANDARD = "GB/T 10125-2021"


@pytest.fixture
def salt_spray(db, lab):
    from sharehub.catalog.models import Field, ListingStatus
    from sharehub.testing.models import ServiceParameter, TestingService, standard_parts

    service = TestingService(
        lab=lab,
        status=ListingStatus.PUBLISHED,
        name="中性盐雾试验",
        name_en="Neutral salt spray test",
        standard_code=STANDARD,
        standard_key="".join(standard_parts(STANDARD)),
        method="NSS",
        field=Field.NEW_MATERIALS,
        price_internal=50000,
        price_external=80000,
    )
    service.parameters = [
        ServiceParameter(
            name="腐蚀速率", name_en="Corrosion rate", unit="g/m2", limit_text="≤ 0.5", position=0
        ),
        ServiceParameter(
            name="外观", name_en="Appearance", unit="", limit_text="无红锈", position=1
        ),
    ]
    db.session.add(service)
    db.session.commit()
    return service


@pytest.fixture
def make_order(db, lab, make_org, make_user, salt_spray):
    """An order of `salt_spray` with received samples (numbered as the lab numbers them)."""
    from sharehub.testing.models import (
        RequestItem,
        RequestStatus,
        Sample,
        SampleStatus,
        TestingRequest,
    )

    counter = iter(range(1, 10_000))

    def factory(customer=None, buyer=None, samples=("涂层钢板A",), status=RequestStatus.RECEIVED):
        customer = customer or make_org(name="委托企业", name_en="Customer Co")
        buyer = buyer or make_user(customer, email=f"buyer{next(counter)}@customer.cn")
        order = TestingRequest(
            lab=lab,
            customer_org=customer,
            created_by=buyer,
            status=status,
            title="盐雾试验",
            total_fen=80000,
        )
        order.items = [RequestItem(service=salt_spray)]
        year = clock.today().year
        for n, name in enumerate(samples):
            seq = next(counter)
            order.samples.append(
                Sample(
                    lab_id=lab.id,
                    position=n,
                    name=name,
                    status=SampleStatus.RECEIVED,
                    year=year,
                    sequence=seq,
                    code=f"YP{lab.id:04d}-{year}-{seq:05d}",
                )
            )
        db.session.add(order)
        db.session.commit()
        return order

    return factory


@pytest.fixture
def order(make_order):
    return make_order()


@pytest.fixture
def cma(db, lab):
    """The lab's CMA certificate, valid around the suite's today, covering the standard."""
    from sharehub.testing.models import (
        AccreditationCertificate,
        AccreditationKind,
        AccreditationScope,
        standard_parts,
    )

    number, year = standard_parts(STANDARD)
    certificate = AccreditationCertificate(
        lab=lab,
        kind=AccreditationKind.CMA,
        number="CMA 2021000001",
        issued_date=clock.today() - timedelta(days=365),
        valid_until=clock.today() + timedelta(days=365),
    )
    certificate.scope = [
        AccreditationScope(
            standard_code=STANDARD, standard_number=number, standard_year=year, parameter=""
        )
    ]
    db.session.add(certificate)
    db.session.commit()
    return certificate


@pytest.fixture
def signers(lab, lab_manager, make_user):
    """Preparer (a member), reviewer (a member) and approver (the lab's manager)."""
    from sharehub.accounts.models import Role

    return (
        make_user(lab, role=Role.MEMBER, name="编制人"),
        make_user(lab, role=Role.MEMBER, name="审核人"),
        lab_manager,
    )


def good_rows(order, rate="0.32", verdict="pass"):
    from sharehub.testing.reports import ResultRow

    rows = []
    for sample in order.samples:
        rows.append(
            ResultRow(sample=sample.code, parameter="腐蚀速率", value=rate, verdict=verdict)
        )
        rows.append(ResultRow(sample=sample.code, parameter="外观", value="无红锈", verdict="合格"))
    return rows


def signed_draft(order, signers, rows=None):
    """A draft report of `order` with results and its three signatures (flushed)."""
    from sharehub.testing import reports
    from sharehub.testing.report_models import SIGN_ORDER

    report = reports.start_report(signers[0], order)
    reports.set_results(signers[0], report, rows or good_rows(order))
    for person, role in zip(signers, SIGN_ORDER, strict=True):
        reports.sign(person, report, role)
    return report


def issued_report(db, order, signers, rows=None):
    from sharehub.core.tx import commit
    from sharehub.testing import reports

    report = reports.issue(signers[2], signed_draft(order, signers, rows))
    commit()  # the mail to the customer goes after the commit
    return report
