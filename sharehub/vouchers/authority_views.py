"""The authority's voucher pages: its programmes, the quota applications to decide, the voucher
uses it may void as fraudulent, and the programme report."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.accounts.forms import ConfirmForm
from sharehub.accounts.models import Organisation
from sharehub.core.actions import page, refused
from sharehub.core.errors import DomainError, ValidationError
from sharehub.core.forms import attach_error
from sharehub.core.tx import commit
from sharehub.extensions import db
from sharehub.vouchers import queries, services
from sharehub.vouchers.forms import GrantForm, ProgrammeForm, ReasonForm, fen
from sharehub.vouchers.models import (
    ClaimStatus,
    SettlementClaim,
    VoucherProgramme,
    VoucherQuota,
    VoucherUse,
)
from sharehub.vouchers.views import authority_programme, bp, my_authority


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
    again = page("vouchers.programme_page", programme_id=quota.programme_id)
    if not form.validate_on_submit():
        return refused(
            ValidationError(
                _("Give the amount in yuan, e.g. 50000.")
                if action == "grant"
                else _("Give the reason for the refusal.")
            ),
            again=again,
        )
    try:
        if action == "grant":
            services.grant_quota(current_user, quota, fen(form.amount.data))
        else:
            services.reject_quota(current_user, quota, form.reason.data)
    except DomainError as exc:
        return refused(exc, again=again)
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
    again = page("vouchers.programme_page", programme_id=programme.id)
    form = ReasonForm()
    if not form.validate_on_submit():
        return refused(ValidationError(_("Give the reason.")), again=again)
    try:
        claims.mark_fraudulent(current_user, use, form.reason.data)
    except DomainError as exc:
        return refused(exc, again=again)
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
