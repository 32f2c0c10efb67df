"""Invoice pages for labs (draft, add lines, issue, void) and customers (list, PDF)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from sharehub.accounts.forms import ConfirmForm
from sharehub.accounts.session import current_org
from sharehub.billing import payments, services
from sharehub.billing.models import Invoice
from sharehub.billing.pdf import invoice_pdf
from sharehub.booking.models import Booking
from sharehub.core.errors import DomainError
from sharehub.core.tx import commit
from sharehub.extensions import csrf, db

bp = Blueprint("billing", __name__)


def _checked():
    if not ConfirmForm().validate_on_submit():
        abort(400)


def _invoice(invoice_id: int) -> Invoice:
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None:
        abort(404)
    is_lab = current_user.can_manage(invoice.lab)
    is_customer = current_user.membership_in(invoice.customer_org_id) is not None
    if not (is_lab or is_customer and not invoice.is_draft or current_user.is_platform_admin):
        abort(404)
    return invoice


@bp.route("/bookings/<int:booking_id>/invoice", methods=["POST"])
@login_required
def create_from_booking(booking_id: int):
    booking = db.session.get(Booking, booking_id)
    if booking is None or not booking.is_lab_manager(current_user):
        abort(404)
    _checked()
    try:
        invoice = services.invoice_from_booking(current_user, booking)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for("booking.booking_page", booking_id=booking.id))
    commit()
    return redirect(url_for("billing.invoice_page", invoice_id=invoice.id))


@bp.route("/invoices/<int:invoice_id>")
@login_required
def invoice_page(invoice_id: int):
    from sharehub.billing.gateway import gateway

    invoice = _invoice(invoice_id)
    return render_template(
        "billing/invoice.html",
        invoice=invoice,
        online_payment=gateway() is not None,
        is_lab=current_user.can_manage(invoice.lab),
        confirm_form=ConfirmForm(),
    )


@bp.route("/invoices/<int:invoice_id>/<any(line, issue, void):action>", methods=["POST"])
@login_required
def invoice_action(invoice_id: int, action: str):
    invoice = _invoice(invoice_id)
    _checked()
    target = invoice
    try:
        if action == "line":
            try:
                price = int(Decimal(request.form.get("unit_price", "")) * 100)
            except InvalidOperation as exc:
                raise DomainError(_("A price is a number of yuan, e.g. 200 or 99.5.")) from exc
            services.add_line(
                current_user,
                invoice,
                request.form.get("description", ""),
                request.form.get("quantity", "1"),
                price,
            )
        elif action == "issue":
            services.issue(current_user, invoice)
        else:
            target = services.void(current_user, invoice, request.form.get("reason", ""))
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
    else:
        commit()
        flash(_("The invoice has been updated."), "success")
    return redirect(url_for("billing.invoice_page", invoice_id=target.id))


@bp.route("/invoices/<int:invoice_id>/payments", methods=["POST"])
@login_required
def record_payment(invoice_id: int):
    invoice = _invoice(invoice_id)
    _checked()
    try:
        try:
            amount = int((Decimal(request.form.get("amount", "")) * 100).to_integral_value())
            paid = date.fromisoformat(request.form.get("paid_date", ""))
        except (InvalidOperation, ValueError) as exc:
            raise DomainError(_("Give the amount in yuan and the date as YYYY-MM-DD.")) from exc
        payments.record_bank_transfer(
            current_user, invoice, amount, paid, request.form.get("payer_reference", "")
        )
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
    else:
        commit()
        flash(_("The payment has been recorded."), "success")
    return redirect(url_for("billing.invoice_page", invoice_id=invoice.id))


@bp.route("/lab/revenue")
@login_required
def revenue():
    org = current_org()
    if org is None or not org.is_lab or not current_user.can_manage(org):
        abort(403)
    year = request.args.get("year", datetime.now().year, type=int)
    rows = payments.revenue_by_month(org.id, year)
    open_invoices = db.session.scalars(
        sa.select(Invoice)
        .where(
            Invoice.lab_id == org.id, Invoice.status == "issued", Invoice.is_credit_note.is_(False)
        )
        .order_by(Invoice.issued_dt)
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
    """The organisation's invoices as customer, and as issuer for a lab, by month."""
    org = current_org()
    if org is None:
        abort(404)
    as_lab = org.is_lab and current_user.can_manage(org)
    query = sa.select(Invoice).order_by(Invoice.issued_dt.desc().nulls_first(), Invoice.id.desc())
    if as_lab and request.args.get("side") != "customer":
        query = query.where(Invoice.lab_id == org.id)
        side = "lab"
    else:
        query = query.where(Invoice.customer_org_id == org.id, Invoice.issued_dt.is_not(None))
        side = "customer"
    rows = db.session.scalars(query.limit(500)).all()
    months: dict[str, list[Invoice]] = {}
    for invoice in rows:
        key = (
            (invoice.issued_dt or datetime.now()).strftime("%Y-%m")
            if invoice.issued_dt
            else _("Drafts")
        )
        months.setdefault(key, []).append(invoice)
    return render_template("billing/list.html", months=months, side=side, as_lab=as_lab)


@bp.route("/invoices/<int:invoice_id>/pay", methods=["POST"])
@login_required
def pay_online(invoice_id: int):
    from sharehub.billing import gateway
    from sharehub.billing.models import PaymentMethod

    invoice = _invoice(invoice_id)
    _checked()
    back = url_for("billing.invoice_page", invoice_id=invoice.id, _external=True)
    try:
        method = PaymentMethod(request.form.get("method", ""))
        target = gateway.start_online_payment(invoice, method, back + "?paid=1", back)
    except (ValueError, DomainError) as exc:
        flash(str(getattr(exc, "message", _("Choose card, Alipay or WeChat Pay."))), "danger")
        return redirect(url_for("billing.invoice_page", invoice_id=invoice.id))
    return redirect(target, code=303)


@bp.route("/webhooks/stripe", methods=["POST"])
@csrf.exempt
def stripe_webhook():
    from sharehub.billing import gateway

    gw = gateway.gateway()
    if gw is None:
        abort(404)
    try:
        event = gw.verify(request.get_data(), request.headers.get("Stripe-Signature", ""))
    except gateway.SignatureError:
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
