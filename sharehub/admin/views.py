"""Platform administration: lab admission, organisations, users, reference lists, audit."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from sharehub.accounts import orgs
from sharehub.accounts.forms import ConfirmForm
from sharehub.accounts.models import (
    ORG_KIND_LABELS,
    ORG_STATUS_LABELS,
    Cluster,
    Organisation,
    OrgKind,
    OrgStatus,
    Region,
    User,
)
from sharehub.accounts.queries import city_choices, province_choices
from sharehub.accounts.session import admin_required, staff_required
from sharehub.admin import queries
from sharehub.admin.forms import ClusterForm, RegionForm, RejectForm
from sharehub.core.actions import page, perform, refused
from sharehub.core.errors import DomainError
from sharehub.core.i18n import user_zone
from sharehub.core.tx import commit
from sharehub.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _get_or_404(model, object_id: int):
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    return obj


def _parse_date(name: str) -> date | None:
    value = request.args.get(name, "")
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        flash(_("Dates are written as YYYY-MM-DD."), "warning")
        return None


@bp.route("/")
@staff_required
def dashboard():
    pending = db.session.scalars(
        queries.organisations_query(kind=OrgKind.LAB.value, status=OrgStatus.PENDING.value)
    ).all()
    by_kind = dict(
        db.session.execute(
            sa.select(Organisation.kind, sa.func.count()).group_by(Organisation.kind)
        ).all()
    )
    labs_by_status = dict(
        db.session.execute(
            sa.select(Organisation.status, sa.func.count())
            .where(Organisation.kind == OrgKind.LAB)
            .group_by(Organisation.status)
        ).all()
    )
    users = db.session.scalar(sa.select(sa.func.count(User.id)))
    return render_template(
        "admin/dashboard.html",
        pending=pending,
        by_kind=by_kind,
        labs_by_status=labs_by_status,
        users=users,
        kind_labels=ORG_KIND_LABELS,
        status_labels=ORG_STATUS_LABELS,
    )


@bp.route("/organisations")
@staff_required
def organisations():
    args = request.args
    kind = args.get("kind", "") if args.get("kind", "") in {k.value for k in OrgKind} else ""
    status = (
        args.get("status", "") if args.get("status", "") in {s.value for s in OrgStatus} else ""
    )
    query = queries.organisations_query(
        kind=kind,
        status=status,
        q=args.get("q", ""),
        cluster_id=args.get("cluster", type=int),
        region_id=args.get("region", type=int),
    )
    page = db.paginate(query, per_page=queries.PER_PAGE, error_out=False)
    clusters = db.session.scalars(sa.select(Cluster).order_by(Cluster.name)).all()
    provinces = db.session.scalars(
        sa.select(Region).where(Region.parent_id.is_(None)).order_by(Region.code)
    ).all()
    return render_template(
        "admin/organisations.html",
        page=page,
        kind=kind,
        status=status,
        kind_labels=ORG_KIND_LABELS,
        status_labels=ORG_STATUS_LABELS,
        clusters=clusters,
        provinces=provinces,
    )


@bp.route("/organisations/<int:org_id>")
@staff_required
def organisation(org_id: int):
    return _organisation_page(_get_or_404(Organisation, org_id))


def _organisation_page(org: Organisation, reject_form: RejectForm | None = None):
    history = db.session.scalars(queries.audit_query(organisation_id=org.id).limit(30)).all()
    return render_template(
        "admin/organisation.html",
        org=org,
        reject_form=reject_form or RejectForm(),
        confirm_form=ConfirmForm(),
        history=history,
    )


@bp.route("/organisations/<int:org_id>/admit", methods=["POST"])
@admin_required
def admit(org_id: int):
    org = _get_or_404(Organisation, org_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return perform(
        lambda: orgs.admit_lab(current_user, org),
        done=url_for("admin.organisation", org_id=org.id),
        success=_("%(name)s has been admitted; its owners were told by email.", name=org.name),
        again=page("admin.organisation", org_id=org.id),
    )


@bp.route("/organisations/<int:org_id>/reject", methods=["POST"])
@admin_required
def reject(org_id: int):
    org = _get_or_404(Organisation, org_id)
    form = RejectForm()
    if not form.validate_on_submit():
        return _organisation_page(org, form), 400

    def rejected(_result):
        flash(_("The application has been rejected; its owners were told by email."), "info")
        return redirect(url_for("admin.organisation", org_id=org.id))

    return perform(
        lambda: orgs.reject_lab(current_user, org, form.reason.data),
        done=rejected,
        again=lambda: _organisation_page(db.session.get(Organisation, org_id), form),
    )


@bp.route("/users")
@admin_required
def users():
    query = queries.users_query(q=request.args.get("q", ""), state=request.args.get("state", ""))
    page = db.paginate(query, per_page=queries.PER_PAGE, error_out=False)
    return render_template("admin/users.html", page=page, confirm_form=ConfirmForm())


@bp.route("/users/<int:user_id>/<any(disable, enable):action>", methods=["POST"])
@admin_required
def set_user_state(user_id: int, action: str):
    user = _get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return perform(
        lambda: orgs.set_user_disabled(current_user, user, action == "disable"),
        done=request.referrer
        if request.referrer and request.referrer.startswith(request.host_url)
        else url_for("admin.users"),
        success=_("The account of %(email)s has been updated.", email=user.email),
        again=page("admin.users"),
    )


@bp.route("/clusters")
@admin_required
def clusters():
    return render_template("admin/clusters.html", rows=queries.clusters_with_counts())


@bp.route("/clusters/new", methods=["GET", "POST"], defaults={"cluster_id": None})
@bp.route("/clusters/<int:cluster_id>", methods=["GET", "POST"])
@admin_required
def edit_cluster(cluster_id: int | None):
    cluster = _get_or_404(Cluster, cluster_id) if cluster_id else None
    form = ClusterForm(obj=cluster)
    form.region_id.choices = [SelectChoice("", "—"), *city_choices()]

    def again():
        return render_template("admin/cluster_form.html", form=form, cluster=cluster), (
            400 if form.errors else 200
        )

    if form.validate_on_submit():
        try:
            orgs.save_cluster(
                current_user,
                cluster,
                name=form.name.data,
                name_en=form.name_en.data or "",
                region_id=form.region_id.data,
                description=form.description.data or "",
                is_active=form.is_active.data,
            )
        except DomainError as exc:
            return refused(exc, again, form=form)
        commit()
        flash(_("The cluster has been saved."), "success")
        return redirect(url_for("admin.clusters"))
    return again()


@bp.route("/regions")
@admin_required
def regions():
    return render_template("admin/regions.html", provinces=queries.regions_tree())


@bp.route("/regions/new", methods=["GET", "POST"], defaults={"region_id": None})
@bp.route("/regions/<int:region_id>", methods=["GET", "POST"])
@admin_required
def edit_region(region_id: int | None):
    region = _get_or_404(Region, region_id) if region_id else None
    form = RegionForm(obj=region)
    form.parent_id.choices = province_choices()

    def again():
        return render_template("admin/region_form.html", form=form, region=region), (
            400 if form.errors else 200
        )

    if form.validate_on_submit():
        try:
            orgs.save_region(
                current_user,
                region,
                code=form.code.data,
                name=form.name.data,
                name_en=form.name_en.data or "",
                parent_id=form.parent_id.data,
            )
        except DomainError as exc:
            return refused(exc, again, form=form)
        commit()
        flash(_("The region has been saved."), "success")
        return redirect(url_for("admin.regions"))
    return again()


@bp.route("/audit")
@admin_required
def audit_log():
    args = request.args
    query = queries.audit_query(
        action=args.get("action", ""),
        actor=args.get("actor", ""),
        object_type=args.get("object_type", ""),
        object_id=args.get("object_id", type=int),
        organisation_id=args.get("org", type=int),
        date_from=_parse_date("from"),
        date_to=_parse_date("to"),
        tz=user_zone(),
    )
    page = db.paginate(query, per_page=queries.PER_PAGE, error_out=False)
    return render_template(
        "admin/audit.html",
        page=page,
        actions=queries.audit_actions(),
        object_types=queries.audit_object_types(),
    )


from sharehub.admin import review_views  # noqa: E402,F401  (registers review routes on bp)
