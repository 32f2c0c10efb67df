"""Organisation operations: members, invitations, admission of labs, reference lists."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import (
    Cluster,
    Invitation,
    Membership,
    Organisation,
    OrgKind,
    OrgStatus,
    Region,
    Role,
    User,
)
from sharehub.accounts.session import normalize_email
from sharehub.core import audit
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from sharehub.core.mail import queue_mail
from sharehub.extensions import db


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_role(org: Organisation, role: Role) -> None:
    if role == Role.INSPECTOR and org.kind != OrgKind.AUTHORITY:
        raise ValidationError(_l("Only an authority has inspectors."), field="role")


def invite(actor: User, org: Organisation, email: str, role: Role) -> Invitation:
    if not actor.can_manage_members(org):
        raise PermissionDenied(_l("Only an owner of the organisation can invite colleagues."))
    _check_role(org, role)
    email = normalize_email(email)
    if any(m.user.email == email for m in org.memberships):
        raise Conflict(_l("This person is already a member."), field="email")
    for pending in db.session.scalars(
        sa.select(Invitation).where(
            Invitation.organisation_id == org.id,
            Invitation.email == email,
            Invitation.accepted_dt.is_(None),
            Invitation.revoked_dt.is_(None),
        )
    ):
        pending.revoked_dt = utcnow()  # a new invitation replaces the old link
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        organisation=org,
        email=email,
        role=role,
        token_hash=_hash(token),
        invited_by=actor,
        expires_dt=utcnow() + timedelta(seconds=current_app.config["INVITATION_MAX_AGE"]),
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        actor, "invitation.sent", invitation, organisation=org, email=email, role=role.value
    )
    queue_mail(
        email,
        _l("You are invited to join %(org)s on ShareHub", org=org.name),
        "mail/invitation.txt",
        locale=actor.locale,
        org=org,
        inviter=actor,
        role=invitation.role_label,
        link=url_for("accounts.accept_invitation", token=token, _external=True),
    )
    db.session.flush()
    return invitation


def invitation_for_token(token: str) -> Invitation:
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.token_hash == _hash(token))
    )
    if invitation is None or invitation.revoked_dt is not None:
        raise ValidationError(_l("This invitation is not valid or was withdrawn."))
    if invitation.accepted_dt is not None:
        raise ValidationError(_l("This invitation has already been accepted."))
    if invitation.expires_dt <= utcnow():
        raise ValidationError(_l("This invitation has expired. Ask for a new one."))
    return invitation


def accept_invitation(user: User, token: str) -> Membership:
    invitation = invitation_for_token(token)
    if normalize_email(user.email) != invitation.email:
        raise PermissionDenied(
            _l(
                "This invitation was sent to %(email)s. Sign in with that address to accept it.",
                email=invitation.email,
            )
        )
    invitation.accepted_dt = utcnow()
    membership = user.membership_in(invitation.organisation)
    if membership is None:
        membership = Membership(
            user=user, organisation=invitation.organisation, role=invitation.role
        )
        db.session.add(membership)
    if user.email_verified_dt is None:
        user.email_verified_dt = utcnow()  # the emailed token proves the address
    db.session.flush()
    audit.record(
        user,
        "invitation.accepted",
        invitation,
        organisation=invitation.organisation,
        role=invitation.role.value,
    )
    db.session.flush()
    return membership


def revoke_invitation(actor: User, invitation: Invitation) -> None:
    if not actor.can_manage_members(invitation.organisation):
        raise PermissionDenied(_l("Only an owner of the organisation can withdraw invitations."))
    if invitation.accepted_dt is None and invitation.revoked_dt is None:
        invitation.revoked_dt = utcnow()
        audit.record(
            actor,
            "invitation.revoked",
            invitation,
            organisation=invitation.organisation_id,
            email=invitation.email,
        )
        db.session.flush()


def change_role(actor: User, membership: Membership, role: Role) -> None:
    org = membership.organisation
    if not actor.can_manage_members(org):
        raise PermissionDenied(_l("Only an owner of the organisation can change roles."))
    _check_role(org, role)
    if membership.role == Role.OWNER and role != Role.OWNER and len(org.owners()) == 1:
        raise Conflict(_l("An organisation keeps at least one owner."))
    if membership.role != role:
        old = membership.role
        membership.role = role
        audit.record(
            actor,
            "membership.role_changed",
            membership,
            organisation=org,
            user=membership.user.email,
            old=old.value,
            new=role.value,
        )
        db.session.flush()


def remove_member(actor: User, membership: Membership) -> None:
    org = membership.organisation
    if not actor.can_manage_members(org) and actor.id != membership.user_id:
        raise PermissionDenied(_l("Only an owner of the organisation can remove members."))
    if membership.role == Role.OWNER and len(org.owners()) == 1:
        raise Conflict(_l("An organisation keeps at least one owner."))
    audit.record(
        actor, "membership.removed", membership, organisation=org, user=membership.user.email
    )
    db.session.delete(membership)
    db.session.flush()


def update_organisation(actor: User, org: Organisation, **fields) -> None:
    if not actor.can_manage(org) and not actor.is_platform_admin:
        raise PermissionDenied(_l("You may not edit this organisation."))
    allowed = {
        "name",
        "name_en",
        "contact_name",
        "contact_phone",
        "contact_email",
        "address",
        "cluster_id",
        "region_id",
        "cnas_number",
        "cma_number",
        "host_name",
        "is_sme",
        "vat_rate_bp",
        "bank_name",
        "bank_account",
        "bank_holder",
    }
    changes = {}
    for key, value in fields.items():
        if key not in allowed:
            raise ValidationError(_l("Unknown field."))
        if getattr(org, key) != value:
            changes[key] = value
            setattr(org, key, value)
    if "region_id" in changes:
        region = db.session.get(Region, org.region_id)
        if region is None or region.parent_id is None:
            raise ValidationError(_l("Choose a city."), field="region_id")
    if changes.get("cluster_id") is not None:
        cluster = db.session.get(Cluster, org.cluster_id)
        if cluster is None or not cluster.is_active:
            raise ValidationError(
                _l("Choose an industrial cluster from the list."), field="cluster_id"
            )
    if changes:
        audit.record(actor, "organisation.updated", org, **changes)
    db.session.flush()


def set_host(actor: User, lab: Organisation, credit_code: str) -> None:
    """The lab names its host organisation (依托单位) by its unified social credit code;
    an empty code removes the link. The host and the organisations that name the same
    host count as internal for the lab: in its figures and at its internal price. The
    host's name also becomes the lab's free-text host name, which pages show."""
    if not actor.can_manage(lab) and not actor.is_platform_admin:
        raise PermissionDenied(_l("You may not edit this organisation."))
    if not lab.is_lab:
        raise ValidationError(_l("Only a laboratory names a host organisation."))
    code = (credit_code or "").strip().upper()
    host = None
    if code:
        host = db.session.scalar(sa.select(Organisation).where(Organisation.credit_code == code))
        if host is None:
            raise ValidationError(
                _l("No organisation on the platform has this credit code."),
                field="host_credit_code",
            )
        if host.id == lab.id or host.kind != OrgKind.ENTERPRISE:
            raise ValidationError(
                _l("Choose the university, institute or firm the laboratory belongs to."),
                field="host_credit_code",
            )
    new = host.id if host is not None else None
    if new == lab.host_org_id:
        return
    old, lab.host_org_id, lab.host_org = lab.host_org_id, new, host
    if host is not None:
        lab.host_name = host.name
    audit.record(actor, "organisation.host_changed", lab, old=old, new=new)
    db.session.flush()


# --- Admission of labs -------------------------------------------------------------------


def _require_admin(actor: User) -> None:
    if not actor.is_platform_admin:
        raise PermissionDenied(_l("Only platform administrators may do this."))


def _notify_owners(org: Organisation, subject, template: str, **context) -> None:
    for owner in org.owners():
        queue_mail(
            owner.email, subject, template, locale=owner.locale, org=org, user=owner, **context
        )


def admit_lab(actor: User, org: Organisation) -> None:
    _require_admin(actor)
    if org.kind != OrgKind.LAB:
        raise ValidationError(_l("Only laboratories are admitted."))
    if org.status not in (OrgStatus.PENDING, OrgStatus.REJECTED):
        raise Conflict(_l("This laboratory is not awaiting admission."))
    org.status = OrgStatus.ACTIVE
    org.status_reason = ""
    org.status_changed_dt = utcnow()
    audit.record(actor, "organisation.admitted", org)
    _notify_owners(
        org,
        _l("Your laboratory has been admitted to ShareHub"),
        "mail/lab_admitted.txt",
        link=url_for("accounts.signin", _external=True),
    )
    db.session.flush()


def reject_lab(actor: User, org: Organisation, reason: str) -> None:
    _require_admin(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_l("Give the reason for the rejection."), field="reason")
    if org.kind != OrgKind.LAB or org.status != OrgStatus.PENDING:
        raise Conflict(_l("This laboratory is not awaiting admission."))
    org.status = OrgStatus.REJECTED
    org.status_reason = reason
    org.status_changed_dt = utcnow()
    audit.record(actor, "organisation.rejected", org, reason=reason)
    _notify_owners(
        org,
        _l("Your laboratory application on ShareHub was not admitted"),
        "mail/lab_rejected.txt",
        reason=reason,
    )
    db.session.flush()


def set_user_disabled(actor: User, user: User, disabled: bool) -> None:
    _require_admin(actor)
    if user.id == actor.id:
        raise Conflict(_l("You cannot disable your own account."))
    if user.disabled != disabled:
        user.disabled = disabled
        user.session_version += 1
        audit.record(actor, "user.disabled" if disabled else "user.enabled", user)
        db.session.flush()


# --- Reference lists kept by administrators ----------------------------------------------


def save_cluster(
    actor: User,
    cluster: Cluster | None,
    *,
    name: str,
    name_en: str,
    region_id: int | None,
    description: str,
    is_active: bool,
) -> Cluster:
    _require_admin(actor)
    name = name.strip()
    clash = db.session.scalar(sa.select(Cluster).where(Cluster.name == name))
    if clash is not None and clash is not cluster:
        raise Conflict(_l("A cluster with this name exists already."), field="name")
    if region_id is not None and db.session.get(Region, region_id) is None:
        raise NotFound(_l("Unknown region."))
    created = cluster is None
    if created:
        cluster = Cluster()
        db.session.add(cluster)
    cluster.name, cluster.name_en = name, name_en.strip()
    cluster.region_id, cluster.description, cluster.is_active = region_id, description, is_active
    db.session.flush()
    audit.record(
        actor,
        "cluster.created" if created else "cluster.updated",
        cluster,
        name=name,
        active=is_active,
    )
    db.session.flush()
    return cluster


def save_region(
    actor: User, region: Region | None, *, code: str, name: str, name_en: str, parent_id: int | None
) -> Region:
    _require_admin(actor)
    code = code.strip()
    if not (len(code) == 6 and code.isdigit()):
        raise ValidationError(_l("A region code has six digits (GB/T 2260)."), field="code")
    clash = db.session.scalar(sa.select(Region).where(Region.code == code))
    if clash is not None and clash is not region:
        raise Conflict(_l("A region with this code exists already."), field="code")
    if parent_id is not None:
        parent = db.session.get(Region, parent_id)
        if parent is None or parent.parent_id is not None or parent is region:
            raise ValidationError(_l("A city's parent must be a province."), field="parent_id")
    if region is not None and region.children and parent_id is not None:
        raise ValidationError(_l("A province with cities cannot become a city."), field="parent_id")
    created = region is None
    if created:
        region = Region()
        db.session.add(region)
    region.code, region.name, region.name_en, region.parent_id = (
        code,
        name.strip(),
        name_en.strip(),
        parent_id,
    )
    db.session.flush()
    audit.record(
        actor,
        "region.created" if created else "region.updated",
        region,
        code=code,
        name=region.name,
    )
    db.session.flush()
    return region
