"""Usage records of one lab inserted at the same moment keep one hash chain (the lab's
chain head is locked while a record is appended), and the daily usage rollup of their day
counts each of them once (its rebuild of a unit's days waits for the other writers')."""

import threading
from datetime import timedelta

import sqlalchemy as sa

from tests.support import clock
from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND


def test_concurrent_inserts_keep_one_chain(postgres, tmp_path):
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Organisation, OrgKind
    from sharehub.booking import chain, usage
    from sharehub.booking.models import UsageRecord
    from sharehub.catalog.models import Field, Listing, ListingKind, PriceUnit, Unit
    from sharehub.extensions import db

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = (
            postgres.create_database("sharehub_usage_chain")
            if BACKEND == "postgres" and postgres is not None
            else f"sqlite:///{tmp_path / 'chain.db'}"
        )

    app = create_app(Config)
    with app.app_context():
        upgrade()
        lab = Organisation(kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(780001))
        db.session.add(lab)
        db.session.flush()
        listing = Listing(
            lab_id=lab.id,
            kind=ListingKind.EQUIPMENT,
            name="光谱仪",
            field=Field.NEW_MATERIALS,
            price_unit=PriceUnit.HOUR,
            price_internal=10000,
            price_external=20000,
        )
        db.session.add(listing)
        db.session.flush()
        unit = Unit(listing_id=listing.id, name="1")
        db.session.add(unit)
        db.session.commit()
        lab_id, unit_id = lab.id, unit.id

    class Manager:  # the acting user: allowed to manage the lab
        id = None
        is_authenticated = True

        @staticmethod
        def can_manage(org):
            return True

    day = clock.today() - timedelta(days=3)
    count = 16
    barrier = threading.Barrier(count)
    errors = []

    def insert_one(n: int):
        barrier.wait(timeout=30)
        with app.app_context():
            try:
                usage.log_usage(
                    Manager,
                    db.session.get(Unit, unit_id),
                    user_org=None,
                    started=clock.at(day, 8) + timedelta(minutes=n),
                    ended=clock.at(day, 9) + timedelta(minutes=n),
                    prep_minutes=0,
                    run_minutes=60,
                    post_minutes=0,
                )
                db.session.commit()
            except Exception as exc:  # collected and reported below
                errors.append(repr(exc))
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=insert_one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with app.app_context():
        seqs = sorted(db.session.scalars(sa.select(UsageRecord.chain_seq)))
        assert seqs == list(range(1, count + 1))
        assert chain.verify_lab(lab_id) is None
        from sharehub.stats import rollups
        from sharehub.stats.models import UsageDay

        conn = db.session.connection()
        assert rollups.differences(conn, day - timedelta(days=1), day + timedelta(days=2)) == []
        rolled = conn.execute(
            sa.select(sa.func.sum(UsageDay.minutes), sa.func.sum(UsageDay.records))
        ).one()
        assert tuple(rolled) == (count * 60, count)
        db.session.remove()
        db.engine.dispose()
