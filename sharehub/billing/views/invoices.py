"""Invoice pages for labs (draft, add lines, issue, void) and customers (list, PDF)."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import (
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from sharehub.accounts.models import Organisation
from sharehub.accounts.session import current_org
from sharehub.billing import payments, services
from sharehub.billing.blueprint import bp
from sharehub.billing.forms import (
    InvoiceLineForm,
    PaymentForm,
    PayOnlineForm,
    RefundSentForm,
    VoidForm,
)
from sharehub.billing.models import METHOD_LABELS, Invoice, InvoiceStatus
from sharehub.billing.pdf import invoice_pdf
from sharehub.booking.models import AccessGrant, Booking
from sharehub.core.actions import page, perform, refused
from sharehub.core.clock import local_date, local_today
from sharehub.core.dates import format_month
from sharehub.core.errors import DomainError, NotFound, ValidationError
from sharehub.core.forms import ConfirmForm, refuse_form
from sharehub.core.i18n import user_zone
from sharehub.core.inputs import check_date
from sharehub.core.money import format_fen
from sharehub.core.tx import commit
from sharehub.extensions import csrf, db


def _checked():
    if not ConfirmForm().validate_on_submit():
        abort(400)


def _invoice(invoice_id: int) -> Invoice:
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or not invoice.can_view(current_user):
        abort(404)
    return invoice


@bp.route("/bookings/<int:booking_id>/invoice", methods=["POST"])
@login_required
def create_from_booking(booking_id: int):
    booking = db.session.get(Booking, booking_id)
    if booking is None or not booking.is_lab_manager(current_user):
        abort(404)
    _checked()
    return perform(
        lambda: services.invoice_from_booking(current_user, booking),
        done=lambda invoice: redirect(url_for("billing.invoice_page", invoice_id=invoice.id)),
        again=page("booking.booking_page", booking_id=booking.id),
    )


@bp.route("/access/<int:grant_id>/invoice", methods=["POST"])
@login_required
def create_from_access_grant(grant_id: int):
    """The lab drafts the invoice of a paid dataset access grant (or opens the one it has)."""
    grant = db.session.get(AccessGrant, grant_id)
    if grant is None or not current_user.can_manage(grant.listing.lab):
        abort(404)
    _checked()
    existing = services.live_access_invoice(grant)
    if existing is not None:
        return redirect(url_for("billing.invoice_page", invoice_id=existing.id))
    return perform(
        lambda: services.invoice_from_access_grant(current_user, grant),
        done=lambda invoice: redirect(url_for("billing.invoice_page", invoice_id=invoice.id)),
        again=page("booking.my_access"),
    )


@bp.route("/invoices/<int:invoice_id>")
@login_required
def invoice_page(invoice_id: int):
    return _invoice_response(_invoice(invoice_id))


def _invoice_response(invoice: Invoice, status: int = 200):
    """The invoice page; after a refusal, with the refusal's status and its message."""
    from flask import current_app

    from sharehub.billing.gateways import REGISTRY
    from sharehub.billing.online import accepted_accounts, gateway_origins
    from sharehub.billing.provider import gateway
    from sharehub.core.security import csp

    online = gateway() is not None
    # The methods this statement's lab accepts: Stripe where the platform has it, and the
    # lab's own merchant accounts.
    merchant = accepted_accounts(invoice.lab_id)
    response = make_response(
        render_template(
            "billing/invoice.html",
            invoice=invoice,
            online_payment=online,
            merchant_accounts=merchant,
            account_channels={kind: cls.channels for kind, cls in REGISTRY.items()},
            is_lab=invoice.can_manage(current_user),
            confirm_form=ConfirmForm(),
        ),
        status,
    )
    targets = (current_app.config["STRIPE_CHECKOUT_ORIGIN"] if online else "") + (
        " " + gateway_origins(invoice.lab_id) if merchant else ""
    )
    if targets.strip():
        response.headers["Content-Security-Policy"] = csp(targets.strip())
    return response


ACTION_FORMS = {"line": InvoiceLineForm, "void": VoidForm}


@bp.route("/invoices/<int:invoice_id>/<any(line, issue, void):action>", methods=["POST"])
@login_required
def invoice_action(invoice_id: int, action: str):
    invoice = _invoice(invoice_id)
    form = ACTION_FORMS.get(action, ConfirmForm)()
    again = lambda: _invoice_response(invoice)  # noqa: E731
    if not form.validate_on_submit():
        return refuse_form(form, again)

    def change() -> Invoice:
        if action == "line":
            services.add_line(
                current_user,
                invoice,
                form.description.data,
                form.quantity.data,
                form.unit_price.data,
            )
        elif action == "issue":
            services.issue(current_user, invoice)
        else:
            return services.void(current_user, invoice, form.reason.data)
        return invoice

    return perform(
        change,
        done=lambda target: redirect(url_for("billing.invoice_page", invoice_id=target.id)),
        success=_("The statement has been updated."),
        again=again,
    )


@bp.route("/invoices/<int:invoice_id>/payments", methods=["POST"])
@login_required
def record_payment(invoice_id: int):
    invoice = _invoice(invoice_id)
    form = PaymentForm()
    again = lambda: _invoice_response(invoice)  # noqa: E731
    if not form.validate_on_submit():
        return refuse_form(form, again)

    def record() -> int:
        payment = payments.record_bank_transfer(
            current_user,
            invoice,
            form.amount.data,
            form.paid_date.data,
            form.payer_reference.data,
            seen_outstanding=form.seen_outstanding.data,
        )
        return sum(refund.amount for refund in payment.refunds)

    def recorded(overpaid: int):
        if overpaid:
            flash(
                _(
                    "The payment has been recorded. Another payment came in meanwhile: "
                    "%(amount)s received beyond what is owed is to be refunded.",
                    amount=format_fen(overpaid),
                ),
                "warning",
            )
        else:
            flash(_("The payment has been recorded."), "success")
        return redirect(url_for("billing.invoice_page", invoice_id=invoice.id))

    return perform(record, done=recorded, again=again)


@bp.route("/refunds/<int:refund_id>/sent", methods=["POST"])
@login_required
def refund_sent(refund_id: int):
    from sharehub.billing import refunds
    from sharehub.billing.models import Refund

    refund = db.session.get(Refund, refund_id)
    if refund is None or not refund.invoice.can_manage(current_user):
        abort(404)
    form = RefundSentForm()
    again = lambda: _invoice_response(refund.invoice)  # noqa: E731
    if not form.validate_on_submit():
        return refuse_form(form, again)
    return perform(
        lambda: refunds.record_refund_sent(
            current_user, refund, form.sent_date.data, form.reference.data
        ),
        done=url_for("billing.invoice_page", invoice_id=refund.invoice_id),
        success=_("The refund has been recorded as paid."),
        again=again,
    )


@bp.route("/lab/revenue")
@login_required
def revenue():
    org = current_org()
    if org is None or not org.is_lab or not current_user.can_manage(org):
        abort(403)
    year = request.args.get("year", local_today().year, type=int)
    rows = payments.revenue_by_month(org.id, year)
    open_invoices = db.session.scalars(
        sa.select(Invoice)
        .where(
            Invoice.lab_id == org.id, Invoice.status == "issued", Invoice.is_credit_note.is_(False)
        )
        .order_by(Invoice.issued_dt)
        # what each one still owes, read for all at once rather than invoice by invoice
        .options(
            so.selectinload(Invoice.payments),
            so.selectinload(Invoice.refunds),
            so.selectinload(Invoice.credit_notes),
        )
    ).all()
    return render_template(
        "billing/revenue.html", rows=rows, year=year, open_invoices=open_invoices
    )


@bp.route("/invoices/<int:invoice_id>.pdf")
@login_required
def invoice_pdf_download(invoice_id: int):
    invoice = _invoice(invoice_id)
    name = invoice.number or f"draft-{invoice.id}"
    return Response(
        invoice_pdf(invoice, "en" if current_user.locale == "en" else "zh_CN"),
        mimetype="application/pdf",
        headers={"Content-Disposition": f"attachment; filename={name}.pdf"},
    )


@bp.route("/invoices")
@login_required
def invoices():
    """The organisation's statements as customer, and as issuer for a lab, newest first and
    grouped by month, a page at a time; filtered by state (unpaid first of all) and by
    number or the other party's name."""
    org = current_org()
    if org is None:
        abort(404)
    as_lab = org.is_lab and current_user.can_manage(org)
    if as_lab and request.args.get("side") != "customer":
        where = [Invoice.lab_id == org.id]
        party_id, side = Invoice.customer_org_id, "lab"
    else:
        where = [Invoice.customer_org_id == org.id, Invoice.issued_dt.is_not(None)]
        party_id, side = Invoice.lab_id, "customer"
    status = request.args.get("status", "")
    if status in STATEMENT_FILTERS:
        where.append(Invoice.status == STATEMENT_FILTERS[status])
    else:
        status = ""
    q = request.args.get("q", "").strip()[:100]
    if q:
        party = sa.select(Organisation.id).where(
            sa.or_(
                Organisation.name.contains(q, autoescape=True),
                sa.func.lower(Organisation.name_en).contains(q.lower(), autoescape=True),
            )
        )
        where.append(sa.or_(Invoice.number.contains(q, autoescape=True), party_id.in_(party)))
    query = (
        sa.select(Invoice)
        .where(*where)
        .options(
            so.joinedload(Invoice.lab),
            so.joinedload(Invoice.customer_org),
            so.selectinload(Invoice.payments),
            so.selectinload(Invoice.refunds),
            so.selectinload(Invoice.credit_notes),
        )
        .order_by(Invoice.issued_dt.desc().nulls_first(), Invoice.id.desc())
    )
    listing = db.paginate(query, per_page=STATEMENTS_PER_PAGE, error_out=False)
    total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Invoice.gross_total), 0)).where(*where)
    )
    months: dict[str, list[Invoice]] = {}
    for invoice in listing.items:
        key = format_month(local_date(invoice.issued_dt)) if invoice.issued_dt else _("Drafts")
        months.setdefault(key, []).append(invoice)
    return render_template(
        "billing/list.html",
        months=months,
        side=side,
        as_lab=as_lab,
        page=listing,
        status=status,
        q=q,
        total=total,
    )


STATEMENTS_PER_PAGE = 50
# The state filter of the statements list; "unpaid" is an issued statement not yet paid.
STATEMENT_FILTERS = {
    "unpaid": InvoiceStatus.ISSUED,
    "paid": InvoiceStatus.PAID,
    "draft": InvoiceStatus.DRAFT,
    "void": InvoiceStatus.VOID,
}


@bp.route("/invoices/<int:invoice_id>/pay", methods=["POST"])
@login_required
def pay_online(invoice_id: int):
    from sharehub.billing import gateway

    invoice = _invoice(invoice_id)
    form = PayOnlineForm()
    again = lambda: _invoice_response(invoice)  # noqa: E731
    if not form.validate_on_submit():
        return refuse_form(form, again)
    back = url_for("billing.invoice_page", invoice_id=invoice.id, _external=True)
    try:
        target = gateway.start_online_payment(invoice, form.method.data, back + "?paid=1", back)
    except DomainError as exc:
        return refused(exc, again=again)
    return redirect(target, code=303)


@bp.route("/webhooks/stripe", methods=["POST"])
@csrf.exempt
def stripe_webhook():
    from sharehub.billing import gateway, provider

    gw = provider.gateway()
    if gw is None:
        abort(404)
    try:
        event = gw.verify(request.get_data(), request.headers.get("Stripe-Signature", ""))
    except provider.SignatureError:
        return {"error": "invalid signature"}, 400
    try:
        outcome = gateway.handle_event(event)
        commit()
    except IntegrityError:
        # A concurrent delivery of the same event (or of the other event of the same
        # payment) committed first: handled again, it is now a duplicate, acknowledged.
        db.session.rollback()
        outcome = gateway.handle_event(event)
        commit()
    return {"received": event["id"], "outcome": outcome}


def _month_arg() -> tuple[int, int]:
    """?month=YYYY-MM, this month by default (in the labs' time zone)."""
    today = local_today()
    try:
        year, month = (int(part) for part in request.args.get("month", "").split("-"))
        first = date(year, month, 1)
    except ValueError:
        return today.year, today.month
    check_date(first, field="month")
    return year, month


def _csv(filename: str, header: list[str], rows) -> Response:
    from sharehub.core.csvfile import csv_text

    return Response(
        csv_text(header, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


@bp.route("/invoices/statement")
@login_required
def statement():
    """The organisation's monthly statement of all its orders."""
    from sharehub.billing import queries

    org = current_org()
    if org is None:
        abort(404)
    year, month = _month_arg()
    rows = queries.statement(org.id, year, month)
    totals = {
        key: sum(row[key] for row in rows)
        for key in ("amount", "invoiced", "voucher", "paid", "open")
    }
    label = f"{year}-{month:02d}"
    if request.args.get("format") == "csv":
        return _csv(
            f"statement-{label}.csv",
            [
                _("Booking"),
                _("Start"),
                _("Listing"),
                _("Status"),
                _("Amount"),
                _("Statement"),
                _("Billed"),
                _("Voucher"),
                _("Paid"),
                _("Open"),
            ],
            [
                [
                    r["booking_id"],
                    r["starts_dt"].astimezone(user_zone()).strftime("%Y-%m-%d %H:%M"),
                    r["listing"],
                    r["status"].value,
                    f"{r['amount'] / 100:.2f}",
                    r["invoice_number"],
                    f"{r['invoiced'] / 100:.2f}",
                    f"{r['voucher'] / 100:.2f}",
                    f"{r['paid'] / 100:.2f}",
                    f"{r['open'] / 100:.2f}",
                ]
                for r in rows
            ],
        )
    previous = date(year, month, 1) - timedelta(days=1)
    following = date(year + month // 12, month % 12 + 1, 1)
    from sharehub.booking.models import STATUS_LABELS

    return render_template(
        "billing/statement.html",
        booking_status_labels=STATUS_LABELS,
        rows=rows,
        totals=totals,
        label=label,
        previous=previous.strftime("%Y-%m"),
        following=following.strftime("%Y-%m"),
        shown_month=date(year, month, 1),
        previous_month=previous,
        following_month=following,
    )


def _managed_lab():
    org = current_org()
    if org is None or not org.is_lab or not current_user.can_manage(org):
        abort(403)
    return org


@bp.route("/lab/reconciliation")
@login_required
def reconciliation():
    from sharehub.billing import queries

    lab = _managed_lab()
    year, month = _month_arg()
    previous = date(year, month, 1) - timedelta(days=1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return render_template(
        "billing/reconciliation.html",
        method_labels=METHOD_LABELS,
        money=queries.lab_money(lab.id, year, month),
        label=f"{year}-{month:02d}",
        previous=previous.strftime("%Y-%m"),
        following=following.strftime("%Y-%m"),
        shown_month=date(year, month, 1),
        previous_month=previous,
        following_month=following,
        lines=None,
        confirm_form=ConfirmForm(),
    )


@bp.route("/lab/reconciliation/statement", methods=["POST"])
@login_required
def match_bank_statement():
    """Read a bank statement and show which receipts match which open invoices."""
    from sharehub.billing import queries
    from sharehub.core.errors import ValidationError

    lab = _managed_lab()
    _checked()
    upload = request.files.get("statement")
    year, month = _month_arg()
    try:
        if upload is None or not upload.filename:
            raise ValidationError(_("Choose the bank statement file (CSV)."))
        data = upload.read(2 * 1024 * 1024 + 1)
        if len(data) > 2 * 1024 * 1024:
            raise ValidationError(_("The file is larger than 2 MB."))
        lines = queries.match_statement(lab.id, queries.parse_bank_statement(data))
    except DomainError as exc:  # the month's page again (the form posts with its ?month=)
        return refused(exc, again=page("billing.reconciliation"))
    return render_template(
        "billing/reconciliation.html",
        method_labels=METHOD_LABELS,
        money=queries.lab_money(lab.id, year, month),
        label=f"{year}-{month:02d}",
        previous=None,
        following=None,
        lines=lines,
        confirm_form=ConfirmForm(),
    )


@bp.route("/lab/reconciliation/record", methods=["POST"])
@login_required
def record_matched():
    """Record the ticked receipts as bank transfers, all or none."""
    lab = _managed_lab()
    _checked()

    def record() -> int:
        count = 0
        for key in request.form.getlist("line"):
            invoice = db.session.get(Invoice, request.form.get(f"invoice-{key}", type=int) or 0)
            if invoice is None or invoice.lab_id != lab.id:
                raise NotFound(_("A line refers to a statement of another laboratory."))
            try:
                amount = int(request.form.get(f"amount-{key}", ""))
                paid = date.fromisoformat(request.form.get(f"date-{key}", ""))
            except ValueError as exc:
                raise ValidationError(_("A line has no valid amount or date.")) from exc
            payments.record_bank_transfer(
                current_user, invoice, amount, paid, request.form.get(f"reference-{key}", "")
            )
            count += 1
        return count

    def recorded(count: int):
        flash(_("%(n)s receipts recorded.", n=count), "success")
        return redirect(url_for("billing.reconciliation"))

    return perform(record, done=recorded, again=page("billing.reconciliation"))
