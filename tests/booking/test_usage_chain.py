"""Usage records are append-only and each lab's records form a hash chain: a row changed
or removed by SQL is found, and named, by the chain check; corrections are new records
and the figures count the latest record of each line of corrections."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.booking import chain, usage
from sharehub.booking.models import ServiceWay, UsageRecord, UsageSource
from sharehub.stats.metrics import lab_metrics
from tests.support import clock

DAY = clock.today() - timedelta(days=7)


def _log(lab_manager, unit, hour: int, run: int = 100) -> UsageRecord:
    return usage.log_usage(
        lab_manager,
        unit,
        user_org=None,
        started=clock.at(DAY, hour),
        ended=clock.at(DAY, hour + 2),
        prep_minutes=10,
        run_minutes=run,
        post_minutes=10,
        service_way=ServiceWay.ON_SITE,
    )


@pytest.fixture
def records(db, lab, lab_manager, make_listing):
    unit = make_listing(lab).units[0]
    made = [_log(lab_manager, unit, hour) for hour in (8, 10, 12, 14)]
    db.session.commit()
    return made


def test_records_form_one_chain_per_lab_and_the_chain_is_intact(db, lab, records):
    assert [r.chain_seq for r in records] == [1, 2, 3, 4]
    assert records[0].prev_hash == ""
    assert all(b.prev_hash == a.record_hash for a, b in zip(records, records[1:], strict=False))
    assert all(r.source == UsageSource.LAB_STAFF for r in records)
    assert chain.verify_lab(lab.id) is None
    assert chain.verify_all() == []


def test_a_row_changed_by_sql_is_the_first_broken_link(app, db, lab, records):
    db.session.execute(
        sa.update(UsageRecord).where(UsageRecord.id == records[1].id).values(run_minutes=500)
    )
    db.session.commit()
    found = chain.verify_lab(lab.id)
    assert found is not None and found.record_id == records[1].id and found.seq == 2
    result = app.test_cli_runner().invoke(args=["sharehub", "verify-usage-chain"])
    assert result.exit_code == 1
    assert f"lab {lab.id}, record {records[1].id} (position 2)" in result.output


def test_a_row_whose_hash_was_recomputed_breaks_the_next_link(db, lab, records):
    """Recomputing the changed row's own hash does not hide it: the next row names the
    old hash as its previous one."""
    target = records[1]
    db.session.execute(
        sa.update(UsageRecord).where(UsageRecord.id == target.id).values(run_minutes=500)
    )
    db.session.expire_all()
    target = db.session.get(UsageRecord, target.id)
    values = {name: getattr(target, name) for name in chain.HASHED}
    db.session.execute(
        sa.update(UsageRecord)
        .where(UsageRecord.id == target.id)
        .values(record_hash=chain.digest(values, target.prev_hash))
    )
    db.session.commit()
    found = chain.verify_lab(lab.id)
    assert found is not None and found.record_id == records[2].id


def test_a_row_deleted_by_sql_is_found(db, lab, records):
    db.session.execute(sa.delete(UsageRecord).where(UsageRecord.id == records[3].id))
    db.session.commit()
    found = chain.verify_lab(lab.id)
    assert found is not None and found.record_id is None  # the chain's end is missing
    db.session.execute(sa.delete(UsageRecord).where(UsageRecord.id == records[1].id))
    db.session.commit()
    found = chain.verify_lab(lab.id)
    assert found is not None and found.record_id == records[2].id


def test_a_sealed_record_is_never_updated_or_deleted_through_the_application(db, records):
    record = db.session.get(UsageRecord, records[0].id)
    record.run_minutes = 1
    with pytest.raises(chain.SealedRecordChanged):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(UsageRecord, records[0].id))
    with pytest.raises(chain.SealedRecordChanged):
        db.session.flush()
    db.session.rollback()


def test_figures_count_the_latest_correction_only(db, lab, lab_manager, records):
    start, end = DAY, DAY + timedelta(days=1)
    before = lab_metrics(start, end)[lab.id]["effective_hours"]
    assert before == 8  # 4 records of 120 minutes
    first = usage.correct_usage(lab_manager, records[0], reason="漏记", run_minutes=160)
    second = usage.correct_usage(lab_manager, first, reason="再更正", run_minutes=40)
    db.session.commit()
    assert (first.corrects_id, second.corrects_id) == (records[0].id, first.id)
    assert lab_metrics(start, end)[lab.id]["effective_hours"] == 8 - 2 + 1
    assert chain.verify_lab(lab.id) is None
    assert second.chain_seq == 6


def test_records_from_before_the_chain_are_sealed_by_the_backfill(app, db, lab, make_listing):
    unit = make_listing(lab).units[0]
    db.session.execute(
        sa.insert(UsageRecord),
        [
            {
                "unit_id": unit.id,
                "user_org_id": lab.id,
                "started_dt": clock.at(DAY, hour),
                "ended_dt": clock.at(DAY, hour + 1),
                "run_minutes": 60,
            }
            for hour in (8, 9, 10)
        ],
    )
    db.session.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["sharehub", "verify-usage-chain"]).exit_code == 1
    result = runner.invoke(args=["sharehub", "seal-usage"])
    assert "3 usage records sealed" in result.output
    result = runner.invoke(args=["sharehub", "verify-usage-chain"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["sharehub", "seal-usage"]).output.startswith("0 ")
    seqs = db.session.scalars(sa.select(UsageRecord.chain_seq).order_by(UsageRecord.id)).all()
    assert seqs == [1, 2, 3]


def test_hash_does_not_depend_on_the_date_type(db, records):
    """The digest reads datetimes in UTC to the second, as both databases return them."""
    record = db.session.get(UsageRecord, records[0].id)
    values = {name: getattr(record, name) for name in chain.HASHED}
    assert chain.digest(values, record.prev_hash) == record.record_hash
