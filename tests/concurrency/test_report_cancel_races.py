"""A testing order's cancellation (by the customer) or stop (by the lab) racing the lab's
report: its start, which puts the order in testing, and its issue, which reports it. The
order ends in one consistent state: cancelled with nothing issued (a fee, if any, on one
statement), or reported with its report and no longer cancellable; never both.

Real concurrent sessions (threads released together by a barrier) on PostgreSQL, where
they truly overlap (row locks on the order, then on the report)."""

from __future__ import annotations

import threading
from datetime import date

import pytest
import sqlalchemy as sa

from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND
from tests.support.files import pdf_bytes

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="a PostgreSQL race")

FEE = 26401
ROUNDS = 3


def _world(postgres, tmp_path):
    """A lab with three signers (two members, the manager), a firm and its buyer, and
    orders of a salt-spray service (fee 264.01 yuan once received): `ROUNDS` received
    ones, and 2 × `ROUNDS` in testing whose draft report (uploaded as a PDF) has its
    three signatures."""
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
    from sharehub.catalog.models import Field, ListingStatus
    from sharehub.extensions import db
    from sharehub.testing import reports
    from sharehub.testing.models import (
        Quote,
        QuoteLine,
        QuoteStatus,
        RequestItem,
        RequestStatus,
        Sample,
        SampleCounter,
        SampleStatus,
        ServiceParameter,
        TestingRequest,
        TestingService,
    )
    from sharehub.testing.report_models import SIGN_ORDER

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = postgres.create_database("sharehub_report_cancel")
        STORAGE_DIR = str(tmp_path / "storage")

    app = create_app(Config)
    with app.app_context(), app.test_request_context():
        upgrade()
        lab = Organisation(kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(880301))
        firm = Organisation(
            kind=OrgKind.ENTERPRISE, name="企业", credit_code=make_credit_code(880302)
        )
        people = []
        for n, role in enumerate((Role.MEMBER, Role.MEMBER, Role.MANAGER)):
            user = User(email=f"signer{n}@lab.cn", name=f"签字人{n}", password_hash="x")
            db.session.add(Membership(user=user, organisation=lab, role=role))
            people.append(user)
        buyer = User(email="buyer@firm.cn", name="采购", password_hash="x")
        db.session.add(Membership(user=buyer, organisation=firm, role=Role.OWNER))
        service = TestingService(
            lab=lab,
            status=ListingStatus.PUBLISHED,
            name="盐雾",
            standard_code="GB/T 10125-2021",
            standard_key="GBT101252021",
            field=Field.NEW_MATERIALS,
            price_internal=1,
            price_external=80000,
        )
        service.parameters = [ServiceParameter(name="外观", unit="", limit_text="")]
        db.session.add_all([lab, firm, service])
        db.session.flush()
        received, signed = [], []
        for n in range(3 * ROUNDS):
            order = TestingRequest(
                lab=lab,
                customer_org=firm,
                created_by=buyer,
                status=RequestStatus.RECEIVED,
                total_fen=80000,
                cancel_fee_fen=FEE,
            )
            order.items = [RequestItem(service=service)]
            quote = Quote(
                status=QuoteStatus.ACCEPTED,
                valid_until=date(2026, 6, 15),
                turnaround_days=7,
                total_fen=80000,
            )
            quote.lines = [
                QuoteLine(description="盐雾", quantity=1, unit_price_fen=80000, amount_fen=80000)
            ]
            order.quotes = [quote]
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
            if n < ROUNDS:
                received.append(order.id)
                continue
            report = reports.start_report(people[0], order)
            reports.upload_pdf(people[0], report, pdf_bytes(), "report.pdf")
            for person, role in zip(people, SIGN_ORDER, strict=True):
                reports.sign(person, report, role)
            signed.append((order.id, report.id))
        db.session.add(SampleCounter(lab_id=lab.id, year=2026, last_number=3 * ROUNDS))
        db.session.commit()
        ids = ([p.id for p in people], buyer.id, received, signed)
    return app, ids


def _together(app, jobs):
    from sharehub.extensions import db

    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = []

    def run(job):
        barrier.wait(timeout=30)
        with app.app_context(), app.test_request_context():
            try:
                job()
                db.session.commit()
                outcomes.append("ok")
            except Exception as exc:  # the refusal is the expected outcome of one
                db.session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sorted(outcomes)


def _state(app, order_id):
    from sharehub.admin.consistency import violations
    from sharehub.extensions import db
    from sharehub.testing.models import TestingRequest
    from sharehub.testing.report_models import Report, ReportStatus
    from sharehub.testing.work_models import OrderStatement

    with app.app_context():
        order = db.session.get(TestingRequest, order_id)
        statements = db.session.scalars(
            sa.select(OrderStatement).where(OrderStatement.order_id == order_id)
        ).all()
        state = {
            "order": order.status.value,
            "cancelled_by": order.cancelled_by,
            "issued": db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Report)
                .where(Report.order_id == order_id, Report.status != ReportStatus.DRAFT)
            ),
            "net": [s.invoice.net_total for s in statements],
            "violations": {k: v for k, v in violations().items() if v},
        }
        db.session.remove()
    return state


def test_a_cancellation_racing_the_report_ends_one_way(postgres, tmp_path):
    from sharehub.accounts.models import User
    from sharehub.extensions import db
    from sharehub.testing import cancellation, reports
    from sharehub.testing.models import TestingRequest
    from sharehub.testing.report_models import Report

    app, (people, buyer, received, signed) = _world(postgres, tmp_path)
    preparer, manager = people[0], people[2]

    def order_of(order_id):
        return db.session.get(TestingRequest, order_id)

    try:
        # The customer cancels while the lab starts the report (the order goes in
        # testing): a report started, with no result, does not stop the cancellation, so
        # the order ends cancelled with its fee billed once, whoever went first.
        for n, order_id in enumerate(received):
            outcomes = _together(
                app,
                [
                    lambda o=order_id: cancellation.cancel(
                        db.session.get(User, buyer), order_of(o), "不测了"
                    ),
                    lambda o=order_id: reports.start_report(
                        db.session.get(User, preparer), order_of(o)
                    ),
                ],
            )
            state = _state(app, order_id)
            assert outcomes in (["ok", "ok"], ["Conflict", "ok"]), (n, outcomes)
            assert state["order"] == "cancelled" and state["cancelled_by"] == "customer", state
            assert state["net"] == [FEE] and state["issued"] == 0
            assert state["violations"] == {}, state

        # The customer cancels, or the lab stops the order, while its manager issues the
        # signed report: exactly one of them happens.
        for n, (order_id, report_id) in enumerate(signed):
            if n % 2 == 0:

                def end(o=order_id):
                    cancellation.cancel(db.session.get(User, buyer), order_of(o), "不测了")

            else:

                def end(o=order_id):
                    cancellation.stop(db.session.get(User, manager), order_of(o), "设备故障")

            def issue(r=report_id):
                reports.issue(db.session.get(User, manager), db.session.get(Report, r))

            outcomes = _together(app, [end, issue])
            state = _state(app, order_id)
            assert outcomes == ["Conflict", "ok"], (n, outcomes, state)
            if state["order"] == "cancelled":
                assert state["issued"] == 0 and state["cancelled_by"] in ("customer", "lab")
                assert state["net"] == ([FEE] if state["cancelled_by"] == "customer" else [])
            else:
                assert state["order"] == "reported" and state["issued"] == 1, state
                assert state["cancelled_by"] == "" and state["net"] == []
            assert state["violations"] == {}, state
    finally:
        with app.app_context():
            db.engine.dispose()
