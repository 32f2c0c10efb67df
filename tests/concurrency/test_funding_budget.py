"""Two bookings charged to one funding account at the same moment cannot together spend
beyond its budget: the account's row is locked while a booking is charged to it. Real
concurrent sessions (threads released together by a barrier) on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.support import clock
from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND
from tests.support.catalog import WEEKDAY_HOURS
from tests.support.clock import at, workday

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="a PostgreSQL race")


def test_two_bookings_at_once_never_overspend_the_budget(postgres):
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
    from sharehub.booking import funding, services
    from sharehub.booking.models import Booking
    from sharehub.catalog.models import (
        Field,
        Listing,
        ListingKind,
        ListingStatus,
        OpeningInterval,
        PriceUnit,
        Unit,
    )
    from sharehub.catalog.reference import seed_categories
    from sharehub.core.db import utcnow
    from sharehub.extensions import db
    from sharehub.institutions.models import (
        FundingAccount,
        FundingAccountCharger,
        Group,
        GroupKind,
        GroupMember,
    )

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = postgres.create_database("sharehub_funding_budget")

    app = create_app(Config)
    with app.app_context():
        upgrade()
        seed_categories()
        lab = Organisation(kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(880001))
        uni = Organisation(
            kind=OrgKind.ENTERPRISE, name="大学", credit_code=make_credit_code(880002)
        )
        head = User(email="pi@example.cn", name="教授", password_hash="x")
        students = [
            User(email=f"s{n}@example.cn", name=f"学生{n}", password_hash="x") for n in (1, 2)
        ]
        listing = Listing(
            lab=lab,
            kind=ListingKind.EQUIPMENT,
            status=ListingStatus.PUBLISHED,
            name="扫描电镜",
            field=Field.NEW_MATERIALS,
            category_code="020303",
            price_unit=PriceUnit.HOUR,
            price_external=50000,
            price_internal=30000,
            approval_required=False,
            published_dt=utcnow(),
        )
        listing.units.extend(Unit(name=f"#{n + 1}") for n in range(2))
        listing.opening_hours.extend(
            OpeningInterval(weekday=d, start_minute=s, end_minute=e) for d, s, e in WEEKDAY_HOURS
        )
        group = Group(organisation=uni, name="课题组", kind=GroupKind.RESEARCH_GROUP, head=head)
        today = clock.today()
        account = FundingAccount(
            group=group,
            code="GR-1",
            name="基金",
            valid_from=today - timedelta(days=1),
            valid_to=today + timedelta(days=365),
            budget=150_000,  # one booking of 1,060.00 fits, not two
        )
        account.chargers.extend(FundingAccountCharger(user=s) for s in students)
        group.members.extend(GroupMember(user=s) for s in students)
        db.session.add_all(
            [lab, uni, head, listing, group, account, *students]
            + [Membership(user=u, organisation=uni, role=Role.MEMBER) for u in [head, *students]]
        )
        db.session.commit()
        ids = dict(uni=uni.id, listing=listing.id, account=account.id)
        # each student books their own unit: only the budget can refuse one of them
        pairs = [(s.id, u.id) for s, u in zip(students, listing.units, strict=True)]
        db.session.remove()

    day = workday()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def book(student_id, unit_id):
        with app.app_context():
            try:
                student = db.session.get(User, student_id)
                uni = db.session.get(Organisation, ids["uni"])
                listing = db.session.get(Listing, ids["listing"])
                listing.units  # noqa: B018  (loaded before the race)
                barrier.wait(timeout=30)
                services.create_booking(
                    student,
                    uni,
                    listing,
                    services.BookingRequest(
                        at(day, 8, 30),
                        at(day, 10, 30),
                        unit_id=unit_id,
                        funding_account_id=ids["account"],
                    ),
                )
                db.session.commit()
                outcomes.append("ok")
            except Exception as exc:  # the refusal is counted below
                db.session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=book, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    try:
        assert sorted(outcomes) == ["Conflict", "ok"], outcomes
        with app.app_context():
            count = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Booking)
                .where(Booking.funding_account_id == ids["account"])
            )
            assert count == 1
            assert funding.committed(ids["account"]) == 106_000
            assert funding.overspent_accounts() == []
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()
