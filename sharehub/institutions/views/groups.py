"""Groups of the buyer's organisation: the list, a group's members, rules and funding
accounts with their spending against budget."""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from sharehub.accounts.session import current_membership, find_user_by_email
from sharehub.booking import funding
from sharehub.core.actions import page, perform
from sharehub.core.forms import ConfirmForm, refuse_form
from sharehub.extensions import db
from sharehub.institutions import queries, services
from sharehub.institutions.blueprint import bp
from sharehub.institutions.forms import (
    AccountForm,
    GroupForm,
    HeadForm,
    MemberForm,
    RulesForm,
)
from sharehub.institutions.models import GROUP_KIND_LABELS, FundingAccount, Group, GroupMember


def _group(group_id: int) -> Group:
    group = queries.get_group(group_id, current_user)
    if group is None:
        abort(404)
    return group


@bp.route("")
@login_required
def groups():
    membership = current_membership()
    if membership is None:
        return render_template("accounts/no_organisation.html")
    org = membership.organisation
    return render_template(
        "institutions/groups.html",
        org=org,
        groups=queries.groups_of(current_user, org),
        can_create=current_user.can_manage(org),
        form=GroupForm(),
        kinds=GROUP_KIND_LABELS,
    )


@bp.route("", methods=["POST"])
@login_required
def create_group():
    membership = current_membership()
    if membership is None:
        abort(403)
    form = GroupForm()
    if not form.validate():
        return refuse_form(form, page("institutions.groups"))
    return perform(
        lambda: services.create_group(
            current_user,
            membership.organisation,
            name=form.name.data,
            kind=form.kind.data,
            head=find_user_by_email(form.head_email.data),
        ),
        done=lambda group: redirect(url_for("institutions.group_page", group_id=group.id)),
        success=_("The group has been created."),
        again=page("institutions.groups"),
    )


@bp.route("/<int:group_id>")
@login_required
def group_page(group_id: int):
    group = _group(group_id)
    spending = (
        funding.committed_by_account([a.id for a in group.accounts])
        if group.can_see_spending(current_user)
        else {}
    )
    accounts = (
        group.accounts
        if group.can_see_spending(current_user)
        else [a for a in group.accounts if a.may_charge(current_user)]
    )
    return render_template(
        "institutions/group.html",
        group=group,
        accounts=accounts,
        spending=spending,
        is_head=group.is_head(current_user),
        is_admin=group.is_org_admin(current_user),
        head_form=HeadForm(),
        member_form=MemberForm(),
        rules_form=RulesForm(),
        account_form=AccountForm(),
        confirm_form=ConfirmForm(),
        labs=queries.lab_choices() if group.is_head(current_user) else [],
    )


def _again(group: Group):
    return page("institutions.group_page", group_id=group.id)


@bp.route("/<int:group_id>/head", methods=["POST"])
@login_required
def set_head(group_id: int):
    group = _group(group_id)
    form = HeadForm()
    if not form.validate():
        return refuse_form(form, _again(group))
    return perform(
        lambda: services.set_head(current_user, group, find_user_by_email(form.head_email.data)),
        done=url_for("institutions.group_page", group_id=group.id),
        success=_("The head has been named."),
        again=_again(group),
    )


@bp.route("/<int:group_id>/members", methods=["POST"])
@login_required
def add_member(group_id: int):
    group = _group(group_id)
    form = MemberForm()
    if not form.validate():
        return refuse_form(form, _again(group))
    return perform(
        lambda: services.add_member(current_user, group, find_user_by_email(form.email.data)),
        done=url_for("institutions.group_page", group_id=group.id),
        success=_("The member has been added."),
        again=_again(group),
    )


@bp.route("/<int:group_id>/members/<int:member_id>/remove", methods=["POST"])
@login_required
def remove_member(group_id: int, member_id: int):
    group = _group(group_id)
    form = ConfirmForm()
    if not form.validate():
        return refuse_form(form, _again(group))
    member = db.session.get(GroupMember, member_id)
    if member is None or member.group_id != group.id:
        abort(404)
    return perform(
        lambda: services.remove_member(current_user, group, member),
        done=url_for("institutions.group_page", group_id=group.id),
        success=_("The member has been removed."),
        again=_again(group),
    )


@bp.route("/<int:group_id>/rules", methods=["POST"])
@login_required
def set_rules(group_id: int):
    group = _group(group_id)
    form = RulesForm()
    if not form.validate():
        return refuse_form(form, _again(group))
    return perform(
        lambda: services.set_rules(
            current_user, group, approval_above=form.approval_above.data, lab_ids=form.lab_ids.data
        ),
        done=url_for("institutions.group_page", group_id=group.id),
        success=_("The approval rules have been saved."),
        again=_again(group),
    )


@bp.route("/<int:group_id>/accounts", methods=["POST"])
@bp.route("/<int:group_id>/accounts/<int:account_id>", methods=["POST"])
@login_required
def save_account(group_id: int, account_id: int | None = None):
    group = _group(group_id)
    account = None
    if account_id is not None:
        account = db.session.get(FundingAccount, account_id)
        if account is None or account.group_id != group.id:
            abort(404)
    form = AccountForm()
    if not form.validate():
        return refuse_form(form, _again(group))
    return perform(
        lambda: services.save_account(
            current_user,
            group,
            account,
            code=form.code.data,
            name=form.name.data,
            valid_from=form.valid_from.data,
            valid_to=form.valid_to.data,
            budget=form.budget.data,
            charger_ids=form.chargers.data,
            committed=funding.committed(account.id) if account is not None else 0,
        ),
        done=url_for("institutions.group_page", group_id=group.id),
        success=_("The funding account has been saved."),
        again=_again(group),
    )
