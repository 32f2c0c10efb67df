"""check-consistency learns the reports' invariants: numbers 1..n per lab and year, and
an issued report's PDF as it was hashed at issue."""

import sqlalchemy as sa

from sharehub.admin import consistency
from sharehub.core.uploads import stored_path
from sharehub.testing.report_models import Report
from tests.support.reports import issued_report


def test_gapless_numbers_and_unchanged_pdfs_pass(db, make_order, signers):
    for _ in range(2):
        issued_report(db, make_order(), signers)
    found = consistency.violations()
    assert found["report_number_gaps"] == [] and found["issued_reports_changed"] == []


def test_a_gap_in_report_numbers_is_found(db, make_order, signers):
    first = issued_report(db, make_order(), signers)
    second = issued_report(db, make_order(), signers)
    db.session.execute(sa.update(Report).where(Report.id == second.id).values(sequence=3))
    db.session.flush()
    assert consistency.violations()["report_number_gaps"] == [
        {"lab_id": first.lab_id, "year": first.year, "reports": 2, "last": 3, "counter": 2}
    ]


def test_a_changed_issued_pdf_is_found(db, order, signers):
    report = issued_report(db, order, signers)
    path = stored_path(report.issued_pdf.stored_name)
    path.write_bytes(path.read_bytes() + b"%changed after issue\n")
    changed = consistency.violations()["issued_reports_changed"]
    assert [c["number"] for c in changed] == [report.number]
    assert changed[0]["hash"] != report.content_hash
