"""Voucher pages: the authority's programmes, applications and report; the enterprise's
quotas; the voucher at checkout; the public notice of claims. Claims are in claim_views."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.accounts.forms import ConfirmForm
from sharehub.accounts.models import Organisation, OrgKind
from sharehub.accounts.session import current_org
from sharehub.billing.models import Invoice
from sharehub.booking.availability import LAB_TZ
from sharehub.core.errors import DomainError
from sharehub.core.forms import attach_error
from sharehub.core.tx import commit
from sharehub.extensions import db
from sharehub.vouchers import queries, services
from sharehub.vouchers.forms import ApplyForm, GrantForm, ProgrammeForm, ReasonForm, fen
from sharehub.vouchers.models import (
    ClaimStatus,
    SettlementClaim,
    VoucherProgramme,
    VoucherQuota,
    VoucherUse,
)

bp = Blueprint("vouchers", __name__, url_prefix="/vouchers")


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


# --- the authority -------------------------------------------------------------------------


@bp.route("/programmes")
@login_required
def programmes():
    authority = my_authority()
    rows = db.session.scalars(
        sa.select(VoucherProgramme)
        .where(VoucherProgramme.authority_id == authority.id)
        .order_by(VoucherProgramme.valid_from.desc(), VoucherProgramme.id.desc())
    ).all()
    pending = dict(
        db.session.execute(
            sa.select(VoucherQuota.programme_id, sa.func.count(VoucherQuota.id))
            .join(VoucherProgramme)
            .where(VoucherProgramme.authority_id == authority.id, VoucherQuota.status == "applied")
            .group_by(VoucherQuota.programme_id)
        ).all()
    )
    return render_template("vouchers/programmes.html", programmes=rows, pending=pending)


@bp.route("/programmes/new", methods=["GET", "POST"])
@login_required
def new_programme():
    authority = my_authority()
    form = ProgrammeForm()
    form.fill_choices()
    if form.validate_on_submit():
        try:
            programme = services.create_programme(
                current_user,
                authority,
                name=form.name.data,
                subsidy_bp=int((form.subsidy_percent.data * 100).to_integral_value()),
                yearly_cap=fen(form.yearly_cap.data),
                order_cap=fen(form.order_cap.data),
                valid_from=form.valid_from.data,
                valid_to=form.valid_to.data,
                notice_days=form.notice_days.data,
                region_ids=form.region_ids.data or [],
                cluster_ids=form.cluster_ids.data or [],
                fields=form.fields.data or [],
                lab_ids=form.lab_ids.data or [],
            )
        except DomainError as exc:
            db.session.rollback()
            attach_error(form, exc)
        else:
            commit()
            flash(_("The programme has been created."), "success")
            return redirect(url_for("vouchers.programme_page", programme_id=programme.id))
    status = 400 if request.method == "POST" else 200
    return render_template("vouchers/programme_form.html", form=form), status


@bp.route("/programmes/<int:programme_id>")
@login_required
def programme_page(programme_id: int):
    programme = authority_programme(programme_id)
    quotas = db.session.scalars(
        sa.select(VoucherQuota)
        .where(VoucherQuota.programme_id == programme.id)
        .order_by((VoucherQuota.status == "applied").desc(), VoucherQuota.id.desc())
    ).all()
    claims = db.session.scalars(
        sa.select(SettlementClaim)
        .where(
            SettlementClaim.programme_id == programme.id,
            SettlementClaim.status != ClaimStatus.DRAFT,
        )
        .order_by(SettlementClaim.id.desc())
    ).all()
    uses = db.session.scalars(
        sa.select(VoucherUse)
        .join(VoucherQuota)
        .where(VoucherQuota.programme_id == programme.id)
        .order_by(VoucherUse.id.desc())
        .limit(200)
    ).all()
    labs = {
        o.id: o
        for o in db.session.scalars(
            sa.select(Organisation).where(
                Organisation.id.in_([*programme.barred_lab_ids, *programme.lab_ids] or [0])
            )
        )
    }
    return render_template(
        "vouchers/programme.html",
        programme=programme,
        quotas=quotas,
        claims=claims,
        uses=uses,
        labs=labs,
        grant_form=GrantForm(),
        reason_form=ReasonForm(),
        confirm_form=ConfirmForm(),
    )


@bp.route("/quotas/<int:quota_id>/<any(grant, reject):action>", methods=["POST"])
@login_required
def decide_quota(quota_id: int, action: str):
    quota = db.session.get(VoucherQuota, quota_id)
    if quota is None:
        abort(404)
    authority_programme(quota.programme_id)
    form = GrantForm() if action == "grant" else ReasonForm()
    back = redirect(url_for("vouchers.programme_page", programme_id=quota.programme_id))
    if not form.validate_on_submit():
        flash(
            _("Give the amount in yuan, e.g. 50000.")
            if action == "grant"
            else _("Give the reason for the refusal."),
            "danger",
        )
        return back
    try:
        if action == "grant":
            services.grant_quota(current_user, quota, fen(form.amount.data))
        else:
            services.reject_quota(current_user, quota, form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return back
    commit()
    flash(
        _("The quota has been granted.") if action == "grant" else _("The application is refused."),
        "success",
    )
    return back


@bp.route("/uses/<int:use_id>/fraud", methods=["POST"])
@login_required
def mark_fraud(use_id: int):
    from sharehub.vouchers import claims

    use = db.session.get(VoucherUse, use_id)
    if use is None:
        abort(404)
    programme = authority_programme(use.quota.programme_id)
    back = redirect(url_for("vouchers.programme_page", programme_id=programme.id))
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Give the reason."), "danger")
        return back
    try:
        claims.mark_fraudulent(current_user, use, form.reason.data)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return back
    commit()
    flash(_("The voucher use is void, its claim refused and the laboratory barred."), "success")
    return back


@bp.route("/programmes/<int:programme_id>/report")
@login_required
def report(programme_id: int):
    programme = authority_programme(programme_id)
    data = queries.report(programme)
    return render_template(
        "vouchers/report.html",
        programme=programme,
        data=data,
        totals=queries.totals(data["firms"]),
        lab_totals=queries.totals(data["labs"]),
    )


@bp.route("/programmes/<int:programme_id>/report.csv")
@login_required
def report_csv(programme_id: int):
    programme = authority_programme(programme_id)
    return Response(
        "\ufeff" + queries.report_csv(programme),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=voucher-report-{programme.id}.csv"},
    )


# --- the enterprise ------------------------------------------------------------------------


@bp.route("/available")
@login_required
def available():
    firm = my_firm()
    today = datetime.now(LAB_TZ).date()
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
        form = ApplyForm(prefix=f"p{programme.id}")
        form.year.choices = [(y, str(y)) for y in years]
        offers.append((programme, form, years))
    return render_template("vouchers/available.html", offers=offers, firm=firm)


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
        return redirect(url_for("vouchers.available"))
    try:
        services.apply_for_quota(
            current_user, firm, programme, form.year.data, fen(form.amount.data)
        )
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for("vouchers.available"))
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
    if quota is None or quota.firm_id != invoice.customer_org_id:
        flash(_("Choose one of your granted quotas."), "danger")
        return back
    try:
        use = services.use_voucher(current_user, quota, invoice)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return back
    commit()
    flash(
        _(
            "The voucher pays %(amount)s of this invoice; %(rest)s remain to pay.",
            amount=_money(use.amount),
            rest=_money(invoice.outstanding),
        ),
        "success",
    )
    return back


def _money(fen_amount: int) -> str:
    from sharehub.catalog.pricing import format_fen

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


from sharehub.vouchers import claim_views  # noqa: E402,F401  (registers routes on bp)
