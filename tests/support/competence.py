"""Competence fixtures (a pytest plugin, see tests/conftest.py): a lab whose ICP spectrometer needs
an authorisation (a course and a test, 12 months), its staff calendar with one operator, its
trainers' calendar, and a buyer."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


@pytest.fixture
def competence_world(db, lab, lab_manager, make_listing, make_org, make_user):
    from sharehub.catalog.models import ListingKind
    from sharehub.competence.services import save_requirement

    instrument = make_listing(
        lab, approval_required=False, units=2, price_external=50000, assisted_rate=12000
    )
    staff = make_listing(lab, name="技术员机时", kind=ListingKind.EXPERT, units=1)
    trainers = make_listing(lab, name="上机培训", kind=ListingKind.EXPERT, units=1)
    requirement = save_requirement(
        lab_manager,
        lab,
        name="ICP 上机资格",
        validity_months=12,
        course="ICP-OES 上机培训",
        pass_score=80,
        listing_ids=[instrument.id],
        staff_listing_id=staff.id,
        trainer_listing_id=trainers.id,
    )
    db.session.commit()
    firm = make_org(name="苏州精密制造有限公司", name_en="Suzhou Precision")
    buyer = make_user(firm, email="buyer@example.cn")
    return SimpleNamespace(
        lab=lab,
        manager=lab_manager,
        instrument=instrument,
        staff=staff,
        trainers=trainers,
        requirement=requirement,
        firm=firm,
        buyer=buyer,
    )


@pytest.fixture
def authorise(db):
    """Record a passed training for `user` and authorise them (as the lab's manager)."""
    from decimal import Decimal

    from sharehub.competence.models import Level
    from sharehub.competence.services import record_completion

    def do(world, user, level=Level.INDEPENDENT, now=None):
        _record, authorisation = record_completion(
            world.manager, world.requirement, user, score=Decimal("92.5"), level=level, now=now
        )
        db.session.commit()
        return authorisation

    return do
