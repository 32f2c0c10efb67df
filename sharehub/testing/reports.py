"""Reports: results entered or imported, an uploaded PDF, three signatures by three
people, issue (number, verification code, marks, PDF), amendment and withdrawal, and the
public verification of a number and code.

Every change of a report goes through here and is refused once the report is issued: an
issued report never changes; an amendment is a new report. Services take the acting
user, check, write, audit and flush; the view commits.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import User
from sharehub.core import audit
from sharehub.core.clock import local_date
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.core.mail import queue_mail
from sharehub.core.models import Notification
from sharehub.core.uploads import human_size, store_bytes
from sharehub.extensions import db
from sharehub.testing.accreditation import marks_for, valid_certificates
from sharehub.testing.models import (
    RequestStatus,
    Sample,
    SampleStatus,
    ServiceParameter,
    TestingRequest,
    TestingService,
    standard_parts,
)
from sharehub.testing.report_models import (
    SIGN_ORDER,
    SIGN_ROLE_LABELS,
    Report,
    ReportCounter,
    ReportDocument,
    ReportResult,
    ReportStatus,
    SignRole,
    Verdict,
)
from sharehub.testing.report_signals import testing_event

MAX_REPORT_PDF_BYTES = 20 * 1024 * 1024
MAX_RESULT_ROWS = 2000
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read from paper
# Orders whose samples are at the lab: a report may be drafted
REPORTABLE = (RequestStatus.RECEIVED, RequestStatus.IN_TESTING, RequestStatus.REPORTED)

VERDICT_WORDS = {
    "pass": Verdict.PASS,
    "合格": Verdict.PASS,
    "符合": Verdict.PASS,
    "fail": Verdict.FAIL,
    "不合格": Verdict.FAIL,
    "不符合": Verdict.FAIL,
    "na": Verdict.NA,
    "n.a.": Verdict.NA,
    "n/a": Verdict.NA,
    "/": Verdict.NA,
    "不适用": Verdict.NA,
    "不判定": Verdict.NA,
}


# --- who -------------------------------------------------------------------------------


def _require_staff(actor: User, order: TestingRequest) -> None:
    if actor.membership_in(order.lab_id) is None:
        raise PermissionDenied(_l("Only the laboratory's staff work on its reports."))


def _require_draft(report: Report) -> None:
    if not report.is_draft:
        raise Conflict(_l("An issued report never changes; issue an amendment instead."))


# --- drafts and results ----------------------------------------------------------------


def start_report(actor: User, order: TestingRequest) -> Report:
    """A draft report for an order whose samples the lab holds; the order is in testing
    from now on."""
    _require_staff(actor, order)
    if order.status not in REPORTABLE:
        raise Conflict(_l("A report is written once the order's samples are received."))
    if db.session.scalar(
        sa.select(Report.id).where(Report.order_id == order.id, Report.version == 1)
    ):
        raise Conflict(_l("This order has a report already; amend it to change it."))
    if order.status == RequestStatus.RECEIVED:
        _move_order(actor, order, "start_testing")
    report = Report(order=order, lab_id=order.lab_id, version=1)
    db.session.add(report)
    db.session.flush()
    audit.record(actor, "report.started", report, organisation=order.lab_id, order=order.id)
    return report


def _move_order(actor: User | None, order: TestingRequest, action: str) -> None:
    """Take a reporting action of the order's state machine. The lab's staff (checked by
    the caller) take it, not only its managers: technicians write reports."""
    from sharehub.testing.models import TRANSITIONS

    rule = TRANSITIONS[action]
    if order.status not in rule.sources:
        raise Conflict(
            _l(
                "This request is %(status)s; that is not possible now.",
                status=order.status_label,
            )
        )
    target = rule.target
    assert target is not None
    before = order.status
    order.status = target
    audit.record(
        actor, f"testing_request.{action}", order, organisation=order.lab_id, before=before
    )
    testing_event.send(order, event=f"order.{target.value}")


@dataclass(frozen=True)
class ResultRow:
    """A result as typed or imported, before it is checked."""

    sample: str  # the sample's code (or its id)
    parameter: str
    value: str
    verdict: str
    service: str = ""  # the service's id or standard, where a parameter name is ambiguous
    unit: str | None = None
    limit: str | None = None


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based: the form's line, or the CSV's line (the header is line 1)
    message: str


class ResultErrors(ValidationError):
    """Every refused row with its message; nothing was stored."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        first = errors[0]
        super().__init__(
            _l(
                "%(n)s rows refused; nothing was stored. Line %(row)s: %(message)s",
                n=len(errors),
                row=first.row,
                message=first.message,
            ),
            field="results",
        )


def _parameters(order: TestingRequest) -> dict[str, list[tuple[TestingService, ServiceParameter]]]:
    """The parameters the order reports, by name (and English name)."""
    found: dict[str, list[tuple[TestingService, ServiceParameter]]] = {}
    for item in order.items:
        for parameter in item.parameters:
            for name in {parameter.name.strip(), (parameter.name_en or "").strip()} - {""}:
                found.setdefault(name, []).append((item.service, parameter))
    return found


def _parse_number(text: str) -> Decimal | None:
    cleaned = text.strip().lstrip("<>≤≥=").strip().replace(",", "")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def set_results(actor: User, report: Report, rows: list[ResultRow], line_offset: int = 1) -> int:
    """Replace the draft's results with `rows`, all checked first: a refused row refuses
    them all (`ResultErrors` lists each), so nothing half-imported is ever stored.
    Changing results takes back the signatures given so far."""
    _require_staff(actor, report.order)
    _require_draft(report)
    # Lock the order: results racing a cancellation (testing.cancellation) come after it
    # and see it, or go first and stop it.
    db.session.flush()
    db.session.refresh(report.order, with_for_update=True)
    if report.order.status in (RequestStatus.CANCELLED, RequestStatus.REFUSED):
        raise Conflict(_l("This order is cancelled; its results are not recorded."))
    if len(rows) > MAX_RESULT_ROWS:
        raise ValidationError(_l("At most %(n)s results per report.", n=MAX_RESULT_ROWS))
    order = report.order
    samples: dict[str, Sample] = {}
    for each in order.samples:
        if each.status in (SampleStatus.RECEIVED, SampleStatus.RETURNED, SampleStatus.DISPOSED):
            samples[each.code or ""] = each
            samples[str(each.id)] = each
    samples.pop("", None)
    parameters = _parameters(order)
    errors: list[RowError] = []
    checked: list[ReportResult] = []
    seen: set[tuple] = set()
    for index, row in enumerate(rows):
        line = index + line_offset
        sample = samples.get(row.sample.strip())
        if sample is None:
            errors.append(RowError(line, str(_l("Unknown sample: %(s)s", s=row.sample or "—"))))
            continue
        candidates = parameters.get(row.parameter.strip(), [])
        if row.service.strip():
            wanted = row.service.strip()
            candidates = [
                (s, p)
                for s, p in candidates
                if str(s.id) == wanted or standard_parts(s.standard_code) == standard_parts(wanted)
            ]
        if not candidates:
            errors.append(
                RowError(
                    line,
                    str(_l("The order does not test %(p)s.", p=row.parameter or "—")),
                )
            )
            continue
        if len({s.id for s, _p in candidates}) > 1:
            errors.append(
                RowError(
                    line,
                    str(
                        _l(
                            "%(p)s is tested by several services; name the service.",
                            p=row.parameter,
                        )
                    ),
                )
            )
            continue
        service, parameter = candidates[0]
        unit = (row.unit if row.unit is not None else parameter.unit).strip()
        value = row.value.strip()
        if not value:
            errors.append(RowError(line, str(_l("The value is missing."))))
            continue
        if len(value) > 100:
            errors.append(RowError(line, str(_l("The value is longer than 100 characters."))))
            continue
        numeric = _parse_number(value)
        if unit and numeric is None:
            errors.append(
                RowError(
                    line,
                    str(
                        _l(
                            "%(p)s is measured in %(u)s: %(v)s is not a number.",
                            p=parameter.name,
                            u=unit,
                            v=value,
                        )
                    ),
                )
            )
            continue
        verdict = VERDICT_WORDS.get(row.verdict.strip().lower())
        if verdict is None:
            errors.append(
                RowError(
                    line,
                    str(_l("The verdict is pass, fail or n.a., not %(v)s.", v=row.verdict or "—")),
                )
            )
            continue
        key = (sample.id, service.id, parameter.name)
        if key in seen:
            errors.append(RowError(line, str(_l("This sample and parameter are given twice."))))
            continue
        seen.add(key)
        checked.append(
            ReportResult(
                position=index,
                sample_id=sample.id,
                service_id=service.id,
                parameter=parameter.name,
                method=f"{service.standard_code} {service.method}".strip()[:200],
                value=value,
                numeric_value=numeric,
                unit=unit[:32],
                limit_text=(row.limit if row.limit is not None else parameter.limit_text)[:200],
                verdict=verdict,
            )
        )
    if errors:
        raise ResultErrors(errors)
    if not checked:
        raise ValidationError(_l("Give at least one result."), field="results")
    report.results.clear()
    db.session.flush()
    report.results.extend(checked)
    _unsign(report)
    audit.record(actor, "report.results_set", report, organisation=report.lab_id, rows=len(checked))
    db.session.flush()
    return len(checked)


CSV_COLUMNS = ("sample", "parameter", "value", "verdict")


def rows_from_csv(data: bytes) -> list[ResultRow]:
    """Rows of a CSV (UTF-8, with or without BOM; GB18030 as Excel writes it in China)
    with the columns sample, parameter, value, verdict and optionally service, unit, limit."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise ValidationError(
                _l("The file is not a CSV in UTF-8 or GB18030."), field="file"
            ) from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise ValidationError(
            _l("The CSV lacks the columns: %(cols)s.", cols=", ".join(missing)), field="file"
        )
    reader.fieldnames = header
    rows = []
    for record in reader:
        if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
            continue
        rows.append(
            ResultRow(
                sample=record.get("sample") or "",
                parameter=record.get("parameter") or "",
                value=record.get("value") or "",
                verdict=record.get("verdict") or "",
                service=record.get("service") or "",
                unit=record.get("unit"),
                limit=record.get("limit"),
            )
        )
        if len(rows) > MAX_RESULT_ROWS:
            raise ValidationError(_l("At most %(n)s results per report.", n=MAX_RESULT_ROWS))
    return rows


def upload_pdf(actor: User, report: Report, data: bytes, name: str) -> ReportDocument:
    """The report as a PDF written elsewhere: checked to be a PDF, size-limited."""
    _require_staff(actor, report.order)
    _require_draft(report)
    if len(data) > MAX_REPORT_PDF_BYTES:
        raise ValidationError(
            _l("The file is larger than %(size)s.", size=human_size(MAX_REPORT_PDF_BYTES)),
            field="file",
        )
    if not data.startswith(b"%PDF-"):
        raise ValidationError(_l("The report must be a PDF file."), field="file")
    if b"%%EOF" not in data[-2048:]:
        raise ValidationError(_l("The PDF file is incomplete or damaged."), field="file")
    for old in [d for d in report.documents if d.purpose == "upload"]:
        report.documents.remove(old)
    document = _store(report, data, name, "upload")
    _unsign(report)
    audit.record(actor, "report.pdf_uploaded", report, organisation=report.lab_id, name=name)
    db.session.flush()
    return document


def _store(report: Report, data: bytes, name: str, purpose: str) -> ReportDocument:
    stored = store_bytes(data, name[:200], "application/pdf")
    document = ReportDocument(
        purpose=purpose,
        original_name=stored.original_name,
        stored_name=stored.stored_name,
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
    )
    report.documents.append(document)
    return document


def _unsign(report: Report) -> None:
    for role in SIGN_ORDER:
        setattr(report, f"{role.value}_by_id", None)
        setattr(report, f"{role.value}_dt", None)


# --- signatures and issue --------------------------------------------------------------


def sign(actor: User, report: Report, role: SignRole) -> None:
    """Sign as preparer, reviewer or approver, in that order, each a different person;
    the approver is an authorised signatory (a manager of the lab)."""
    _require_staff(actor, report.order)
    _require_draft(report)
    if not report.results and report.uploaded_pdf is None:
        raise Conflict(_l("Enter the results or upload the report before signing."))
    for other in SIGN_ORDER:
        if getattr(report, f"{other.value}_by_id") == actor.id:
            raise Conflict(
                _l(
                    "You have signed this report already (%(role)s); "
                    "each signature is by a different person.",
                    role=SIGN_ROLE_LABELS[other],
                )
            )
    expected = report.next_role
    if expected is None:
        raise Conflict(_l("The report has all its signatures."))
    if role != expected:
        raise Conflict(_l("The next signature is: %(role)s.", role=SIGN_ROLE_LABELS[expected]))
    if role == SignRole.APPROVED and not actor.can_manage(report.lab):
        raise PermissionDenied(_l("Only an authorised signatory of the laboratory approves."))
    setattr(report, f"{role.value}_by_id", actor.id)
    setattr(report, f"{role.value}_dt", utcnow())
    audit.record(actor, f"report.{role.value}", report, organisation=report.lab_id)
    db.session.flush()


def _marks(report: Report, on_date: date) -> list[dict]:
    """The marks the report carries: those of the certificates valid on the issue date
    whose scope covers at least one of its results (`accreditation.marks_for` with the
    result's parameter). Each result remembers whether it was covered; the report says
    which results are outside the scope."""
    numbers = {c.kind: c.number for c in reversed(valid_certificates(report.lab_id, on_date))}
    kinds: set = set()
    for result in report.results:
        service = db.session.get(TestingService, result.service_id)
        assert service is not None
        covering = marks_for(service, on_date, result.parameter)
        result.accredited = bool(covering)
        kinds.update(covering)
    return [
        {"kind": kind.value, "number": numbers[kind]}
        for kind in sorted(kinds, key=lambda k: k.value)
    ]


def _overall(report: Report) -> Verdict:
    verdicts = {r.verdict for r in report.results}
    if Verdict.FAIL in verdicts:
        return Verdict.FAIL
    if Verdict.PASS in verdicts:
        return Verdict.PASS
    return Verdict.NA


def _next_number(lab_id: int, year: int) -> int:
    """Lock the counter row (creating it once) and take the next number."""
    query = (
        sa.select(ReportCounter)
        .where(ReportCounter.lab_id == lab_id, ReportCounter.year == year)
        .execution_options(populate_existing=True)
    )
    counter: ReportCounter | None
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        db.session.execute(
            insert(ReportCounter)
            .values(lab_id=lab_id, year=year, last_number=0)
            .on_conflict_do_nothing()
        )
        counter = db.session.execute(query.with_for_update()).scalar_one()
    else:  # SQLite: the transaction holds the write lock (BEGIN IMMEDIATE)
        counter = db.session.scalar(query)
        if counter is None:
            counter = ReportCounter(lab_id=lab_id, year=year, last_number=0)
            db.session.add(counter)
    counter.last_number += 1
    db.session.flush()
    return counter.last_number


def issue(actor: User, report: Report) -> Report:
    """Number, mark and seal the signed draft: the PDF (built here, or the uploaded one)
    is stored with its hash and never replaced. An amendment, once issued, marks the
    report it supersedes "amended". The order is reported."""
    _require_staff(actor, report.order)
    db.session.refresh(report, with_for_update=True)
    _require_draft(report)
    if report.next_role is not None:
        raise Conflict(_l("The report needs its three signatures before it is issued."))
    if not actor.can_manage(report.lab):
        raise PermissionDenied(_l("Only a manager of the laboratory issues reports."))
    now = utcnow()
    report.issue_date = local_date(now)
    report.issued_dt = now
    report.issued_by_id = actor.id
    report.year = report.issue_date.year
    report.sequence = _next_number(report.lab_id, report.year)
    report.number = f"BG{report.lab_id:04d}-{report.year}-{report.sequence:05d}"
    report.verification_code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    report.marks = _marks(report, report.issue_date) if report.results else []
    report.overall_verdict = _overall(report) if report.results else Verdict.NA
    report.status = ReportStatus.ISSUED
    db.session.flush()
    uploaded = report.uploaded_pdf
    if uploaded is not None and not report.results:
        from sharehub.core.uploads import stored_path

        data = stored_path(uploaded.stored_name).read_bytes()
    else:
        from sharehub.testing.report_pdf import report_pdf

        data = report_pdf(report)
    _store(report, data, f"{report.number}.pdf", "issued")
    report.content_hash = hashlib.sha256(data).hexdigest()
    old = report.supersedes
    if old is not None:
        old.status = ReportStatus.AMENDED
        audit.record(actor, "report.amended", old, organisation=report.lab_id, by=report.number)
    order = report.order
    if order.status == RequestStatus.IN_TESTING:
        _move_order(actor, order, "issue_report")
    audit.record(actor, "report.issued", report, organisation=report.lab_id, number=report.number)
    db.session.flush()
    testing_event.send(report, event="report.issued")
    _tell_customer(report)
    return report


def _tell_customer(report: Report) -> None:
    order = report.order
    people = [order.created_by] if order.created_by is not None else []
    link = url_for("testing_reports.report_page", report_id=report.id)
    for user in people:
        with force_locale(user.locale):
            text = _("Test report %(number)s is issued", number=report.number)
        db.session.add(Notification(user_id=user.id, text=text[:500], link=link))
        queue_mail(
            user.email,
            text,
            "mail/report_issued.txt",
            locale=user.locale,
            user=user,
            report=report,
            link=url_for("testing_reports.report_page", report_id=report.id, _external=True),
        )


def amend(actor: User, report: Report, reason: str) -> Report:
    """A new draft (version + 1) with the issued report's results, to correct and issue;
    the issued one stays valid until its amendment is issued."""
    _require_staff(actor, report.order)
    if report.status != ReportStatus.ISSUED:
        raise Conflict(_l("Only a valid issued report is amended."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_l("Say why the report is amended."), field="reason")
    if db.session.scalar(sa.select(Report.id).where(Report.supersedes_id == report.id)):
        raise Conflict(_l("This report is being amended already."))
    draft = Report(
        order=report.order,
        lab_id=report.lab_id,
        version=report.version + 1,
        supersedes_id=report.id,
        amendment_reason=reason[:2000],
        conclusion=report.conclusion,
    )
    for result in report.results:
        draft.results.append(
            ReportResult(
                position=result.position,
                sample_id=result.sample_id,
                service_id=result.service_id,
                parameter=result.parameter,
                method=result.method,
                value=result.value,
                numeric_value=result.numeric_value,
                unit=result.unit,
                limit_text=result.limit_text,
                verdict=result.verdict,
            )
        )
    db.session.add(draft)
    db.session.flush()
    audit.record(actor, "report.amendment_started", draft, organisation=report.lab_id)
    return draft


def withdraw(actor: User, report: Report, reason: str) -> None:
    """Withdraw an issued report (it no longer stands), with the reason shown to whoever
    verifies it."""
    _require_staff(actor, report.order)
    if not actor.can_manage(report.lab):
        raise PermissionDenied(_l("Only a manager of the laboratory withdraws reports."))
    if report.status != ReportStatus.ISSUED:
        raise Conflict(_l("Only a valid issued report is withdrawn."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_l("Say why the report is withdrawn."), field="reason")
    report.status = ReportStatus.WITHDRAWN
    report.withdrawn_dt = utcnow()
    report.withdrawn_reason = reason[:2000]
    audit.record(actor, "report.withdrawn", report, organisation=report.lab_id, reason=reason)
    db.session.flush()
    testing_event.send(report, event="report.withdrawn")


def verify(number: str, code: str) -> Report | None:
    """The issued report with this number and code, or None (a wrong code and an unknown
    number are told apart nowhere)."""
    number = (number or "").strip().upper()[:40]
    code = (code or "").strip().upper().replace(" ", "")[:16]
    if not number or not code:
        return None
    report = db.session.scalar(sa.select(Report).where(Report.number == number))
    if report is None or report.verification_code is None:
        secrets.compare_digest(code, "X" * 10)  # the same work as a real comparison
        return None
    return report if secrets.compare_digest(code, report.verification_code) else None
