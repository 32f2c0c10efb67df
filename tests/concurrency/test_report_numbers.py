"""Report numbers stay gapless and unique per lab and year when several people issue
reports at the same moment."""

import threading

import sqlalchemy as sa

from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND

# SQLite has one writer at a time and each issue renders its PDF while it holds the number:
# a few issuers show the serialisation there without waiting out the busy timeout on a
# loaded machine; PostgreSQL takes eight at once.
ISSUERS = 8 if BACKEND == "postgres" else 3


def test_concurrent_issues_get_gapless_unique_report_numbers(postgres, tmp_path):
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
    from sharehub.catalog.models import Field, ListingStatus
    from sharehub.extensions import db
    from sharehub.testing import reports
    from sharehub.testing.models import (
        RequestItem,
        RequestStatus,
        Sample,
        SampleStatus,
        ServiceParameter,
        TestingRequest,
        TestingService,
    )
    from sharehub.testing.report_models import SIGN_ORDER, Report

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = (
            postgres.create_database("sharehub_reports")
            if BACKEND == "postgres" and postgres is not None
            else f"sqlite:///{tmp_path / 'reports.db'}"
        )
        STORAGE_DIR = str(tmp_path / "storage")

    app = create_app(Config)
    with app.app_context():
        upgrade()
        lab = Organisation(kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(880001))
        firm = Organisation(
            kind=OrgKind.ENTERPRISE, name="企业", credit_code=make_credit_code(880002)
        )
        people = []
        for n, role in enumerate((Role.MEMBER, Role.MEMBER, Role.MANAGER)):
            user = User(email=f"signer{n}@lab.cn", name=f"签字人{n}", password_hash="x")
            db.session.add(Membership(user=user, organisation=lab, role=role))
            people.append(user)
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
        service.parameters = [ServiceParameter(name="外观", unit="", limit_text="")]
        db.session.add_all([lab, firm, service])
        db.session.flush()
        for n in range(ISSUERS):
            order = TestingRequest(lab=lab, customer_org=firm, status=RequestStatus.RECEIVED)
            order.items = [RequestItem(service=service)]
            order.samples = [
                Sample(
                    lab_id=lab.id,
                    name="样品",
                    status=SampleStatus.RECEIVED,
                    code=f"S{n}",
                    year=2026,
                    sequence=n + 1,
                )
            ]
            db.session.add(order)
            db.session.flush()
            report = reports.start_report(people[0], order)
            rows = [reports.ResultRow(sample=f"S{n}", parameter="外观", value="良好", verdict="na")]
            reports.set_results(people[0], report, rows)
            for person, role in zip(people, SIGN_ORDER, strict=True):
                reports.sign(person, report, role)
        db.session.commit()
        report_ids = list(db.session.scalars(sa.select(Report.id)))
        approver_id = people[2].id

    barrier = threading.Barrier(ISSUERS)
    errors = []

    def issue_one(report_id):
        barrier.wait(timeout=30)
        with app.app_context(), app.test_request_context():
            try:
                approver = db.session.get(User, approver_id)
                reports.issue(approver, db.session.get(Report, report_id))
                db.session.commit()
            except Exception as exc:  # collected and reported below
                errors.append(repr(exc))
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=issue_one, args=(i,)) for i in report_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with app.app_context():
        sequences = sorted(db.session.scalars(sa.select(Report.sequence)))
        numbers = set(db.session.scalars(sa.select(Report.number)))
        from sharehub.admin.consistency import violations

        found = violations()
        db.session.remove()
        db.engine.dispose()
    assert sequences == list(range(1, ISSUERS + 1))
    assert len(numbers) == ISSUERS
    assert found["report_number_gaps"] == [] and found["issued_reports_changed"] == []
