"""A user's side: their authorisations across labs, training requests and sessions."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.accounts.session import current_org
from sharehub.booking.training import book_session
from sharehub.competence import queries, services
from sharehub.competence.blueprint import bp
from sharehub.competence.forms import SessionForm, TrainingRequestForm
from sharehub.competence.models import Requirement, TrainingRecord, TrainingRequest
from sharehub.core.actions import page, perform, refused
from sharehub.core.errors import PermissionDenied
from sharehub.core.forms import refuse_form
from sharehub.core.uploads import stored_path
from sharehub.extensions import db


@bp.route("/account/authorisations")
@login_required
def my_authorisations():
    return render_template(
        "competence/mine.html",
        authorisations=queries.authorisations_of(current_user.id),
        requests=queries.training_requests_of(current_user.id),
        session_form=SessionForm(),
    )


def _requirement(requirement_id: int) -> Requirement:
    requirement = db.session.get(Requirement, requirement_id)
    if requirement is None or not requirement.lab.is_serving:
        abort(404)
    return requirement


@bp.route("/competence/requirements/<int:requirement_id>")
@login_required
def request_page(requirement_id: int):
    requirement = _requirement(requirement_id)
    return render_template(
        "competence/request.html",
        requirement=requirement,
        form=TrainingRequestForm(),
        held=services.current_authorisation(current_user.id, requirement.id),
    )


@bp.route("/competence/requirements/<int:requirement_id>/request", methods=["POST"])
@login_required
def request_training(requirement_id: int):
    requirement = _requirement(requirement_id)
    form = TrainingRequestForm()
    again = page("competence.request_page", requirement_id=requirement.id)
    if not form.validate():
        return refuse_form(form, again)
    return perform(
        lambda: services.request_training(current_user, requirement, form.note.data),
        done=url_for("competence.my_authorisations"),
        success=_("Your training request has been sent to the laboratory."),
        again=again,
    )


@bp.route("/competence/training/<int:training_id>/session", methods=["POST"])
@login_required
def book_training_session(training_id: int):
    training = db.session.get(TrainingRequest, training_id)
    if training is None or training.user_id != current_user.id:
        abort(404)
    form = SessionForm()
    again = page("competence.my_authorisations")
    if not form.validate():
        return refuse_form(form, again)
    org = current_org()
    if org is None:
        return refused(
            PermissionDenied(_("You need an organisation to book; ask a colleague to invite you.")),
            again,
        )
    starts = form.start.data
    return perform(
        lambda: book_session(
            current_user, org, training, starts, starts + timedelta(minutes=form.minutes.data)
        ),
        done=lambda booking: _to_booking(booking.id),
        success=_("Your training session is booked."),
        again=again,
    )


def _to_booking(booking_id: int):
    return redirect(url_for("booking.booking_page", booking_id=booking_id))


@bp.route("/competence/records/<int:record_id>/certificate")
@login_required
def certificate(record_id: int):
    """The certificate, for its holder and the lab's managers only."""
    record = db.session.get(TrainingRecord, record_id)
    if (
        record is None
        or record.certificate_stored is None
        or not (
            record.user_id == current_user.id or current_user.can_manage(record.requirement.lab)
        )
    ):
        abort(404)
    return send_file(
        stored_path(record.certificate_stored),
        mimetype=record.certificate_type,
        download_name=record.certificate_name,
        as_attachment=True,
    )
