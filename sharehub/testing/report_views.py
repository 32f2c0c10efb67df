"""Report pages: an order's reports, a report's page (the lab drafts, imports, signs,
issues, amends and withdraws there; the customer reads and downloads), the PDF, and the
public verification page the QR code opens."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.core.actions import perform, refused
from sharehub.core.errors import DomainError
from sharehub.core.forms import ConfirmForm, refuse_form
from sharehub.core.tx import commit
from sharehub.core.uploads import read_upload, send_stored
from sharehub.extensions import db, limiter
from sharehub.testing import reports, threads  # noqa: F401  (threads: orders take part)
from sharehub.testing.models import TestingRequest
from sharehub.testing.report_forms import FileForm, ReasonForm, ResultsForm, grid, grid_rows
from sharehub.testing.report_models import SIGN_ORDER, Report, ReportStatus, SignRole

bp = Blueprint("testing_reports", __name__)


def _order(order_id: int) -> TestingRequest:
    order = db.session.get(TestingRequest, order_id)
    if order is None or not order.can_view(current_user):
        abort(404)
    return order


def _report(report_id: int) -> Report:
    report = db.session.get(Report, report_id)
    if report is None or not report.can_view(current_user):
        abort(404)
    return report


@bp.route("/orders/<int:order_id>/reports")
@login_required
def order_reports(order_id: int):
    order = _order(order_id)
    is_staff = current_user.membership_in(order.lab_id) is not None
    shown = reports_of_order(order)
    return render_template(
        "testing/order_reports.html",
        order=order,
        reports=shown,
        is_staff=is_staff,
        confirm_form=ConfirmForm(),
    )


@bp.route("/orders/<int:order_id>/reports", methods=["POST"])
@login_required
def start(order_id: int):
    order = _order(order_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return perform(
        lambda: reports.start_report(current_user, order),
        done=lambda report: _to(report),
        success=_("A draft report is open."),
    )


def _to(report: Report):
    return redirect(url_for("testing_reports.report_page", report_id=report.id))


def _page(report: Report, status: int = 200, **forms):
    is_staff = report.is_lab_staff(current_user)
    values = {k: v for k, v in request.form.items()} if request.method == "POST" else {}
    return render_template(
        "testing/report.html",
        report=report,
        order=report.order,
        is_staff=is_staff,
        cells=grid(report.order) if is_staff and report.is_draft else [],
        current={f"{r.sample_id}-{r.service_id}-{r.parameter}": r for r in report.results},
        values=values,
        roles=SIGN_ORDER,
        row_errors=forms.pop("row_errors", []),
        results_form=forms.get("results_form") or ResultsForm(),
        file_form=forms.get("file_form") or FileForm(),
        reason_form=forms.get("reason_form") or ReasonForm(),
        confirm_form=ConfirmForm(),
        verify_url=(
            url_for("testing_reports.verify", no=report.number, code=report.verification_code)
            if report.number
            and (report.is_lab_staff(current_user) or report.is_customer(current_user))
            else None
        ),
    ), status


@bp.route("/reports/<int:report_id>")
@login_required
def report_page(report_id: int):
    return _page(_report(report_id))


def _again(report_id: int, **forms):
    def again():
        return _page(db.session.get(Report, report_id), **forms)

    return again


def _results(report_id: int, work, success: str, **forms):
    """Store results, or show the page again with every refused row listed (nothing was
    stored)."""
    try:
        work()
    except DomainError as exc:
        rows = getattr(exc, "errors", [])
        return refused(exc, _again(report_id, row_errors=rows, **forms))
    commit()
    flash(success, "success")
    return redirect(url_for("testing_reports.report_page", report_id=report_id))


@bp.route("/reports/<int:report_id>/results", methods=["POST"])
@login_required
def save_results(report_id: int):
    report = _report(report_id)
    form = ResultsForm()
    if not form.validate_on_submit():
        return refuse_form(form, _again(report_id, results_form=form))
    rows = grid_rows(request.form, report.order)

    def work():
        count = reports.set_results(current_user, report, rows)
        report.conclusion = (form.conclusion.data or "").strip()
        return count

    return _results(report_id, work, _("The results are saved."), results_form=form)


@bp.route("/reports/<int:report_id>/import", methods=["POST"])
@login_required
def import_results(report_id: int):
    report = _report(report_id)
    form = FileForm()
    if not form.validate_on_submit():
        return refuse_form(form, _again(report_id, file_form=form))

    def work():
        data, _name = read_upload(form.file.data, current_app.config.get("MAX_CSV_BYTES", 2**21))
        # the header is line 1: the first result is line 2
        return reports.set_results(current_user, report, reports.rows_from_csv(data), 2)

    return _results(report_id, work, _("The results are imported."), file_form=form)


@bp.route("/reports/<int:report_id>/upload", methods=["POST"])
@login_required
def upload(report_id: int):
    report = _report(report_id)
    form = FileForm()
    if not form.validate_on_submit():
        return refuse_form(form, _again(report_id, file_form=form))

    def work():
        data, name = read_upload(form.file.data, reports.MAX_REPORT_PDF_BYTES)
        return reports.upload_pdf(current_user, report, data, name)

    return perform(
        work,
        done=url_for("testing_reports.report_page", report_id=report.id),
        success=_("The report PDF is uploaded."),
        again=_again(report_id, file_form=form),
    )


@bp.route(
    "/reports/<int:report_id>/sign/<any(prepared, reviewed, approved):role>", methods=["POST"]
)
@login_required
def sign(report_id: int, role: str):
    report = _report(report_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return perform(
        lambda: reports.sign(current_user, report, SignRole(role)),
        done=url_for("testing_reports.report_page", report_id=report.id),
        success=_("Signed."),
        again=_again(report_id),
    )


@bp.route("/reports/<int:report_id>/issue", methods=["POST"])
@login_required
def issue(report_id: int):
    report = _report(report_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return perform(
        lambda: reports.issue(current_user, report),
        done=url_for("testing_reports.report_page", report_id=report.id),
        success=_("The report is issued."),
        again=_again(report_id),
    )


@bp.route("/reports/<int:report_id>/<any(amend, withdraw):action>", methods=["POST"])
@login_required
def change(report_id: int, action: str):
    report = _report(report_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        return refuse_form(form, _again(report_id, reason_form=form))
    if action == "amend":
        return perform(
            lambda: reports.amend(current_user, report, form.reason.data),
            done=lambda draft: _to(draft),
            success=_("A new version is open; issue it to replace this report."),
            again=_again(report_id, reason_form=form),
            form=form,
        )
    return perform(
        lambda: reports.withdraw(current_user, report, form.reason.data),
        done=url_for("testing_reports.report_page", report_id=report.id),
        success=_("The report is withdrawn."),
        again=_again(report_id, reason_form=form),
        form=form,
    )


@bp.route("/reports/<int:report_id>/pdf")
@login_required
def pdf(report_id: int):
    report = _report(report_id)
    document = report.issued_pdf if report.is_issued else report.uploaded_pdf
    if document is None or (not report.is_issued and not report.is_lab_staff(current_user)):
        abort(404)
    return send_stored(document)


@bp.app_template_global("reports_of_order")
def reports_of_order(order) -> list[Report]:
    """The order's reports the signed-in user may read (the order page lists them)."""
    return [
        r
        for r in db.session.scalars(
            db.select(Report).where(Report.order_id == order.id).order_by(Report.id)
        )
        if r.can_view(current_user)
    ]


def _verify_limit() -> str:
    return current_app.config["SIGNIN_RATE_LIMIT"]


def _nothing_asked() -> bool:
    return not (request.args.get("no") or request.args.get("code"))


@bp.route("/reports/verify")
@limiter.limit(_verify_limit, exempt_when=_nothing_asked)
def verify():
    """Public: a report number and its code give the issuing lab, the date, the sample
    names, the overall verdict and the status; anything else gives nothing."""
    number, code = request.args.get("no", ""), request.args.get("code", "")
    asked = bool(number or code)
    report = reports.verify(number, code) if asked else None
    status = 200 if report is not None or not asked else 404
    return render_template(
        "testing/verify.html",
        report=report,
        asked=asked,
        number=number[:40],
        statuses=ReportStatus,
    ), status
