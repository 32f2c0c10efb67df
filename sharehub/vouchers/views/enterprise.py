"""Voucher pages: the enterprise's programmes and quotas, the voucher at checkout and the
public notice of claims. The authority's pages are in authority_views, claims in
claim_views; all on this blueprint."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.accounts.models import Organisation, OrgKind
from sharehub.accounts.session import current_org
from sharehub.billing.models import Invoice
from sharehub.core.actions import page, refused
from sharehub.core.clock import local_today
from sharehub.core.errors import DomainError, ValidationError
from sharehub.core.forms import ConfirmForm
from sharehub.core.tx import commit
from sharehub.extensions import db
from sharehub.vouchers import services
from sharehub.vouchers.blueprint import bp
from sharehub.vouchers.forms import ApplyForm, fen
from sharehub.vouchers.models import (
    ClaimStatus,
    SettlementClaim,
    VoucherProgramme,
    VoucherQuota,
    VoucherUse,
)


def _checked() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


def my_authority() -> Organisation:
    org = current_org()
    if org is None or org.kind != OrgKind.AUTHORITY or not current_user.can_manage(org):
        abort(403)
    return org


def my_firm() -> Organisation:
    org = current_org()
    if org is None or org.kind != OrgKind.ENTERPRISE:
        abort(403)
    return org


def authority_programme(programme_id: int) -> VoucherProgramme:
    """A programme of the authority the user manages now; any other is not found."""
    authority = my_authority()
    programme = db.session.get(VoucherProgramme, programme_id)
    if programme is None or programme.authority_id != authority.id:
        abort(404)
    return programme


@bp.route("/")
@login_required
def index():
    org = current_org()
    kind = org.kind if org is not None else None
    if kind == OrgKind.AUTHORITY:
        return redirect(url_for("vouchers.programmes"))
    if kind == OrgKind.LAB:
        return redirect(url_for("vouchers.lab_claims"))
    return redirect(url_for("vouchers.my_quotas"))


# --- the enterprise ------------------------------------------------------------------------


@bp.route("/available")
@login_required
def available():
    return _available(my_firm())


def _available(firm: Organisation, posted: ApplyForm | None = None, status: int = 200):
    """The programmes open now; `posted` is a refused application, shown with what was typed."""
    today = local_today()
    rows = db.session.scalars(
        sa.select(VoucherProgramme)
        .where(VoucherProgramme.valid_to >= today)
        .order_by(VoucherProgramme.valid_to, VoucherProgramme.id)
    ).all()
    applied = {
        (q.programme_id, q.year)
        for q in db.session.scalars(sa.select(VoucherQuota).where(VoucherQuota.firm_id == firm.id))
    }
    offers = []
    for programme in rows:
        years = [
            y for y in services.open_years(programme, today) if (programme.id, y) not in applied
        ]
        prefix = f"p{programme.id}"
        form = posted if posted is not None and posted._prefix == prefix + "-" else None
        if form is None:
            form = ApplyForm(prefix=prefix, formdata=None)
            form.amount.data = Decimal(programme.yearly_cap) / 100
        form.year.choices = [(y, str(y)) for y in years]
        offers.append((programme, form, years))
    return render_template("vouchers/available.html", offers=offers, firm=firm), status


@bp.route("/programmes/<int:programme_id>/apply", methods=["POST"])
@login_required
def apply(programme_id: int):
    firm = my_firm()
    programme = db.session.get(VoucherProgramme, programme_id)
    if programme is None:
        abort(404)
    form = ApplyForm(prefix=f"p{programme.id}")
    form.year.choices = [(y, str(y)) for y in services.open_years(programme)]
    if not form.validate_on_submit():
        flash(_("Choose a year and give the amount in yuan."), "danger")
        return _available(firm, form, 400)
    try:
        services.apply_for_quota(
            current_user, firm, programme, form.year.data, fen(form.amount.data)
        )
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return _available(firm, form, exc.status)
    commit()
    flash(_("Your application has been sent to the authority."), "success")
    return redirect(url_for("vouchers.my_quotas"))


@bp.route("/quotas")
@login_required
def my_quotas():
    firm = my_firm()
    quotas = db.session.scalars(
        sa.select(VoucherQuota)
        .where(VoucherQuota.firm_id == firm.id)
        .order_by(VoucherQuota.year.desc(), VoucherQuota.id.desc())
    ).all()
    uses = db.session.scalars(
        sa.select(VoucherUse)
        .join(VoucherQuota)
        .where(VoucherQuota.firm_id == firm.id)
        .order_by(VoucherUse.id.desc())
        .limit(200)
    ).all()
    return render_template("vouchers/quotas.html", quotas=quotas, uses=uses, firm=firm)


# --- checkout --------------------------------------------------------------------------------


@bp.route("/invoices/<int:invoice_id>/apply", methods=["POST"])
@login_required
def apply_to_invoice(invoice_id: int):
    invoice = db.session.get(Invoice, invoice_id)
    if (
        invoice is None
        or invoice.is_draft
        or current_user.membership_in(invoice.customer_org_id) is None
    ):
        abort(404)
    _checked()
    quota = db.session.get(VoucherQuota, request.form.get("quota_id", type=int) or 0)
    back = redirect(url_for("billing.invoice_page", invoice_id=invoice.id))
    again = page("billing.invoice_page", invoice_id=invoice.id)
    if quota is None or quota.firm_id != invoice.customer_org_id:
        return refused(ValidationError(_("Choose one of your granted quotas.")), again=again)
    try:
        use = services.use_voucher(current_user, quota, invoice)
    except DomainError as exc:
        return refused(exc, again=again)
    commit()
    flash(
        _(
            "The voucher pays %(amount)s of this statement; %(rest)s remain to pay.",
            amount=_money(use.amount),
            rest=_money(invoice.outstanding),
        ),
        "success",
    )
    return back


def _money(fen_amount: int) -> str:
    from sharehub.core.money import format_fen

    return format_fen(fen_amount)


@bp.app_template_global()
def voucher_options(invoice: Invoice):
    """For the invoice page's payment box: the viewer's quotas and what each pays now."""
    if not current_user.is_authenticated:
        return []
    return services.checkout_options(current_user, invoice)


# --- public notice ---------------------------------------------------------------------------


@bp.route("/notices")
def notices():
    """Claims under public notice (公示): anyone may read them and raise an objection."""
    claims = db.session.scalars(
        sa.select(SettlementClaim)
        .where(SettlementClaim.status == ClaimStatus.PUBLICISED)
        .order_by(SettlementClaim.notice_until, SettlementClaim.id)
    ).all()
    firms = _firm_names([c.id for c in claims])
    return render_template("vouchers/notices.html", claims=claims, firms=firms)


def _firm_names(claim_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    if not claim_ids:
        return names
    rows = db.session.execute(
        sa.select(VoucherUse.claim_id, Organisation.name)
        .join(VoucherQuota, VoucherQuota.id == VoucherUse.quota_id)
        .join(Organisation, Organisation.id == VoucherQuota.firm_id)
        .where(VoucherUse.claim_id.in_(claim_ids))
        .distinct()
        .order_by(Organisation.name)
    )
    for claim_id, name in rows:
        names.setdefault(claim_id, []).append(name)
    return names
