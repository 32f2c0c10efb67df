"""The demo's certificates: every instrument unit has one, a real PDF; on the demo lab's
instruments one falls due within the month and one is overdue, flagged."""

from __future__ import annotations

import pytest

from sharehub.accounts.models import Role
from sharehub.calibration import queries
from sharehub.calibration.models import Fitness
from sharehub.catalog.models import ListingKind
from sharehub.core.uploads import sniff_document
from sharehub.demo.calibration import DEMO_LAB_MANAGER, seed_demo_calibration


@pytest.fixture
def demo_lab(lab, make_user, make_listing):
    make_user(lab, role=Role.MANAGER, email=DEMO_LAB_MANAGER)
    listings = [
        make_listing(lab, name="扫描电镜", units=2),
        make_listing(lab, name="盐雾试验箱"),
        make_listing(lab, name="拉力试验机"),
        make_listing(lab, name="专家", kind=ListingKind.EXPERT),
    ]
    return listings


def test_demo_certificates(db, demo_lab, storage_dir):
    assert seed_demo_calibration() == 4  # the expert is no instrument
    soon, overdue, plain, _expert = demo_lab
    assert queries.unit_status(soon.units[0]).fitness == Fitness.DUE_SOON
    assert queries.unit_status(soon.units[1]).fitness == Fitness.VALID
    assert queries.unit_status(overdue.units[0]).fitness == Fitness.OVERDUE
    assert not queries.blocks_unfit(overdue) and queries.policy_of(overdue) is not None
    assert queries.unit_status(plain.units[0]).fitness == Fitness.VALID
    certificate = queries.unit_status(plain.units[0]).certificate
    assert sniff_document((storage_dir / certificate.stored_name).read_bytes()) == (
        "application/pdf"
    )
