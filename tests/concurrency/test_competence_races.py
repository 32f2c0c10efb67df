"""Two staff authorising the same person at once, and a double-submitted assisted booking:
one wins, the other gets a clear refusal; one current authorisation, one staff operator's
time. Real concurrent sessions (threads released together by a barrier) on PostgreSQL,
where they truly overlap (row locks, the partial unique index, the exclusion constraint)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND
from tests.support.catalog import WEEKDAY_HOURS
from tests.support.clock import at, workday

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="a PostgreSQL race")


class World:
    """A lab with two managers, an instrument of two units that needs an authorisation,
    a staff calendar with one operator, and a firm's buyer."""

    def __init__(self, postgres, name: str):
        from flask_migrate import upgrade

        from config import TestConfig
        from sharehub import create_app
        from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
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
        from sharehub.competence.services import save_requirement
        from sharehub.core.db import utcnow
        from sharehub.extensions import db

        class Config(TestConfig):
            SQLALCHEMY_DATABASE_URI = postgres.create_database(name)

        self.app = create_app(Config)
        self.db = db
        with self.app.app_context():
            upgrade()
            seed_categories()
            lab = Organisation(
                kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(770001)
            )
            firm = Organisation(
                kind=OrgKind.ENTERPRISE, name="企业", credit_code=make_credit_code(770002)
            )
            managers = [
                User(email=f"manager{n}@example.cn", name=f"管理员{n}", password_hash="x")
                for n in (1, 2)
            ]
            buyer = User(email="buyer@example.cn", name="买家", password_hash="x")

            def listing(name, kind, units):
                made = Listing(
                    lab=lab,
                    kind=kind,
                    status=ListingStatus.PUBLISHED,
                    name=name,
                    field=Field.NEW_MATERIALS,
                    category_code="020303",
                    price_unit=PriceUnit.HOUR,
                    price_external=50000,
                    price_internal=30000,
                    assisted_rate=12000,
                    approval_required=False,
                    published_dt=utcnow(),
                )
                made.units.extend(Unit(name=f"#{n + 1}") for n in range(units))
                made.opening_hours.extend(
                    OpeningInterval(weekday=d, start_minute=s, end_minute=e)
                    for d, s, e in WEEKDAY_HOURS
                )
                return made

            instrument = listing("电感耦合等离子体发射光谱仪", ListingKind.EQUIPMENT, 2)
            staff = listing("技术员机时", ListingKind.EXPERT, 1)
            db.session.add_all(
                [lab, firm, buyer, instrument, staff, *managers]
                + [Membership(user=m, organisation=lab, role=Role.MANAGER) for m in managers]
                + [Membership(user=buyer, organisation=firm, role=Role.OWNER)]
            )
            db.session.flush()
            requirement = save_requirement(
                managers[0],
                lab,
                name="ICP 上机资格",
                validity_months=12,
                listing_ids=[instrument.id],
                staff_listing_id=staff.id,
            )
            db.session.commit()
            self.ids = dict(
                lab=lab.id,
                firm=firm.id,
                buyer=buyer.id,
                managers=[m.id for m in managers],
                instrument=instrument.id,
                staff=staff.id,
                requirement=requirement.id,
            )
            db.session.remove()

    def __call__(self, work, arguments) -> list[str]:
        barrier = threading.Barrier(len(arguments))
        outcomes: list[str] = []

        def run(argument):
            with self.app.app_context():
                try:
                    work(barrier, argument)
                    self.db.session.commit()
                    outcomes.append("ok")
                except threading.BrokenBarrierError:
                    outcomes.append("barrier")
                except Exception as exc:  # the refusals are counted by the tests
                    self.db.session.rollback()
                    outcomes.append(type(exc).__name__)
                finally:
                    self.db.session.remove()

        threads = [threading.Thread(target=run, args=(a,)) for a in arguments]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
        return sorted(outcomes)

    def scalar(self, query):
        with self.app.app_context():
            value = self.db.session.scalar(query)
            self.db.session.remove()
        return value

    def close(self):
        with self.app.app_context():
            self.db.session.remove()
            self.db.engine.dispose()


@pytest.fixture
def world(postgres, request):
    world = World(postgres, f"sharehub_{request.node.name[5:40]}".replace("[", "_")[:60])
    yield world
    world.close()


def _grant(world, barrier, manager_id):
    from sharehub.accounts.models import User
    from sharehub.competence.models import Level, Requirement
    from sharehub.competence.services import grant

    session = world.db.session
    requirement = session.get(Requirement, world.ids["requirement"])
    manager, buyer = session.get(User, manager_id), session.get(User, world.ids["buyer"])
    requirement.lab.name  # noqa: B018  (loaded before the race)
    barrier.wait()
    grant(manager, requirement, buyer, Level.INDEPENDENT)


@pytest.mark.parametrize("renewal", [False, True], ids=["first grant", "renewal"])
def test_two_staff_granting_at_once_leave_one_current_authorisation(world, renewal):
    from sharehub.competence.models import Authorisation

    if renewal:
        assert world(lambda b, m: _grant(world, b, m), [world.ids["managers"][0]]) == ["ok"]
    outcomes = world(lambda b, m: _grant(world, b, m), world.ids["managers"])
    assert outcomes == ["Conflict", "ok"]
    current = sa.select(sa.func.count()).where(Authorisation.superseded_dt.is_(None))
    assert world.scalar(current.select_from(Authorisation)) == 1
    total = world.scalar(sa.select(sa.func.count()).select_from(Authorisation))
    assert total == (2 if renewal else 1)


def test_a_double_submitted_assisted_booking_books_the_operator_once(world):
    from sharehub.accounts.models import Organisation, User
    from sharehub.booking import services
    from sharehub.booking.models import HOLDING, Booking
    from sharehub.catalog.models import Listing

    day = workday()

    def book(barrier, _):
        session = world.db.session
        buyer = session.get(User, world.ids["buyer"])
        firm = session.get(Organisation, world.ids["firm"])
        listing = session.get(Listing, world.ids["instrument"])
        barrier.wait()
        services.create_booking(
            buyer,
            firm,
            listing,
            services.BookingRequest(at(day, 9, 30), at(day, 11, 30), assisted=True),
        )

    outcomes = world(book, [1, 2])
    assert outcomes[-1] == "ok" and outcomes[0] in ("OperatorTaken", "SlotTaken"), outcomes
    holding = sa.select(sa.func.count()).select_from(Booking).where(Booking.status.in_(HOLDING))
    assert world.scalar(holding.where(Booking.listing_id == world.ids["staff"])) == 1
    assert world.scalar(holding.where(Booking.listing_id == world.ids["instrument"])) == 1
