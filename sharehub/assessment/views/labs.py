"""Supervision pages: the public register of labs, lab status, spot checks, rectification."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from sharehub.accounts.models import (
    ORG_STATUS_LABELS,
    Cluster,
    Organisation,
    OrgKind,
    OrgStatus,
    Power,
)
from sharehub.accounts.session import current_org, staff_required
from sharehub.assessment import rectification, spotchecks, status
from sharehub.assessment.blueprint import bp
from sharehub.assessment.forms import (
    AnswerForm,
    DecideForm,
    DrawForm,
    FindingForm,
    NoticeForm,
    StatusForm,
)
from sharehub.assessment.models import (
    FINDING_RESULT_LABELS,
    SPOT_CHECK_KIND_LABELS,
    AssessmentRound,
    FindingResult,
    NoticeStatus,
    RectificationEvidence,
    RectificationNotice,
    RoundStatus,
    Scorecard,
    SpotCheck,
    SpotCheckItem,
    SpotCheckKind,
)
from sharehub.core.actions import perform, refused
from sharehub.core.errors import DomainError, ValidationError
from sharehub.core.tx import commit
from sharehub.core.uploads import read_upload, send_stored
from sharehub.extensions import db

PER_PAGE = 50


def get_or_404(model, object_id: int):
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    return obj


def require(allowed: bool) -> None:
    """Refuse (403) before anything is read from the form or changed."""
    if not allowed:
        abort(403)


def draw_region():
    """Where the signed-in user draws spot checks: the whole platform for a platform
    administrator, else the region of the authority they act for (or of their first
    authority whose role lets them inspect)."""
    if current_user.is_platform_admin:
        return None
    authorities = current_user.supervising_authorities(Power.INSPECT)
    org = current_org()
    chosen = org if org in authorities else (authorities[0] if authorities else None)
    return chosen.region if chosen is not None else None


def cluster_choices() -> list[SelectChoice]:
    clusters = db.session.scalars(sa.select(Cluster).order_by(Cluster.name)).all()
    from sharehub.core.i18n import localized

    choices = [SelectChoice(c.id, localized(c)) for c in clusters]
    return [SelectChoice("", _("All clusters")), *choices]


# --- public register ------------------------------------------------------------------------


@bp.route("/labs")
def register():
    """Every admitted lab and its status (进退 decisions are public)."""
    chosen = request.args.get("status", "")
    query = status.admitted_labs_query(status=chosen, q=request.args.get("q", ""))
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    counts = dict(
        db.session.execute(
            sa.select(Organisation.status, sa.func.count())
            .where(
                Organisation.kind == OrgKind.LAB,
                Organisation.status.in_(status.ADMITTED_STATUSES),
            )
            .group_by(Organisation.status)
        ).all()
    )
    return render_template(
        "assessment/register.html",
        page=page,
        chosen=chosen,
        counts=counts,
        statuses=[(s, ORG_STATUS_LABELS[s]) for s in status.ADMITTED_STATUSES],
    )


# --- one lab under supervision -------------------------------------------------------------


def _status_form(lab: Organisation, form: StatusForm | None = None) -> StatusForm:
    form = form or StatusForm()
    form.target.choices = [
        SelectChoice(s.value, ORG_STATUS_LABELS[s]) for s in status.allowed_targets(lab)
    ]
    return form


def _lab_page(lab: Organisation, form: StatusForm | None = None, code: int = 200):
    notices = db.session.scalars(
        sa.select(RectificationNotice)
        .where(RectificationNotice.lab_id == lab.id)
        .order_by(RectificationNotice.id.desc())
    ).all()
    items = db.session.scalars(
        sa.select(SpotCheckItem)
        .where(SpotCheckItem.lab_id == lab.id)
        .order_by(SpotCheckItem.id.desc())
        .limit(50)
    ).all()
    cards = db.session.scalars(
        sa.select(Scorecard)
        .join(AssessmentRound)
        .where(Scorecard.lab_id == lab.id)
        .order_by(AssessmentRound.end_date.desc())
    ).all()
    return render_template(
        "assessment/lab.html",
        lab=lab,
        form=_status_form(lab, form),
        notices=notices,
        items=items,
        cards=cards,
        can_change_status=current_user.can_supervise(lab, Power.STATUS),
        can_issue_notice=current_user.can_supervise(lab, Power.NOTICE),
    ), code


@bp.route("/supervision/labs/<int:lab_id>")
@staff_required
def lab(lab_id: int):
    lab = get_or_404(Organisation, lab_id)
    if lab.kind != OrgKind.LAB:
        abort(404)
    require(current_user.can_oversee(lab))  # elsewhere: the public register
    return _lab_page(lab)


@bp.route("/supervision/labs/<int:lab_id>/status", methods=["POST"])
@staff_required
def change_status(lab_id: int):
    lab = get_or_404(Organisation, lab_id)
    require(current_user.can_supervise(lab, Power.STATUS))
    form = _status_form(lab)
    if form.validate_on_submit():
        try:
            told = status.change_lab_status(
                current_user, lab, OrgStatus(form.target.data), form.reason.data
            )
        except DomainError as exc:
            return refused(exc, lambda: _lab_page(lab, form), form=form)
        commit()
        flash(
            _(
                "%(lab)s is now %(status)s; %(n)s customers with bookings ahead were told.",
                lab=lab.name,
                status=lab.status_label,
                n=told,
            ),
            "success",
        )
        return redirect(url_for("assessment.lab", lab_id=lab.id))
    return _lab_page(lab, form, 400)


# --- spot checks -------------------------------------------------------------------------------


def _draw_form(form: DrawForm | None = None) -> DrawForm:
    form = form or DrawForm()
    form.kind.choices = [
        SelectChoice(k.value, label) for k, label in SPOT_CHECK_KIND_LABELS.items()
    ]
    form.cluster.choices = cluster_choices()
    return form


@bp.route("/supervision/spot-checks", methods=["GET", "POST"])
@staff_required
def spot_checks():
    form = _draw_form()
    can_draw = current_user.has_power(Power.INSPECT)
    if request.method == "POST":
        require(can_draw)

    def again():
        return _spot_checks_page(form, can_draw)

    if form.validate_on_submit():
        try:
            check = spotchecks.draw(
                current_user,
                SpotCheckKind(form.kind.data),
                form.sample_size.data,
                title=form.title.data or "",
                seed=form.seed.data or "",
                start=form.start.data,
                end=form.end.data,
                cluster_id=form.cluster.data,
                region=draw_region(),
            )
        except DomainError as exc:
            return refused(exc, again, form=form)
        commit()
        flash(_("The sample has been drawn with seed %(seed)s.", seed=check.seed), "success")
        return redirect(url_for("assessment.spot_check", check_id=check.id))
    return again()


def _spot_checks_page(form: DrawForm, can_draw: bool):
    query = sa.select(SpotCheck).order_by(SpotCheck.id.desc()).limit(100)
    region_ids = current_user.overseen_region_ids()
    if region_ids is not None:
        query = query.where(SpotCheck.region_id.in_(region_ids))
    checks = db.session.scalars(query).all()
    return render_template(
        "assessment/spot_checks.html", form=form, checks=checks, can_draw=can_draw
    ), (400 if form.errors or request.method == "POST" else 200)


def _finding_form(form: FindingForm | None = None) -> FindingForm:
    form = form or FindingForm()
    form.result.choices = [
        SelectChoice(r.value, FINDING_RESULT_LABELS[r])
        for r in (FindingResult.PASSED, FindingResult.FAILED)
    ]
    return form


@bp.route("/supervision/spot-checks/<int:check_id>")
@staff_required
def spot_check(check_id: int):
    check = get_or_404(SpotCheck, check_id)
    require(check.can_view(current_user))
    verification = spotchecks.redraw(check) if request.args.get("verify") else None
    return _spot_check_page(check, verification=verification)


def _spot_check_page(check: SpotCheck, form=None, failed_item=None, verification=None):
    start, end = spotchecks.capture_period(check)
    labs = sorted({item.lab_id for item in check.items})
    return render_template(
        "assessment/spot_check.html",
        check=check,
        capture=spotchecks.capture_shares(labs, start, end),
        capture_period=(start, end),
        finding_form=form or _finding_form(),
        failed_item=failed_item,
        verification=verification,
        can_inspect=lambda lab: current_user.can_supervise(lab, Power.INSPECT),
        can_issue_notice=lambda lab: current_user.can_supervise(lab, Power.NOTICE),
    )


@bp.route("/supervision/spot-checks/items/<int:item_id>/finding", methods=["POST"])
@staff_required
def record_finding(item_id: int):
    item = get_or_404(SpotCheckItem, item_id)
    require(current_user.can_supervise(item.lab, Power.INSPECT))
    form = _finding_form()

    def again():  # the spot check with the finding's form open, as it was typed
        return _spot_check_page(item.spot_check, form, failed_item=item.id)

    if not form.validate_on_submit():
        problem = (
            _("Choose what the inspection found.")
            if form.result.errors
            else next(iter(form.errors.values()))[0]
        )
        return refused(ValidationError(problem), again)
    target = url_for("assessment.spot_check", check_id=item.spot_check_id)
    return perform(
        lambda: spotchecks.record_finding(
            current_user, item, FindingResult(form.result.data), form.findings.data
        ),
        done=f"{target}#item-{item.id}",
        success=_("The finding has been recorded."),
        again=again,
    )


# --- rectification notices -----------------------------------------------------------------


@bp.route("/supervision/labs/<int:lab_id>/notices/new", methods=["GET", "POST"])
@staff_required
def new_notice(lab_id: int):
    lab = get_or_404(Organisation, lab_id)
    require(current_user.can_supervise(lab, Power.NOTICE))
    item_id = request.args.get("item", type=int)
    item = get_or_404(SpotCheckItem, item_id) if item_id else None
    card_id = request.args.get("scorecard", type=int)
    card = get_or_404(Scorecard, card_id) if card_id else None
    form = NoticeForm()
    if request.method == "GET" and item is not None:
        form.findings.data = item.findings
    if request.method == "GET" and card is not None:
        form.findings.data = _(
            "%(round)s: %(total)s points, grade %(grade)s.",
            round=card.round.name,
            total=f"{card.total:.2f}",
            grade=card.grade,
        )

    def again():
        return render_template(
            "assessment/notice_form.html",
            form=form,
            lab=lab,
            item=item,
            card=card,
            can_change_status=current_user.can_supervise(lab, Power.STATUS),
        ), 400 if request.method == "POST" else 200

    if form.validate_on_submit():
        try:
            notice = rectification.issue_notice(
                current_user,
                lab,
                findings=form.findings.data,
                requirements=form.requirements.data or "",
                deadline=form.deadline.data,
                item=item,
                scorecard=card,
                place_under_rectification=form.place_under_rectification.data,
            )
        except DomainError as exc:
            return refused(exc, again, form=form)
        commit()
        flash(_("The notice has been issued; the laboratory was told."), "success")
        return redirect(url_for("assessment.notice", notice_id=notice.id))
    return again()


@bp.route("/supervision/notices")
@login_required
def notices():
    query = sa.select(RectificationNotice).order_by(RectificationNotice.id.desc())
    if not status.can_supervise(current_user):
        org = current_org()
        if org is None or not org.is_lab:
            abort(403)
        query = query.where(RectificationNotice.lab_id == org.id)
    elif (region_ids := current_user.overseen_region_ids()) is not None:
        query = query.join(Organisation, RectificationNotice.lab_id == Organisation.id).where(
            Organisation.region_id.in_(region_ids)
        )
    chosen = request.args.get("status", "")
    if chosen in {s.value for s in NoticeStatus}:
        query = query.where(RectificationNotice.status == chosen)
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    return render_template("assessment/notices.html", page=page, chosen=chosen)


def _decide_form() -> DecideForm:
    form = DecideForm()
    form.target.choices = [
        SelectChoice(s.value, ORG_STATUS_LABELS[s])
        for s in (OrgStatus.SUSPENDED, OrgStatus.REVOKED)
    ]
    return form


def _notice_page(notice, answer_form=None, decide_form=None, code=200):
    return render_template(
        "assessment/notice.html",
        notice=notice,
        answer_form=answer_form or AnswerForm(),
        decide_form=decide_form or _decide_form(),
        can_supervise=status.can_supervise(current_user),
        can_decide=current_user.is_authenticated
        and current_user.can_supervise(notice.lab, Power.STATUS),
        can_answer=notice.can_answer(current_user),
    ), code


@bp.route("/supervision/notices/<int:notice_id>")
@login_required
def notice(notice_id: int):
    notice = get_or_404(RectificationNotice, notice_id)
    if not notice.can_view(current_user):
        abort(404)
    return _notice_page(notice)


@bp.route("/supervision/notices/<int:notice_id>/answer", methods=["POST"])
@login_required
def answer(notice_id: int):
    notice = get_or_404(RectificationNotice, notice_id)
    if not notice.can_view(current_user):
        abort(404)
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            files = [
                read_upload(f, rectification.MAX_EVIDENCE_BYTES)
                for f in form.evidence.data or []
                if f and f.filename
            ]
            rectification.answer(current_user, notice, form.response.data, files)
        except DomainError as exc:
            return refused(exc, lambda: _notice_page(notice, form), form=form)
        commit()
        flash(_("Your answer has been sent to the supervisor."), "success")
        return redirect(url_for("assessment.notice", notice_id=notice.id))
    return _notice_page(notice, form, None, 400)


@bp.route("/supervision/notices/<int:notice_id>/<any(close, escalate):action>", methods=["POST"])
@staff_required
def decide(notice_id: int, action: str):
    notice = get_or_404(RectificationNotice, notice_id)
    require(current_user.can_supervise(notice.lab, Power.STATUS))
    form = _decide_form()
    if form.validate_on_submit():
        try:
            if action == "close":
                rectification.close(current_user, notice, form.note.data or "")
            else:
                rectification.escalate(
                    current_user, notice, form.note.data or "", OrgStatus(form.target.data)
                )
        except DomainError as exc:
            return refused(exc, lambda: _notice_page(notice, None, form), form=form)
        commit()
        flash(_("The decision is recorded: %(status)s.", status=notice.status_label), "success")
        return redirect(url_for("assessment.notice", notice_id=notice.id))
    return _notice_page(notice, None, form, 400)


@bp.route("/supervision/evidence/<int:evidence_id>")
@login_required
def evidence(evidence_id: int):
    item = get_or_404(RectificationEvidence, evidence_id)
    if not item.notice.can_view(current_user):
        abort(404)
    return send_stored(item)


# --- a lab's own view ------------------------------------------------------------------------


@bp.route("/supervision/our")
@login_required
def our():
    org = current_org()
    if org is None or not org.is_lab:
        abort(404)
    notices = db.session.scalars(
        sa.select(RectificationNotice)
        .where(RectificationNotice.lab_id == org.id)
        .order_by(RectificationNotice.id.desc())
    ).all()
    cards = db.session.scalars(
        sa.select(Scorecard)
        .join(AssessmentRound)
        .where(Scorecard.lab_id == org.id, AssessmentRound.status == RoundStatus.PUBLISHED)
        .order_by(AssessmentRound.end_date.desc())
    ).all()
    return render_template("assessment/our.html", lab=org, notices=notices, cards=cards)
