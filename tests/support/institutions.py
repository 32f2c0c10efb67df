"""A university buying as an institution (a pytest plugin, see tests/conftest.py): its
owner, a research group with its head (PI) and a student, a funding account the student
may charge, a lab with an instrument, another firm and a regulator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.support import clock


@dataclass
class Campus:
    university: object
    owner: object
    head: object
    student: object
    bystander: object  # a member of the university outside the group
    group: object
    account: object
    lab: object
    listing: object
    outsider: object  # a user of another firm
    regulator: object


@pytest.fixture
def campus(db, lab, make_org, make_user, make_listing):
    from sharehub.accounts.models import OrgKind, Role
    from sharehub.institutions import services
    from sharehub.institutions.models import GroupKind

    university = make_org(name="苏州测试大学", name_en="Test University")
    owner = make_user(university, email="owner@uni.example.cn")
    head = make_user(university, role=Role.MEMBER, email="pi@uni.example.cn", name="王教授")
    student = make_user(university, role=Role.MEMBER, email="student@uni.example.cn")
    bystander = make_user(university, role=Role.MEMBER, email="bystander@uni.example.cn")
    group = services.create_group(
        owner, university, name="材料课题组", kind=GroupKind.RESEARCH_GROUP, head=head
    )
    services.add_member(head, group, student)
    today = clock.today()
    account = services.save_account(
        head,
        group,
        None,
        code="GR-2026-001",
        name="国家自然科学基金",
        valid_from=today - timedelta(days=30),
        valid_to=today + timedelta(days=365),
        budget=500_000,  # 5,000.00 yuan
        charger_ids=[student.id],
    )
    listing = make_listing(lab, approval_required=False)
    other = make_org(name="另一家企业", name_en="Other Firm")
    authority = make_org(kind=OrgKind.AUTHORITY, name="市场监管局", name_en="Regulator")
    db.session.commit()
    return Campus(
        university=university,
        owner=owner,
        head=head,
        student=student,
        bystander=bystander,
        group=group,
        account=account,
        lab=lab,
        listing=listing,
        outsider=make_user(other, email="outsider@example.cn"),
        regulator=make_user(authority, email="regulator@example.cn"),
    )
