"""Factories of commissioned testing (a pytest plugin, see tests/conftest.py): testing
services, accreditation certificates, requests in a given state and an enterprise with
its user, all written through the services or straight to the database."""

from __future__ import annotations

from datetime import timedelta

import pytest


@pytest.fixture
def make_service(db):
    """A published testing service of `lab` (salt spray, GB/T 10125-2021, per sample)."""
    from sharehub.catalog.models import Field, ListingStatus
    from sharehub.core.db import utcnow
    from sharehub.testing.models import ServiceParameter, TestingService, normalize_standard
    from sharehub.testing.services import index_service

    def factory(lab, status=ListingStatus.PUBLISHED, parameters=None, **fields):
        fields.setdefault("name", "中性盐雾试验")
        fields.setdefault("name_en", "Neutral salt spray test")
        fields.setdefault("standard_code", "GB/T 10125-2021")
        fields.setdefault("method", "中性盐雾试验 (NSS)")
        fields.setdefault("field", Field.NEW_MATERIALS)
        fields.setdefault("price_external", 80000)
        fields.setdefault("price_internal", 50000)
        fields.setdefault("standard_days", 10)
        service = TestingService(
            lab=lab,
            status=status,
            published_dt=utcnow(),
            standard_key=normalize_standard(fields["standard_code"]),
            **fields,
        )
        for position, (name, unit) in enumerate(
            parameters or [("外观评级", ""), ("腐蚀速率", "g/(m²·h)")]
        ):
            service.parameters.append(ServiceParameter(position=position, name=name, unit=unit))
        index_service(service)
        db.session.add(service)
        db.session.commit()
        return service

    return factory


@pytest.fixture
def make_certificate(db):
    """A certificate of `lab` valid around the suite's today, covering `scope`."""
    from sharehub.testing.models import AccreditationCertificate, AccreditationKind
    from sharehub.testing.services import add_scope
    from tests.support import clock

    counter = iter(range(1, 1_000_000))

    def factory(lab, kind=AccreditationKind.CMA, scope=(("GB/T 10125-2021", ""),), **fields):
        today = clock.today()
        fields.setdefault("issued_date", today - timedelta(days=365))
        fields.setdefault("valid_until", today + timedelta(days=365))
        certificate = AccreditationCertificate(
            lab_id=lab.id,
            kind=kind,
            number=fields.pop("number", f"{kind.value.upper()}-{next(counter):06d}"),
            **fields,
        )
        for code, parameter in scope:
            add_scope(certificate, code, parameter)
        db.session.add(certificate)
        db.session.commit()
        return certificate

    return factory


@pytest.fixture
def firm(make_org):
    from sharehub.accounts.models import OrgKind

    return make_org(
        kind=OrgKind.ENTERPRISE, name="苏州精密材料有限公司", address="苏州市工业园区1号"
    )


@pytest.fixture
def firm_user(make_user, firm):
    return make_user(firm)


@pytest.fixture
def make_request(db):
    """A request of `user` (of `customer`) for `services`, taken to `state` through the
    services: draft, quoted (standard price), accepted, samples_in_transit, received."""
    from sharehub.testing import orders, samples
    from sharehub.testing.orders import SampleInput

    def factory(user, customer, services, state="quoted", n_samples=2, lab_user=None, **fields):
        request = orders.create_request(
            user,
            customer,
            [s.id for s in services],
            [SampleInput(name=f"样品{i + 1}", model_batch=f"B-{i + 1}") for i in range(n_samples)],
            **fields,
        )
        if state != "draft":
            orders.submit(user, request)
        if state in ("accepted", "samples_in_transit", "received"):
            orders.accept(user, request)
        if state in ("samples_in_transit", "received"):
            samples.ship(
                user, request, delivery="courier", courier="sf", tracking_number="SF1234567890123"
            )
        if state == "received":
            samples.receive(
                lab_user,
                request,
                [samples.ReceiptInput(sample_id=s.id, accepted=True) for s in request.samples],
            )
        db.session.commit()
        return request

    return factory
