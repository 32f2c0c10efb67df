"""Assessment pages: schemes, rounds, reviews, scorecards."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from sharehub.accounts.models import Power
from sharehub.accounts.session import staff_required
from sharehub.assessment import rounds, scoring
from sharehub.assessment.forms import IndicatorForm, ReviewForm, RoundForm
from sharehub.assessment.models import (
    INDICATOR_GROUP_LABELS,
    AssessmentRound,
    AssessmentScheme,
    ReviewerScore,
    SchemeIndicator,
    Scorecard,
)
from sharehub.assessment.views import bp, get_or_404, require
from sharehub.core.actions import perform, refused
from sharehub.core.errors import DomainError, ValidationError
from sharehub.core.tx import commit
from sharehub.extensions import db


def _round_form(form: RoundForm | None = None) -> RoundForm:
    form = form or RoundForm()
    if not db.session.scalar(sa.select(sa.func.count(AssessmentScheme.id))):
        rounds.ensure_default_scheme()
    schemes = db.session.scalars(sa.select(AssessmentScheme).order_by(AssessmentScheme.id)).all()
    form.scheme.choices = [SelectChoice(s.id, s.name) for s in schemes]
    return form


@bp.route("/supervision/rounds", methods=["GET", "POST"])
@staff_required
def rounds_page():
    can_run = current_user.has_power(Power.PROGRAMME)
    if request.method == "POST":
        require(can_run)
    form = _round_form()

    def again():
        return _rounds_page(form, can_run)

    if form.validate_on_submit():
        scheme = get_or_404(AssessmentScheme, form.scheme.data)
        try:
            round_ = rounds.create_round(
                current_user, scheme, form.name.data, form.start.data, form.end.data
            )
        except DomainError as exc:
            return refused(exc, again, form=form)
        commit()
        flash(
            _("The round is open: reviewers can score the qualitative indicators."),
            "success",
        )
        return redirect(url_for("assessment.round_page", round_id=round_.id))
    return again()


def _rounds_page(form: RoundForm, can_run: bool):
    items = db.session.scalars(sa.select(AssessmentRound).order_by(AssessmentRound.id.desc())).all()
    schemes = db.session.scalars(sa.select(AssessmentScheme).order_by(AssessmentScheme.id)).all()
    return render_template(
        "assessment/rounds.html", form=form, rounds=items, schemes=schemes, can_run=can_run
    ), (400 if request.method == "POST" else 200)


def _review_form(round_: AssessmentRound, form: ReviewForm | None = None) -> ReviewForm:
    from sharehub.core.i18n import localized

    form = form or ReviewForm()
    labs, _not_assessed = rounds.round_labs(round_)
    form.lab.choices = [
        SelectChoice(lab.id, localized(lab))
        for lab in labs
        if current_user.can_supervise(lab, Power.REVIEW)
    ]
    form.indicator.choices = [
        SelectChoice(i["code"], f"{i['name']} (≤ {scoring._fmt(i['cap'])})")
        for i in round_.scheme_snapshot["indicators"]
        if i["qualitative"]
    ]
    return form


def _round_page(round_: AssessmentRound, form: ReviewForm | None = None, code: int = 200):
    cards = db.session.scalars(
        sa.select(Scorecard)
        .where(Scorecard.round_id == round_.id)
        .order_by(Scorecard.rank, Scorecard.lab_id)
    ).all()
    reviews = db.session.scalars(
        sa.select(ReviewerScore)
        .where(ReviewerScore.round_id == round_.id)
        .order_by(ReviewerScore.lab_id, ReviewerScore.indicator_code, ReviewerScore.id)
    ).all()
    # Regulators see the scorecards and reviews of the labs of their region.
    cards = [card for card in cards if current_user.can_oversee(card.lab)]
    reviews = [r for r in reviews if current_user.can_oversee(r.lab)]
    grades: dict[str, int] = {}
    for card in cards:
        grades[card.grade] = grades.get(card.grade, 0) + 1
    _graded, not_assessed = rounds.round_labs(round_)
    return render_template(
        "assessment/round.html",
        round=round_,
        cards=cards,
        reviews=reviews,
        grades=grades,
        not_assessed=not_assessed,
        min_admitted_months=rounds.min_admitted_months(),
        admission_cutoff=rounds.admission_cutoff(round_),
        missing=rounds.missing_reviews(round_) if round_.status.value != "published" else [],
        form=_review_form(round_, form),
        group_labels=INDICATOR_GROUP_LABELS,
        can_run=current_user.has_power(Power.PROGRAMME),
        can_review=current_user.has_power(Power.REVIEW),
    ), code


@bp.route("/supervision/rounds/<int:round_id>")
@staff_required
def round_page(round_id: int):
    return _round_page(get_or_404(AssessmentRound, round_id))


@bp.route("/supervision/rounds/<int:round_id>/review", methods=["POST"])
@staff_required
def review(round_id: int):
    from sharehub.accounts.models import Organisation

    round_ = get_or_404(AssessmentRound, round_id)
    require(current_user.has_power(Power.REVIEW))
    chosen = db.session.get(Organisation, request.form.get("lab", type=int) or 0)
    if chosen is not None:  # a lab outside the reviewer's region: refused, not "invalid"
        require(current_user.can_supervise(chosen, Power.REVIEW))
    form = _review_form(round_)
    if form.validate_on_submit():
        lab = get_or_404(Organisation, form.lab.data)
        try:
            rounds.review(
                current_user,
                round_,
                lab,
                form.indicator.data,
                float(form.points.data),
                form.comment.data,
            )
        except DomainError as exc:
            return refused(exc, lambda: _round_page(round_, form), form=form)
        commit()
        flash(_("Your review has been saved."), "success")
        return redirect(url_for("assessment.round_page", round_id=round_.id))
    return _round_page(round_, form, 400)


@bp.route("/supervision/rounds/<int:round_id>/<any(compute, publish):action>", methods=["POST"])
@staff_required
def round_action(round_id: int, action: str):
    round_ = get_or_404(AssessmentRound, round_id)
    require(current_user.has_power(Power.PROGRAMME))
    from sharehub.accounts.forms import ConfirmForm

    if not ConfirmForm().validate_on_submit():
        abort(400)

    def again():  # the round again, with what is missing to publish
        return _round_page(round_)

    if action == "publish" and request.form.get("confirm") != "1":
        return refused(
            ValidationError(_("Tick the box to confirm that the results are published.")),
            again=again,
        )
    if action == "compute":
        return perform(
            lambda: rounds.compute(current_user, round_),
            done=lambda n: _computed(n, round_id),
            again=again,
        )
    return perform(
        lambda: rounds.publish(
            current_user, round_, accept_missing=request.form.get("accept_missing") == "1"
        ),
        done=url_for("assessment.round_page", round_id=round_id),
        success=_("The results are published; every laboratory was told."),
        again=again,
    )


def _computed(n: int, round_id: int):
    flash(_("%(n)s scorecards computed and frozen.", n=n), "success")
    return redirect(url_for("assessment.round_page", round_id=round_id))


@bp.route("/supervision/scorecards/<int:scorecard_id>")
@login_required
def scorecard(scorecard_id: int):
    card = get_or_404(Scorecard, scorecard_id)
    if not card.can_view(current_user):
        abort(404)
    groups: dict[str, float] = {}
    for line in card.lines:
        groups[line.group] = round(groups.get(line.group, 0.0) + line.points, 2)
    return render_template(
        "assessment/scorecard.html",
        card=card,
        groups=groups,
        group_labels=INDICATOR_GROUP_LABELS,
        metric_labels=scoring.METRIC_LABELS,
        can_issue_notice=current_user.can_supervise(card.lab, Power.NOTICE),
        lowest=min(card.round.scheme_snapshot["bands"], key=lambda b: b["min"]),
        count=db.session.scalar(
            sa.select(sa.func.count(Scorecard.id)).where(Scorecard.round_id == card.round_id)
        ),
    )


@bp.route("/supervision/schemes/<int:scheme_id>", methods=["GET", "POST"])
@staff_required
def scheme(scheme_id: int):
    scheme = get_or_404(AssessmentScheme, scheme_id)
    indicator_id = request.form.get("indicator_id", type=int)
    form = IndicatorForm()
    can_edit = current_user.has_power(Power.PROGRAMME)
    if request.method == "POST":
        require(can_edit)
        indicator = get_or_404(SchemeIndicator, indicator_id or 0)
        if indicator.scheme_id != scheme.id:
            abort(404)

        def again():
            return _scheme_page(scheme, form, can_edit)

        if not form.validate_on_submit():
            return refused(ValidationError(_("Weights, targets and caps are numbers.")), again)
        return perform(
            lambda: rounds.update_indicator(
                current_user,
                indicator,
                weight=float(form.weight.data),
                target=float(form.target.data),
                cap=float(form.cap.data),
            ),
            done=url_for("assessment.scheme", scheme_id=scheme.id),
            success=_("The indicator has been saved; open rounds keep their own copy."),
            again=again,
        )
    return _scheme_page(scheme, form, can_edit)


def _scheme_page(scheme: AssessmentScheme, form: IndicatorForm, can_edit: bool):
    return render_template(
        "assessment/scheme.html",
        scheme=scheme,
        form=form,
        group_labels=INDICATOR_GROUP_LABELS,
        metric_labels=scoring.METRIC_LABELS,
        can_edit=can_edit,
    )
