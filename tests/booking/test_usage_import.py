"""The usage CSV import: a stated limit of rows and bytes, the same checks and messages row
by row, and a number of SQL statements that does not grow with the rows."""

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from sharehub.accounts.models import OrgKind
from sharehub.booking import usage
from sharehub.booking.models import UsageRecord
from sharehub.core.errors import ValidationError
from sharehub.core.i18n import user_zone
from sharehub.core.models import AuditEntry
from sharehub.extensions import db as _db
from tests.support.clock import today

EN = {"Accept-Language": "en"}
HEADER = "unit_id,started,ended,prep_minutes,run_minutes,post_minutes,samples,service_way,notes"


def make_csv(unit_ids, rows: int, notes: str = "") -> str:
    """`rows` valid uses on the days before the suite's today, spread over the units."""
    lines = [HEADER]
    for n in range(rows):
        day = today() - timedelta(days=1 + n // 4)
        hour = 8 + 3 * (n % 4)
        lines.append(
            f"{unit_ids[n % len(unit_ids)]},{day} {hour:02d}:00,{day} {hour + 2:02d}:00,"
            f"{n % 10},90,{n % 5},{n % 3},{('on_site', 'remote', 'samples_sent')[n % 3]},"
            f"{notes or f'批次{n}'}"
        )
    return "\n".join(lines) + "\n"


def post(client, text: str, headers=EN):
    return client.post(
        "/lab/usage/import",
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(text.encode()), "usage.csv")},
        headers=headers,
    )


def count(db, model) -> int:
    db.session.expire_all()
    query = sa.select(sa.func.count()).select_from(model)
    if model is AuditEntry:
        query = query.where(AuditEntry.action == "usage.logged")
    return db.session.scalar(query)


@pytest.fixture
def units(lab, make_listing):
    return [
        unit.id
        for listing in (make_listing(lab, units=2), make_listing(lab, name="扫描电子显微镜"))
        for unit in listing.units
    ]


def test_a_file_one_row_over_the_limit_is_refused_whole_and_one_at_it_is_imported(
    client, db, lab_manager, units, login, monkeypatch
):
    monkeypatch.setattr(usage, "MAX_IMPORT_ROWS", 50)
    login(lab_manager)
    response = post(client, make_csv(units, 51))
    assert response.status_code == 400
    assert (
        "The CSV file has more than 50 rows: import at most 50 rows at a time (split the file). "
        "Nothing was imported." in response.get_data(as_text=True)
    )
    assert count(db, UsageRecord) == 0 and count(db, AuditEntry) == 0

    response = post(client, make_csv(units, 50))
    assert response.status_code == 302
    assert count(db, UsageRecord) == 50


def test_the_row_limit_is_said_in_chinese(db, lab, lab_manager, units, monkeypatch):
    monkeypatch.setattr(usage, "MAX_IMPORT_ROWS", 3)
    with force_locale("zh_CN"), pytest.raises(ValidationError) as refused:
        usage.import_csv(lab_manager, lab, make_csv(units, 4), user_zone())
    assert str(refused.value.message) == (
        "CSV 文件超过 3 行：每次最多导入 3 行（请拆分文件），本次未导入任何记录。"
    )


def test_a_file_over_the_size_limit_is_refused_and_the_page_states_both_limits(
    client, db, lab_manager, units, login, monkeypatch
):
    login(lab_manager)
    page = client.get("/lab/usage", headers=EN).get_data(as_text=True)
    assert "At most 20,000 rows and 4 MB per file; split a larger file." in page
    monkeypatch.setattr(usage, "MAX_IMPORT_BYTES", 4096)
    text = make_csv(units, 10, notes="长" * 150)
    assert len(text.encode()) > 4096
    response = post(client, text)
    assert response.status_code == 400
    assert "The file is larger than 4 KB." in response.get_data(as_text=True)
    assert count(db, UsageRecord) == 0


def test_the_page_states_the_limits_in_chinese(client, db, lab, make_user, units, login):
    from sharehub.accounts.models import Role

    login(make_user(lab, role=Role.MANAGER, locale="zh_CN"))
    page = client.get("/lab/usage").get_data(as_text=True)
    assert "每个文件最多 20,000 行、4 MB；更大的文件请拆分。" in page


def test_imported_records_and_audit_entries_are_those_of_typed_use(
    client, db, lab, lab_manager, units, login
):
    login(lab_manager)
    assert post(client, make_csv(units, 12)).status_code == 302
    records = db.session.scalars(sa.select(UsageRecord).order_by(UsageRecord.id)).all()
    assert [r.unit_id for r in records] == [units[n % len(units)] for n in range(12)]
    first = records[0]
    day = today() - timedelta(days=1)
    assert first.started_dt.astimezone(user_zone()).strftime("%Y-%m-%d %H:%M") == f"{day} 08:00"
    assert (first.prep_minutes, first.run_minutes, first.post_minutes) == (0, 90, 0)
    assert records[5].service_way.value == "samples_sent" and records[5].notes == "批次5"
    assert {r.user_org_id for r in records} == {lab.id}
    assert {r.recorded_by_id for r in records} == {lab_manager.id}
    assert {r.user_id for r in records} == {None}
    entries = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "usage.logged").order_by(AuditEntry.id)
    ).all()
    assert [(e.object_type, e.object_id) for e in entries] == [
        ("usage_record", r.id) for r in records
    ]
    assert {(e.actor_id, e.organisation_id) for e in entries} == {(lab_manager.id, lab.id)}
    assert entries[3].data == {"unit": records[3].unit_id, "effective": 3 + 90 + 3}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("foreign", "Row 31 of the CSV file is not valid: check the unit"),
        ("future", "Row 31 of the CSV file: Usage is recorded after it happens"),
        ("notes", "Row 31 of the CSV file: The notes"),
        ("minutes", "Row 31 of the CSV file: Enter a whole number between 0 and 44640."),
    ],
)
def test_one_bad_row_refuses_the_file_and_names_its_row(
    client, db, lab_manager, units, make_org, make_listing, login, bad, message
):
    login(lab_manager)
    lines = make_csv(units, 40).splitlines()
    fields = lines[30].split(",")
    if bad == "foreign":
        other = make_org(kind=OrgKind.LAB, name="另一实验室")
        fields[0] = str(make_listing(other).units[0].id)
    elif bad == "future":
        fields[1] = fields[2] = f"{today() + timedelta(days=2)} 09:00"
    elif bad == "notes":
        fields[8] = "长" * 5001
    else:
        fields[4] = "50000"
    lines[30] = ",".join(fields)
    response = post(client, "\n".join(lines) + "\n")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(db, UsageRecord) == 0 and count(db, AuditEntry) == 0


def test_a_file_the_csv_reader_cannot_read_is_refused_not_an_error(
    client, db, lab_manager, units, login
):
    login(lab_manager)
    text = make_csv(units, 3) + f'{units[0]},"{"x" * 200_000}\n'
    response = post(client, text)
    assert response.status_code == 400
    assert "The CSV file cannot be read near line" in response.get_data(as_text=True)
    assert count(db, UsageRecord) == 0


def statements_for(db, lab, actor, units, rows: int) -> int:
    text = make_csv(units, rows)
    sent = []

    def counted(_conn, _cursor, statement, *_args):
        sent.append(statement)

    engine = _db.engine
    sa.event.listen(engine, "before_cursor_execute", counted)
    try:
        ids = usage.import_csv(actor, lab, text, user_zone())
    finally:
        sa.event.remove(engine, "before_cursor_execute", counted)
    assert len(ids) == rows
    db.session.rollback()
    return len(sent)


def test_the_statements_of_an_import_do_not_grow_with_its_rows(db, lab, lab_manager, units):
    statements_for(db, lab, lab_manager, units, 3)  # warm caches (memberships, units)
    ten = statements_for(db, lab, lab_manager, units, 10)
    hundred = statements_for(db, lab, lab_manager, units, 100)
    # 8 for the rows and their audit entries, up to 6 more to seal them into the lab's
    # chain (read them, lock and move the chain's head, one batch of updates), up to 4 to
    # rebuild the daily usage rollup of the days imported (lock, delete, read, insert)
    assert ten <= 18
    assert hundred <= ten + 2
