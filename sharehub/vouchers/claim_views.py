"""Settlement claim pages: the lab files a claim with its evidence; the authority reviews,
publishes, approves, pays or rejects it."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.accounts.forms import ConfirmForm
from sharehub.accounts.models import OrgKind
from sharehub.accounts.session import current_org
from sharehub.core.actions import page, refused
from sharehub.core.errors import DomainError, ValidationError
from sharehub.core.tx import commit
from sharehub.core.uploads import read_upload, stored_path
from sharehub.extensions import db
from sharehub.vouchers import claims as services
from sharehub.vouchers.forms import PaidForm, ReasonForm
from sharehub.vouchers.models import (
    DOCUMENT_KIND_LABELS,
    ClaimDocument,
    DocumentKind,
    SettlementClaim,
    VoucherProgramme,
    VoucherUse,
)
from sharehub.vouchers.views import _checked, bp


def _my_lab():
    org = current_org()
    if org is None or org.kind != OrgKind.LAB or not current_user.can_manage(org):
        abort(403)
    return org


def _claim(claim_id: int) -> tuple[SettlementClaim, str]:
    """The claim and the viewer's side ('lab' or 'authority'); anyone else: not found."""
    claim = db.session.get(SettlementClaim, claim_id)
    if claim is None or not claim.can_view(current_user):
        abort(404)
    return claim, "lab" if claim.can_manage(current_user) else "authority"


@bp.route("/claims")
@login_required
def lab_claims():
    lab = _my_lab()
    claimable = db.session.scalars(services.claimable_uses_query(lab.id)).all()
    by_programme: dict[VoucherProgramme, list[VoucherUse]] = {}
    for use in claimable:
        by_programme.setdefault(use.quota.programme, []).append(use)
    rows = db.session.scalars(
        sa.select(SettlementClaim)
        .where(SettlementClaim.lab_id == lab.id)
        .order_by(SettlementClaim.id.desc())
    ).all()
    return render_template(
        "vouchers/claims.html",
        lab=lab,
        by_programme=by_programme,
        claims=rows,
        confirm_form=ConfirmForm(),
    )


@bp.route("/claims/new", methods=["POST"])
@login_required
def new_claim():
    lab = _my_lab()
    _checked()
    programme = db.session.get(VoucherProgramme, request.form.get("programme_id", type=int) or 0)
    if programme is None:
        abort(404)
    use_ids = [int(v) for v in request.form.getlist("use_ids") if v.isdigit()]
    try:
        claim = services.create_claim(current_user, lab, programme, use_ids)
    except DomainError as exc:
        return refused(exc, again=page("vouchers.lab_claims"))
    commit()
    flash(_("Attach the four documents, then submit the claim."), "info")
    return redirect(url_for("vouchers.claim_page", claim_id=claim.id))


@bp.route("/claims/<int:claim_id>")
@login_required
def claim_page(claim_id: int):
    claim, side = _claim(claim_id)
    return render_template(
        "vouchers/claim.html",
        claim=claim,
        side=side,
        kinds=DOCUMENT_KIND_LABELS,
        firms=sorted({u.quota.firm.name for u in claim.uses}),
        today=services.today(),
        confirm_form=ConfirmForm(),
        reason_form=ReasonForm(),
        paid_form=PaidForm(),
        max_bytes=current_app.config["MAX_DOCUMENT_BYTES"],
    )


@bp.route("/claims/<int:claim_id>/documents", methods=["POST"])
@login_required
def upload_document(claim_id: int):
    claim, side = _claim(claim_id)
    if side != "lab":
        abort(403)
    _checked()
    back = redirect(url_for("vouchers.claim_page", claim_id=claim.id))
    again = page("vouchers.claim_page", claim_id=claim.id)
    try:
        try:
            kind = DocumentKind(request.form.get("kind", ""))
        except ValueError as exc:
            raise ValidationError(_("Choose what the document is.")) from exc
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationError(_("Choose a file to upload."))
        data, name = read_upload(upload, current_app.config["MAX_DOCUMENT_BYTES"])
        services.add_document(current_user, claim, kind, services.Upload(data, name))
    except DomainError as exc:
        exc.message = _("The file was not saved: %(reason)s", reason=str(exc.message))
        return refused(exc, again=again)
    commit()
    flash(_("The document has been attached."), "success")
    return back


@bp.route("/claims/<int:claim_id>/documents/<int:document_id>")
@login_required
def document(claim_id: int, document_id: int):
    claim, _side = _claim(claim_id)
    doc = db.session.get(ClaimDocument, document_id)
    if doc is None or doc.claim_id != claim.id:
        abort(404)
    return send_file(
        stored_path(doc.stored_name),
        mimetype=doc.content_type,
        download_name=doc.original_name,
        as_attachment=True,
    )


LAB_ACTIONS = {"submit", "discard"}
AUTHORITY_ACTIONS = {"publish", "approve", "pay", "reject"}


@bp.route(
    "/claims/<int:claim_id>/<any(submit, discard, publish, approve, pay, reject):action>",
    methods=["POST"],
)
@login_required
def claim_action(claim_id: int, action: str):
    claim, side = _claim(claim_id)
    if action not in (LAB_ACTIONS if side == "lab" else AUTHORITY_ACTIONS):
        abort(403)
    back = redirect(url_for("vouchers.claim_page", claim_id=claim.id))
    again = page("vouchers.claim_page", claim_id=claim.id)
    try:
        if action in ("reject", "pay"):
            form = ReasonForm() if action == "reject" else PaidForm()
            if not form.validate_on_submit():
                raise ValidationError(
                    _("Give the reason for the refusal.")
                    if action == "reject"
                    else _("Give the payment date (YYYY-MM-DD) and the payment reference.")
                )
            if action == "reject":
                services.reject_claim(current_user, claim, form.reason.data)
            else:
                services.mark_paid(current_user, claim, form.paid_date.data, form.reference.data)
        else:
            _checked()
            if action == "submit":
                services.submit_claim(current_user, claim)
            elif action == "discard":
                services.discard_claim(current_user, claim)
            elif action == "publish":
                services.publish_claim(current_user, claim)
            else:
                services.approve_claim(current_user, claim)
    except DomainError as exc:
        return refused(exc, again=again)
    commit()
    if action == "discard":
        flash(_("The draft claim has been discarded."), "success")
        return redirect(url_for("vouchers.lab_claims"))
    flash(_("The claim has been updated."), "success")
    return back
