"""The lab's side: requirements per listing group, training requests, records, grants."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.accounts.session import current_org, find_user_by_email
from sharehub.catalog.models import Listing, ListingKind
from sharehub.competence import notify, queries, services
from sharehub.competence.blueprint import bp
from sharehub.competence.forms import GrantForm, RecordForm, RequirementForm, RevokeForm
from sharehub.competence.models import Authorisation, Level, Requirement, TrainingRequest
from sharehub.core.actions import perform, refused
from sharehub.core.errors import NotFound, ValidationError
from sharehub.core.forms import refuse_form
from sharehub.core.uploads import read_upload
from sharehub.extensions import db


def _my_lab():
    org = current_org()
    if org is None or not org.is_lab or not current_user.can_manage(org):
        abort(403)
    return org


def _lab_page(lab=None, requirement_form=None, status: int = 200):
    lab = lab or _my_lab()
    listings = db.session.scalars(
        sa.select(Listing).where(Listing.lab_id == lab.id).order_by(Listing.id)
    ).all()
    return render_template(
        "competence/lab.html",
        lab=lab,
        requirements=queries.requirements_of_lab(lab.id),
        requests=queries.open_requests_of_lab(lab.id),
        authorisations=queries.authorisations_of_lab(lab.id),
        records=queries.records_of_lab(lab.id),
        equipment=[li for li in listings if li.kind == ListingKind.EQUIPMENT],
        experts=[li for li in listings if li.kind == ListingKind.EXPERT],
        requirement_form=requirement_form or RequirementForm(),
        grant_form=GrantForm(),
        record_form=RecordForm(),
    ), status


@bp.route("/lab/competence")
@login_required
def lab_page():
    return _lab_page()


@bp.route("/lab/competence/requirements", methods=["POST"])
@login_required
def new_requirement():
    lab = _my_lab()
    form = RequirementForm()
    if not form.validate():
        return refuse_form(form, lambda: _lab_page(lab, form))
    return perform(
        lambda: services.save_requirement(
            current_user,
            lab,
            name=form.name.data,
            validity_months=form.validity_months.data,
            course=form.course.data,
            pass_score=form.pass_score.data,
            assistance_required=bool(form.assistance_required.data),
            listing_ids=form.listing_ids.data or [],
            staff_listing_id=form.staff_listing_id.data,
            trainer_listing_id=form.trainer_listing_id.data,
            levels=[Level(v) for v in form.levels.data] if form.levels.data else None,
            prerequisite_ids=form.prerequisite_ids.data or None,
        ),
        done=url_for("competence.lab_page"),
        success=_("The requirement has been saved."),
        again=lambda: _lab_page(lab, form),
        form=form,
    )


def _requirement(requirement_id: int) -> Requirement:
    """Any requirement: the service refuses another lab's managers (403)."""
    requirement = db.session.get(Requirement, requirement_id)
    if requirement is None:
        abort(404)
    return requirement


def _person(email: str):
    user = find_user_by_email(email or "")
    if user is None:
        raise NotFound(_("No user has this email address."), field="email")
    return user


@bp.route("/lab/competence/requirements/<int:requirement_id>/grant", methods=["POST"])
@login_required
def grant(requirement_id: int):
    requirement = _requirement(requirement_id)
    form = GrantForm()
    if not form.validate():
        return refuse_form(form, _lab_page)
    return perform(
        lambda: services.grant(
            current_user, requirement, _person(form.email.data), Level(form.level.data)
        ),
        done=url_for("competence.lab_page"),
        success=_("The authorisation has been granted."),
    )


@bp.route("/lab/competence/requirements/<int:requirement_id>/record", methods=["POST"])
@login_required
def record(requirement_id: int):
    requirement = _requirement(requirement_id)
    form = RecordForm()
    if not form.validate():
        return refuse_form(form, _lab_page)
    training = None
    if form.request_id.data is not None:
        training = db.session.get(TrainingRequest, form.request_id.data)
        if training is None or training.requirement_id != requirement.id:
            return refused(NotFound(_("No such training request.")))

    def work():
        services.require_lab(current_user, requirement.lab)  # before reading anything sent
        user = training.user if training is not None else _person(form.email.data)
        score = services.parse_score(form.score.data)
        level = Level(form.level.data) if form.level.data in {lv.value for lv in Level} else None
        if form.level.data and level is None:
            raise ValidationError(_("Choose a level."), field="level")
        upload = form.certificate.data
        certificate = (
            read_upload(upload, services.MAX_CERTIFICATE_BYTES)
            if upload is not None and getattr(upload, "filename", "")
            else None
        )
        return services.record_completion(
            current_user,
            requirement,
            user,
            score=score,
            level=level,
            certificate=certificate,
            training=training,
        )

    return perform(
        work,
        done=url_for("competence.lab_page"),
        success=_("The training has been recorded."),
    )


def _managed_requirement(requirement_id: int) -> Requirement:
    """A requirement of a lab the user manages; another lab's (or anyone else): 403."""
    requirement = _requirement(requirement_id)
    if not requirement.can_manage(current_user):
        abort(403)
    return requirement


def _requirement_page(requirement: Requirement, form: RequirementForm | None = None):
    if form is None:
        form = RequirementForm(
            data={
                "name": requirement.name,
                "validity_months": requirement.validity_months,
                "course": requirement.course,
                "pass_score": requirement.pass_score,
                "assistance_required": requirement.assistance_required,
                "listing_ids": [li.id for li in requirement.listings],
                "staff_listing_id": requirement.staff_listing_id,
                "trainer_listing_id": requirement.trainer_listing_id,
                "levels": [level.value for level in requirement.offered_levels],
                "prerequisite_ids": [p.id for p in requirement.prerequisites],
            }
        )
    listings = db.session.scalars(
        sa.select(Listing).where(Listing.lab_id == requirement.lab_id).order_by(Listing.id)
    ).all()
    return render_template(
        "competence/requirement.html",
        requirement=requirement,
        form=form,
        equipment=[li for li in listings if li.kind == ListingKind.EQUIPMENT],
        experts=[li for li in listings if li.kind == ListingKind.EXPERT],
        others=[
            r for r in queries.requirements_of_lab(requirement.lab_id) if r.id != requirement.id
        ],
        authorisations=[
            a
            for a in queries.authorisations_of_lab(requirement.lab_id)
            if a.requirement_id == requirement.id
        ],
    )


@bp.route("/lab/competence/requirements/<int:requirement_id>", methods=["GET", "POST"])
@login_required
def edit_requirement(requirement_id: int):
    requirement = _managed_requirement(requirement_id)
    if request.method == "GET":
        return _requirement_page(requirement)
    form = RequirementForm()
    again = lambda: _requirement_page(requirement, form)  # noqa: E731
    if not form.validate():
        return refuse_form(form, again)
    return perform(
        lambda: services.save_requirement(
            current_user,
            requirement.lab,
            requirement=requirement,
            name=form.name.data,
            validity_months=form.validity_months.data,
            course=form.course.data,
            pass_score=form.pass_score.data,
            assistance_required=bool(form.assistance_required.data),
            listing_ids=form.listing_ids.data or [],
            staff_listing_id=form.staff_listing_id.data,
            trainer_listing_id=form.trainer_listing_id.data,
            levels=[Level(v) for v in form.levels.data or []],
            prerequisite_ids=form.prerequisite_ids.data or [],
        ),
        done=url_for("competence.edit_requirement", requirement_id=requirement.id),
        success=_("The requirement has been saved."),
        again=again,
        form=form,
    )


def _revoke_page(authorisation: Authorisation, form: RevokeForm | None = None):
    return render_template(
        "competence/revoke.html", authorisation=authorisation, form=form or RevokeForm()
    )


@bp.route("/lab/competence/authorisations/<int:authorisation_id>/revoke", methods=["GET", "POST"])
@login_required
def revoke(authorisation_id: int):
    authorisation = db.session.get(Authorisation, authorisation_id)
    if authorisation is None:
        abort(404)
    if not authorisation.requirement.can_manage(current_user):
        abort(403)
    if request.method == "GET":
        return _revoke_page(authorisation)
    form = RevokeForm()
    again = lambda: _revoke_page(authorisation, form)  # noqa: E731
    if not form.validate():
        return refuse_form(form, again)
    return perform(
        lambda: notify.tell_revoked(services.revoke(current_user, authorisation, form.reason.data)),
        done=url_for("competence.lab_page"),
        success=_("The authorisation has been revoked; the holder has been told."),
        again=again,
        form=form,
    )
