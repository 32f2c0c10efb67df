"""The demo's testing data, the consistency checks of sample IDs and order totals, and
the command that lapses quotes."""

from datetime import timedelta

import sqlalchemy as sa

from sharehub.admin import consistency
from sharehub.testing.accreditation import marks_for
from sharehub.testing.models import (
    AccreditationKind,
    Quote,
    QuoteLine,
    RequestStatus,
    Sample,
    SampleCounter,
    TestingService,
)
from tests.support import clock


def _demo(db, make_org, make_user):
    from sharehub.accounts.models import OrgKind, Role
    from sharehub.demo.testing import seed_demo_testing

    labs = [
        make_org(kind=OrgKind.LAB, cma_number=f"2210{n}", cnas_number=f"CNAS L{n}")
        for n in range(3)
    ]
    lab_users = [make_user(lab, role=Role.OWNER) for lab in labs]
    firm = make_org()
    buyer = make_user(firm)
    made = seed_demo_testing(labs, lab_users, buyer, firm)
    db.session.commit()
    return labs, made


def test_the_demo_has_services_certificates_and_orders_in_several_states(db, make_org, make_user):
    labs, made = _demo(db, make_org, make_user)
    states = {r.status for r in made}
    assert {
        RequestStatus.QUOTED,
        RequestStatus.SAMPLES_IN_TRANSIT,
        RequestStatus.RECEIVED,
        RequestStatus.SUBMITTED,
    } <= states
    by_code = {s.standard_code: s for s in db.session.scalars(sa.select(TestingService))}
    today = clock.today()
    assert marks_for(by_code["GB/T 10125-2021"], today) == [
        AccreditationKind.CMA,
        AccreditationKind.CNAS,
    ]
    assert marks_for(by_code["ISO 9227:2022"], today) == []  # out of scope
    assert marks_for(by_code["GB 31241-2022"], today) == [AccreditationKind.CMA]  # CNAS expired
    assert consistency.sample_id_gaps() == []
    assert consistency.order_totals_not_adding_up() == []


def test_a_gap_in_sample_ids_is_found(db, make_org, make_user):
    labs, _made = _demo(db, make_org, make_user)
    sample = db.session.scalars(sa.select(Sample).where(Sample.code.is_not(None))).first()
    counter = db.session.get(SampleCounter, (sample.lab_id, sample.year))
    numbered = db.session.scalar(
        sa.select(sa.func.count(Sample.id)).where(
            Sample.lab_id == sample.lab_id, Sample.year == sample.year, Sample.code.is_not(None)
        )
    )
    assert counter.last_number == numbered  # no gap yet
    counter.last_number += 1  # a number taken and lost
    db.session.flush()
    assert consistency.sample_id_gaps() == [
        {"lab_id": sample.lab_id, "year": sample.year, "samples": numbered, "counter": numbered + 1}
    ]


def test_totals_not_adding_up_are_found(db, make_org, make_user):
    _labs, made = _demo(db, make_org, make_user)
    order = next(r for r in made if r.status == RequestStatus.RECEIVED)
    line = db.session.scalars(
        sa.select(QuoteLine).where(QuoteLine.quote_id == order.accepted_quote.id)
    ).first()
    db.session.execute(
        sa.update(QuoteLine)
        .where(QuoteLine.id == line.id)
        .values(quantity=line.quantity + 1, amount_fen=line.amount_fen + line.unit_price_fen)
    )
    order.total_fen += 1
    db.session.flush()
    found = consistency.order_totals_not_adding_up()
    assert {"quote_id": order.accepted_quote.id}.items() <= found[0].items()
    assert any(item.get("request_id") == order.id for item in found)


def test_the_lapse_command(app, db, make_org, make_user):
    import time_machine

    _labs, made = _demo(db, make_org, make_user)
    quoted = [r for r in made if r.status == RequestStatus.QUOTED]
    last = max(q.valid_until for r in quoted for q in r.quotes if q.status.value == "offered")
    with time_machine.travel(clock.at(last + timedelta(days=1), 9)):
        result = app.test_cli_runner().invoke(args=["sharehub", "lapse-quotes"])
    assert result.exit_code == 0 and f"{len(quoted)} quotes lapsed" in result.output
    db.session.expire_all()
    assert all(r.status == RequestStatus.LAPSED for r in quoted)
    assert (
        db.session.scalar(sa.select(sa.func.count(Quote.id)).where(Quote.status == "offered")) == 0
    )
