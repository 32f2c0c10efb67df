"""Reports through the service: results checked row by row, three signatures by three
people, issue with a gapless number, marks only inside a valid scope, an issued report
never changes, amendment and withdrawal, verification by number and code."""

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.uploads import stored_path
from sharehub.testing import reports
from sharehub.testing.models import RequestStatus
from sharehub.testing.report_models import (
    SIGN_ORDER,
    Report,
    ReportResult,
    ReportStatus,
    SignRole,
    Verdict,
)
from sharehub.testing.reports import ResultRow
from tests.support import clock
from tests.support.files import pdf_bytes
from tests.support.reports import good_rows, issued_report, signed_draft


def test_a_signed_report_is_issued_numbered_marked_and_sealed(
    db, order, signers, cma, mailbox, english
):
    report = issued_report(db, order, signers)
    assert report.status == ReportStatus.ISSUED
    assert report.number == f"BG{order.lab_id:04d}-{clock.today().year}-00001"
    assert report.issue_date == clock.today()
    assert len(report.verification_code) == 10
    assert report.marks == [{"kind": "cma", "number": "CMA 2021000001"}]
    assert all(r.accredited for r in report.results)
    assert report.overall_verdict == Verdict.PASS
    data = stored_path(report.issued_pdf.stored_name).read_bytes()
    assert data.startswith(b"%PDF-") and hashlib.sha256(data).hexdigest() == report.content_hash
    assert order.status == RequestStatus.REPORTED
    assert report.number in mailbox.last_to(order.created_by.email)["Subject"]


def test_one_failed_result_fails_the_report(db, order, signers, english):
    report = issued_report(db, order, signers, good_rows(order, rate="0.9", verdict="fail"))
    assert report.overall_verdict == Verdict.FAIL


def test_nobody_signs_twice_and_signatures_go_in_order(db, order, signers, lab_manager, english):
    preparer, reviewer, approver = signers
    report = reports.start_report(preparer, order)
    with pytest.raises(Conflict, match="Enter the results"):
        reports.sign(preparer, report, SignRole.PREPARED)
    reports.set_results(preparer, report, good_rows(order))
    with pytest.raises(Conflict, match="The next signature is: Prepared by"):
        reports.sign(reviewer, report, SignRole.REVIEWED)
    reports.sign(preparer, report, SignRole.PREPARED)
    with pytest.raises(Conflict, match="You have signed this report already"):
        reports.sign(preparer, report, SignRole.REVIEWED)
    reports.sign(reviewer, report, SignRole.REVIEWED)
    with pytest.raises(Conflict, match="You have signed this report already"):
        reports.sign(reviewer, report, SignRole.APPROVED)
    with pytest.raises(Conflict, match="three signatures"):
        reports.issue(approver, report)
    reports.sign(approver, report, SignRole.APPROVED)
    assert report.next_role is None


def test_the_approver_is_an_authorised_signatory(db, order, signers, lab, make_user, english):
    from sharehub.accounts.models import Role

    preparer, reviewer, _approver = signers
    report = reports.start_report(preparer, order)
    reports.set_results(preparer, report, good_rows(order))
    reports.sign(preparer, report, SignRole.PREPARED)
    reports.sign(reviewer, report, SignRole.REVIEWED)
    with pytest.raises(PermissionDenied, match="authorised signatory"):
        reports.sign(make_user(lab, role=Role.MEMBER), report, SignRole.APPROVED)


def test_changing_results_takes_back_the_signatures(db, order, signers, english):
    report = signed_draft(order, signers)
    reports.set_results(signers[0], report, good_rows(order, rate="0.31"))
    assert report.prepared_by_id is None and report.approved_by_id is None


def test_an_issued_report_never_changes(db, order, signers, english):
    report = issued_report(db, order, signers)
    before = (report.content_hash, [(r.value, r.verdict) for r in report.results])
    attempts = [
        lambda: reports.set_results(signers[0], report, good_rows(order, rate="0.1")),
        lambda: reports.upload_pdf(signers[0], report, pdf_bytes(), "x.pdf"),
        lambda: reports.sign(signers[0], report, SignRole.PREPARED),
        lambda: reports.issue(signers[2], report),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict, match="never changes"):
            attempt()
    db.session.rollback()
    db.session.expire_all()
    again = db.session.get(Report, report.id)
    assert (again.content_hash, [(r.value, r.verdict) for r in again.results]) == before
    data = stored_path(again.issued_pdf.stored_name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == before[0]


def test_no_mark_with_an_expired_certificate(db, order, signers, cma, english):
    cma.valid_until = clock.today() - timedelta(days=1)
    db.session.commit()
    report = issued_report(db, order, signers)
    assert report.marks == [] and not any(r.accredited for r in report.results)


def test_no_mark_for_a_method_outside_the_scope(db, order, signers, cma, english):
    from sharehub.testing.models import standard_parts

    number, year = standard_parts("GB/T 1771-2007")
    cma.scope[0].standard_code, cma.scope[0].standard_number = "GB/T 1771-2007", number
    cma.scope[0].standard_year = year
    db.session.commit()
    report = issued_report(db, order, signers)
    assert report.marks == [] and not any(r.accredited for r in report.results)


def test_a_scope_limited_to_one_parameter_marks_only_that_result(db, order, signers, cma, english):
    cma.scope[0].parameter = "腐蚀速率"
    db.session.commit()
    report = issued_report(db, order, signers)
    assert report.marks == [{"kind": "cma", "number": "CMA 2021000001"}]
    assert {r.parameter: r.accredited for r in report.results} == {"腐蚀速率": True, "外观": False}


def test_every_bad_row_is_named_and_nothing_is_stored(db, order, signers, english):
    report = reports.start_report(signers[0], order)
    code = order.samples[0].code
    rows = [
        ResultRow(sample=code, parameter="腐蚀速率", value="0.3", verdict="pass"),
        ResultRow(sample="YP-NOPE", parameter="腐蚀速率", value="0.3", verdict="pass"),
        ResultRow(sample=code, parameter="腐蚀速率", value="约0.3", verdict="pass"),
        ResultRow(sample=code, parameter="外观", value="无红锈", verdict="maybe"),
        ResultRow(sample=code, parameter="硬度", value="3", verdict="pass"),
    ]
    with pytest.raises(reports.ResultErrors) as caught:
        reports.set_results(signers[0], report, rows, line_offset=2)
    errors = [(e.row, e.message) for e in caught.value.errors]
    assert errors == [
        (3, "Unknown sample: YP-NOPE"),
        (4, "腐蚀速率 is measured in g/m2: 约0.3 is not a number."),
        (5, "The verdict is pass, fail or n.a., not maybe."),
        (6, "The order does not test 硬度."),
    ]
    db.session.flush()
    assert db.session.scalar(sa.select(sa.func.count(ReportResult.id))) == 0


def test_csv_in_utf8_or_gb18030(db, order, signers, english):
    code = order.samples[0].code
    text = f"sample,parameter,value,verdict\n{code},腐蚀速率,0.30,合格\n{code},外观,无红锈,pass\n"
    for data in (("\ufeff" + text).encode("utf-8"), text.encode("gb18030")):
        rows = reports.rows_from_csv(data)
        assert [(r.parameter, r.value) for r in rows] == [("腐蚀速率", "0.30"), ("外观", "无红锈")]
    with pytest.raises(ValidationError, match="lacks the columns: verdict"):
        reports.rows_from_csv(b"sample,parameter,value\nA,B,1\n")


def test_amendment_supersedes_and_numbers_run_on(db, order, signers, english):
    first = issued_report(db, order, signers)
    with pytest.raises(ValidationError, match="Say why"):
        reports.amend(signers[0], first, " ")
    draft = reports.amend(signers[0], first, "样品名称有误")
    with pytest.raises(Conflict, match="being amended already"):
        reports.amend(signers[0], first, "再次")
    assert draft.version == 2 and len(draft.results) == len(first.results)
    assert first.status == ReportStatus.ISSUED  # valid until the amendment is issued
    reports.set_results(signers[0], draft, good_rows(order, rate="0.28"))
    for person, role in zip(signers, SIGN_ORDER, strict=True):
        reports.sign(person, draft, role)
    reports.issue(signers[2], draft)
    assert first.status == ReportStatus.AMENDED and first.superseded_by == draft
    assert draft.sequence == first.sequence + 1
    with pytest.raises(Conflict, match="Only a valid issued report is amended"):
        reports.amend(signers[0], first, "again")


def test_withdrawal_needs_a_manager_and_a_reason(db, order, signers, english):
    report = issued_report(db, order, signers)
    with pytest.raises(PermissionDenied):
        reports.withdraw(signers[0], report, "错误")
    with pytest.raises(ValidationError, match="Say why"):
        reports.withdraw(signers[2], report, "")
    reports.withdraw(signers[2], report, "委托方撤回委托")
    assert report.status == ReportStatus.WITHDRAWN
    assert reports.verify(report.number, report.verification_code) == report


def test_verification_needs_the_right_code(db, order, signers):
    report = issued_report(db, order, signers)
    assert reports.verify(report.number.lower(), report.verification_code.lower()) == report
    assert reports.verify(report.number, "WRONGCODE1") is None
    assert reports.verify("BG9999-2026-00001", report.verification_code) is None
    assert reports.verify(report.number, "") is None


def test_only_received_orders_get_a_report(db, make_order, signers, make_user, english):
    waiting = make_order(status=RequestStatus.ACCEPTED)
    with pytest.raises(Conflict, match="once the order's samples are received"):
        reports.start_report(signers[0], waiting)
    outsider = make_user(waiting.customer_org)
    with pytest.raises(PermissionDenied):
        reports.start_report(outsider, make_order())
