"""Factories of laboratories and listings (a pytest plugin, see tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def lab(make_org):
    from sharehub.accounts.models import OrgKind

    return make_org(
        kind=OrgKind.LAB, name="测试实验室", name_en="Test Lab", cnas_number="CNAS L0001"
    )


@pytest.fixture
def lab_manager(make_user, lab):
    from sharehub.accounts.models import Role

    return make_user(lab, role=Role.MANAGER)


WEEKDAY_HOURS = [(d, 510, 720) for d in range(5)] + [(d, 810, 1050) for d in range(5)]


@pytest.fixture
def make_listing(db):
    """A listing written straight to the database (published unless told otherwise)."""
    from sharehub.catalog.models import (
        Field,
        Listing,
        ListingKind,
        ListingStatus,
        OpeningInterval,
        PriceUnit,
        Unit,
    )
    from sharehub.catalog.search import index_fields
    from sharehub.core.db import utcnow

    def factory(
        lab,
        name="电感耦合等离子体发射光谱仪",
        kind=ListingKind.EQUIPMENT,
        status=ListingStatus.PUBLISHED,
        units=1,
        hours=WEEKDAY_HOURS,
        **fields,
    ):
        fields.setdefault("field", Field.NEW_MATERIALS)
        fields.setdefault("category_code", "020303")
        fields.setdefault("price_unit", PriceUnit.HOUR)
        fields.setdefault("price_external", 50000)
        fields.setdefault("price_internal", 30000)
        listing = Listing(
            lab=lab, kind=kind, status=status, name=name, published_dt=utcnow(), **fields
        )
        for n in range(units if kind != ListingKind.DATASET else 0):
            listing.units.append(Unit(name=f"#{n + 1}"))
        for weekday, start, end in hours if kind != ListingKind.DATASET else []:
            listing.opening_hours.append(
                OpeningInterval(weekday=weekday, start_minute=start, end_minute=end)
            )
        index_fields(listing)
        db.session.add(listing)
        db.session.commit()
        return listing

    return factory
