"""Organisation pages: members, invitations, switching organisation, documents."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import EqualTo, InputRequired, Length

from sharehub.accounts import orgs, services
from sharehub.accounts.forms import (
    ConfirmForm,
    InviteForm,
    OrganisationForm,
    RoleForm,
    role_choices,
)
from sharehub.accounts.models import Invitation, Membership, OrgDocument, Role, User
from sharehub.accounts.queries import city_choices, cluster_choices, open_invitations
from sharehub.accounts.session import current_membership, find_user_by_email, switch_org
from sharehub.accounts.views import bp
from sharehub.core.actions import page, perform, refused, with_status
from sharehub.core.errors import DomainError
from sharehub.core.forms import safe_next
from sharehub.core.tx import commit
from sharehub.core.uploads import stored_path
from sharehub.extensions import db


def _with_roles(form, org):
    form.role.choices = role_choices(org)
    return form


def _membership_or_404(membership_id: int) -> Membership:
    membership = db.session.get(Membership, membership_id)
    if membership is None or current_user.membership_in(membership.organisation_id) is None:
        abort(404)
    return membership


@bp.route("/organisation")
@login_required
def organisation():
    membership = current_membership()
    if membership is None:
        return render_template("accounts/no_organisation.html")
    org = membership.organisation
    can_manage = current_user.can_manage_members(org)
    return render_template(
        "accounts/organisation.html",
        org=org,
        membership=membership,
        can_manage=can_manage,
        invitations=open_invitations(org.id) if can_manage else [],
        invite_form=_with_roles(InviteForm(), org),
        confirm_form=ConfirmForm(),
        role_form=_with_roles(RoleForm(), org),
    )


@bp.route("/organisation/edit", methods=["GET", "POST"])
@login_required
def edit_organisation():
    membership = current_membership()
    if membership is None or not current_user.can_manage(membership.organisation):
        abort(403)
    org = membership.organisation
    form = OrganisationForm(obj=org)
    form.region_id.choices = city_choices()
    form.cluster_id.choices = cluster_choices()
    if request.method == "GET" and org.host_org is not None:
        form.host_credit_code.data = org.host_org.credit_code

    def again():
        return render_template("accounts/organisation_edit.html", form=form, org=org), (
            400 if form.errors else 200
        )

    if form.validate_on_submit():
        try:
            orgs.update_organisation(
                current_user,
                org,
                name=form.name.data.strip(),
                name_en=(form.name_en.data or "").strip(),
                region_id=form.region_id.data,
                cluster_id=form.cluster_id.data,
                address=(form.address.data or "").strip(),
                contact_name=form.contact_name.data.strip(),
                contact_phone=form.contact_phone.data.strip(),
                contact_email=(form.contact_email.data or "").strip().lower(),
            )
            if org.is_lab:
                orgs.set_host(current_user, org, form.host_credit_code.data or "")
        except DomainError as exc:
            return refused(exc, again, form=form)
        commit()
        flash(_("The organisation's details have been saved."), "success")
        return redirect(url_for("accounts.organisation"))
    return again()


@bp.route("/organisation/invite", methods=["POST"])
@login_required
def invite():
    membership = current_membership()
    if membership is None:
        abort(403)
    form = _with_roles(InviteForm(), membership.organisation)
    if not form.validate_on_submit():
        return _invalid(form)
    return perform(
        lambda: orgs.invite(
            current_user, membership.organisation, form.email.data, Role(form.role.data)
        ),
        done=url_for("accounts.organisation"),
        success=_("The invitation has been sent to %(email)s.", email=form.email.data),
        again=page("accounts.organisation"),
    )


def _invalid(form):
    """The organisation page again with what was wrong in a form posted from it."""
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "danger")
    return with_status(organisation(), 400)


def _done(message: str, endpoint: str = "accounts.organisation"):
    """The answer to a change made from the organisation page: told, then back."""

    def answer(_result=None):
        flash(message, "info")
        return redirect(url_for(endpoint))

    return answer


@bp.route("/organisation/invitations/<int:invitation_id>/revoke", methods=["POST"])
@login_required
def revoke_invitation(invitation_id: int):
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or current_user.membership_in(invitation.organisation_id) is None:
        abort(404)
    return perform(
        lambda: orgs.revoke_invitation(current_user, invitation),
        done=_done(_("The invitation has been withdrawn.")),
        again=page("accounts.organisation"),
    )


@bp.route("/organisation/members/<int:membership_id>/role", methods=["POST"])
@login_required
def change_role(membership_id: int):
    membership = _membership_or_404(membership_id)
    form = _with_roles(RoleForm(), membership.organisation)
    if not form.validate_on_submit():
        return _invalid(form)
    return perform(
        lambda: orgs.change_role(current_user, membership, Role(form.role.data)),
        done=url_for("accounts.organisation"),
        success=_("The role has been changed."),
        again=page("accounts.organisation"),
    )


@bp.route("/organisation/members/<int:membership_id>/remove", methods=["POST"])
@login_required
def remove_member(membership_id: int):
    membership = _membership_or_404(membership_id)
    leaving = membership.user_id == current_user.id
    return perform(
        lambda: orgs.remove_member(current_user, membership),
        done=_done(_("You have left the organisation."), "core.home")
        if leaving
        else _done(_("The member has been removed.")),
        again=page("accounts.organisation"),
    )


@bp.route("/switch", methods=["POST"])
@login_required
def switch():
    form = ConfirmForm()
    org_id = request.form.get("org_id", type=int)
    if not form.validate_on_submit() or org_id is None or not switch_org(org_id):
        abort(404)
    return redirect(safe_next())


class JoinForm(ConfirmForm):
    name = StringField(_l("Your name"), validators=[InputRequired(), Length(max=100)])
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(), Length(min=10)],
        description=_l("At least 10 characters."),
    )
    password2 = PasswordField(
        _l("Repeat the password"),
        validators=[InputRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Create account and join"))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    try:
        invitation = orgs.invitation_for_token(token)
    except DomainError as exc:
        return render_template("accounts/link_problem.html", message=exc.message), exc.status
    existing = find_user_by_email(invitation.email)
    form = JoinForm() if existing is None and not current_user.is_authenticated else ConfirmForm()

    def again():
        return render_template(
            "accounts/accept_invitation.html", invitation=invitation, form=form, existing=existing
        ), 400 if form.errors else 200

    if form.validate_on_submit():
        if existing is not None and not current_user.is_authenticated:
            return redirect(url_for("accounts.signin", next=request.path))
        try:
            if current_user.is_authenticated:
                user = current_user._get_current_object()
            else:
                services.check_password_strength(form.password.data, invitation.email)
                user = User(
                    email=invitation.email,
                    name=form.name.data.strip(),
                    locale=invitation.invited_by.locale if invitation.invited_by else "zh_CN",
                )
                user.set_password(form.password.data)
                db.session.add(user)
                db.session.flush()
            membership = orgs.accept_invitation(user, token)
        except DomainError as exc:
            return refused(exc, again, form=form)
        commit()
        if not current_user.is_authenticated:
            login_user(user)
        switch_org(membership.organisation_id)
        flash(_("Welcome to %(org)s.", org=membership.organisation.name), "success")
        return redirect(url_for("accounts.organisation"))
    return again()


@bp.route("/documents/<int:document_id>")
@login_required
def document(document_id: int):
    doc = db.session.get(OrgDocument, document_id)
    if doc is None or not doc.can_view(current_user):
        abort(404)
    return send_file(
        stored_path(doc.stored_name),
        mimetype=doc.content_type,
        download_name=doc.original_name,
        as_attachment=True,
    )
