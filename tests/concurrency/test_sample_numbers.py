"""Sample IDs stay gapless and unique per lab and year when many receipts happen at once."""

import threading

import sqlalchemy as sa

from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND


def test_concurrent_receipts_get_gapless_unique_sample_ids(postgres, tmp_path):
    """Twelve sessions each record the receipt of an order of two samples of one lab at
    the same moment (row lock on PostgreSQL, serialized writes on SQLite)."""
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
    from sharehub.catalog.models import Field, ListingStatus
    from sharehub.extensions import db
    from sharehub.testing import samples
    from sharehub.testing.models import (
        RequestStatus,
        Sample,
        TestingRequest,
        TestingService,
    )

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = (
            postgres.create_database("sharehub_samples")
            if BACKEND == "postgres" and postgres is not None
            else f"sqlite:///{tmp_path / 'samples.db'}"
        )

    orders = 12
    app = create_app(Config)
    with app.app_context():
        upgrade()
        lab = Organisation(kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(780001))
        firm = Organisation(
            kind=OrgKind.ENTERPRISE, name="企业", credit_code=make_credit_code(780002)
        )
        manager = User(email="m@example.cn", name="经理", password_hash="x")
        db.session.add_all([lab, firm, manager])
        db.session.add(Membership(user=manager, organisation=lab, role=Role.MANAGER))
        service = TestingService(
            lab=lab,
            status=ListingStatus.PUBLISHED,
            name="盐雾",
            standard_code="GB/T 10125-2021",
            standard_key="GBT101252021",
            field=Field.NEW_MATERIALS,
            price_internal=1,
            price_external=1,
        )
        db.session.add(service)
        db.session.flush()
        ids = []
        for n in range(orders):
            request = TestingRequest(
                lab=lab, customer_org=firm, status=RequestStatus.ACCEPTED, total_fen=0
            )
            for k in range(2):
                request.samples.append(Sample(lab_id=lab.id, name=f"样品{n}-{k}", position=k))
            db.session.add(request)
            db.session.flush()
            ids.append(request.id)
        db.session.commit()
        manager_id = manager.id

    barrier = threading.Barrier(orders)
    errors = []

    def receive(request_id):
        barrier.wait(timeout=30)
        with app.app_context():
            try:
                actor = db.session.get(User, manager_id)
                request = db.session.get(TestingRequest, request_id)
                samples.receive(
                    actor,
                    request,
                    [samples.ReceiptInput(s.id, True) for s in request.samples],
                )
                db.session.commit()
            except Exception as exc:  # collected and reported below
                errors.append(repr(exc))
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=receive, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with app.app_context():
        rows = db.session.execute(
            sa.select(Sample.request_id, Sample.sequence).order_by(Sample.sequence)
        ).all()
        db.session.remove()
        db.engine.dispose()
    assert [seq for _r, seq in rows] == list(range(1, 2 * orders + 1))
    # The two samples of one order have consecutive numbers (one receipt, one lock).
    by_request: dict[int, list[int]] = {}
    for request_id, seq in rows:
        by_request.setdefault(request_id, []).append(seq)
    assert all(b - a == 1 for a, b in by_request.values())
