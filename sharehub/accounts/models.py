"""People, the organisations they act for, and where those organisations are."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.ext.hybrid import hybrid_property
from werkzeug.security import check_password_hash, generate_password_hash

from sharehub.core.db import UTCDateTime, str_enum, utcnow
from sharehub.core.uploads import StoredFileMixin
from sharehub.extensions import Model


class OrgKind(enum.StrEnum):
    ENTERPRISE = "enterprise"
    LAB = "lab"
    AUTHORITY = "authority"
    PLATFORM = "platform"


class OrgStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    REJECTED = "rejected"
    RECTIFYING = "rectifying"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


# Admitted labs that keep their listings in the catalogue and take bookings: a lab under
# rectification still serves; a suspended or revoked one does not.
SERVING_STATUSES = (OrgStatus.ACTIVE, OrgStatus.RECTIFYING)


class Role(enum.StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    MEMBER = "member"
    # Authorities only: spot checks and rectification notices in the authority's region.
    INSPECTOR = "inspector"


class Power(enum.StrEnum):
    """What a supervisor may do (README, "Supervision roles")."""

    STATUS = "status"  # change a lab's status; close or escalate rectification notices
    NOTICE = "notice"  # issue rectification notices
    INSPECT = "inspect"  # draw spot checks and record what inspections found
    REVIEW = "review"  # score the qualitative indicators of a lab in a round
    PROGRAMME = "programme"  # edit assessment schemes; open, compute and publish rounds


# The powers a role in an authority (regulator) gives over the labs located in the
# authority's region and its sub-regions. Plain members read; the programme (schemes and
# rounds, which assess every lab on the platform) belongs to the platform administrators.
AUTHORITY_POWERS: dict[Role, frozenset[Power]] = {
    Role.OWNER: frozenset({Power.STATUS, Power.NOTICE, Power.INSPECT, Power.REVIEW}),
    Role.MANAGER: frozenset({Power.STATUS, Power.NOTICE, Power.INSPECT, Power.REVIEW}),
    Role.INSPECTOR: frozenset({Power.NOTICE, Power.INSPECT, Power.REVIEW}),
    Role.MEMBER: frozenset(),
}


ORG_KIND_LABELS = {
    OrgKind.ENTERPRISE: _l("Enterprise"),
    OrgKind.LAB: _l("Laboratory"),
    OrgKind.AUTHORITY: _l("Authority"),
    OrgKind.PLATFORM: _l("Platform operator"),
}
ORG_STATUS_LABELS = {
    OrgStatus.PENDING: _l("Awaiting admission"),
    OrgStatus.ACTIVE: _l("Active"),
    OrgStatus.REJECTED: _l("Rejected"),
    OrgStatus.RECTIFYING: _l("Rectifying"),
    OrgStatus.SUSPENDED: _l("Suspended"),
    OrgStatus.REVOKED: _l("Revoked"),
}
ROLE_LABELS = {
    Role.OWNER: _l("Owner"),
    Role.MANAGER: _l("Manager"),
    Role.MEMBER: _l("Member"),
    Role.INSPECTOR: _l("Inspector"),
}


class Region(Model):
    """A province (parent is None) or a city within one, coded by GB/T 2260."""

    __tablename__ = "region"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(6), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(64))
    name_en: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    parent_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("region.id", ondelete="RESTRICT"), index=True
    )

    parent: so.Mapped[Region | None] = so.relationship(remote_side=[id], back_populates="children")
    children: so.Mapped[list[Region]] = so.relationship(back_populates="parent")

    @property
    def is_province(self) -> bool:
        return self.parent_id is None

    def contains(self, other: Region | None) -> bool:
        """`other` is this region or lies within it (a city of this province)."""
        while other is not None:
            if other.id == self.id:
                return True
            other = other.parent
        return False

    def subtree_ids(self) -> list[int]:
        """This region's id and those of every region within it."""
        ids, todo = [], [self]
        while todo:
            region = todo.pop()
            ids.append(region.id)
            todo.extend(region.children)
        return ids


class Cluster(Model):
    """An industrial cluster (产业集聚区) whose firms the labs serve; kept by administrators."""

    __tablename__ = "cluster"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100), unique=True)
    name_en: so.Mapped[str] = so.mapped_column(sa.String(150), default="")
    region_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("region.id", ondelete="RESTRICT"), index=True
    )
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    is_active: so.Mapped[bool] = so.mapped_column(default=True)

    region: so.Mapped[Region | None] = so.relationship()


class Organisation(Model):
    __tablename__ = "organisation"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    kind: so.Mapped[OrgKind] = so.mapped_column(
        str_enum(OrgKind, 16),
        index=True,
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    name_en: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    credit_code: so.Mapped[str] = so.mapped_column(sa.String(18), unique=True)
    region_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("region.id", ondelete="RESTRICT"), index=True
    )
    cluster_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("cluster.id", ondelete="RESTRICT"), index=True
    )
    contact_name: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    contact_phone: so.Mapped[str] = so.mapped_column(sa.String(32), default="")
    contact_email: so.Mapped[str] = so.mapped_column(sa.String(254), default="")
    address: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    is_sme: so.Mapped[bool] = so.mapped_column(default=False)
    # Laboratories only
    cnas_number: so.Mapped[str] = so.mapped_column(sa.String(32), default="")
    cma_number: so.Mapped[str] = so.mapped_column(sa.String(32), default="")
    host_name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    # The host organisation (依托单位) on the platform: a lab names the university,
    # institute or firm it belongs to; the host's departments and research groups name it
    # too. The lab, its host and the host's other units are internal to each other.
    host_org_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    # VAT on the lab's services in basis points: 600 = 6 % (small-scale taxpayers 3 % or 1 %)
    vat_rate_bp: so.Mapped[int] = so.mapped_column(default=600)
    # Where customers pay by bank transfer (对公转账); printed on invoices.
    bank_name: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    bank_account: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    # The account holder (户名); the organisation's own name when left empty.
    bank_holder: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    status: so.Mapped[OrgStatus] = so.mapped_column(
        str_enum(OrgStatus, 16),
        default=OrgStatus.ACTIVE,
        index=True,
    )
    status_reason: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    status_changed_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    region: so.Mapped[Region | None] = so.relationship()
    cluster: so.Mapped[Cluster | None] = so.relationship()
    host_org: so.Mapped[Organisation | None] = so.relationship(
        remote_side=[id], foreign_keys=[host_org_id]
    )
    memberships: so.Mapped[list[Membership]] = so.relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )
    documents: so.Mapped[list[OrgDocument]] = so.relationship(
        back_populates="organisation", cascade="all, delete-orphan", order_by="OrgDocument.id"
    )

    @property
    def is_lab(self) -> bool:
        return self.kind == OrgKind.LAB

    @property
    def is_active(self) -> bool:
        return self.status == OrgStatus.ACTIVE

    @property
    def host_label(self) -> str:
        """The host organisation's name: the linked organisation, else the free text."""
        return self.host_org.name if self.host_org is not None else self.host_name

    def is_internal_to(self, lab: Organisation) -> bool:
        """Use by this organisation counts as internal for `lab`: it is the lab itself,
        the lab's host, or another unit of the same host (DOMAIN.md, "Who counts as
        internal")."""
        if self.id == lab.id:
            return True
        host = lab.host_org_id
        return host is not None and host in (self.id, self.host_org_id)

    @property
    def is_pending(self) -> bool:
        return self.status == OrgStatus.PENDING

    @hybrid_property
    def is_serving(self) -> bool:
        """Listed in the catalogue and bookable (active, or active under rectification)."""
        return self.status in SERVING_STATUSES

    @is_serving.inplace.expression
    @classmethod
    def _is_serving_expression(cls):
        return cls.status.in_(SERVING_STATUSES)

    @staticmethod
    def internal_ids(lab_id) -> sa.Select:
        """SQL: ids of the organisations internal to the lab `lab_id` — the lab, its host
        and the host's other units (the SQL form of `is_internal_to`)."""
        org = so.aliased(Organisation, name="internal_org")
        host = (
            sa.select(Organisation.host_org_id).where(Organisation.id == lab_id).scalar_subquery()
        )
        return sa.select(org.id).where(
            sa.or_(org.id == lab_id, org.id == host, org.host_org_id == host)
        )

    @property
    def kind_label(self):
        return ORG_KIND_LABELS[self.kind]

    @property
    def status_label(self):
        return ORG_STATUS_LABELS[self.status]

    def owners(self) -> list[User]:
        return [m.user for m in self.memberships if m.role == Role.OWNER]


class OrgDocument(StoredFileMixin, Model):
    """An accreditation document (CNAS/CMA certificate scan) a lab uploaded."""

    __tablename__ = "org_document"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    organisation_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    uploaded_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    organisation: so.Mapped[Organisation] = so.relationship(back_populates="documents")

    def can_manage(self, user) -> bool:
        """The organisation's owners and managers."""
        return user.is_authenticated and user.can_manage(self.organisation)

    def can_view(self, user) -> bool:
        """The organisation's members, and the platform's administrators and regulators
        who admit and supervise it."""
        return user.is_authenticated and (
            user.membership_in(self.organisation_id) is not None
            or user.is_platform_admin
            or user.is_regulator
        )


class User(UserMixin, Model):
    __tablename__ = "user"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    phone: so.Mapped[str] = so.mapped_column(sa.String(32), default="")
    locale: so.Mapped[str] = so.mapped_column(sa.String(8), default="zh_CN")
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="Asia/Shanghai")
    email_verified_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Named so as not to shadow UserMixin.is_active, which Flask-Login reads.
    disabled: so.Mapped[bool] = so.mapped_column(default=False)
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    last_login_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    # Changing it signs the user out everywhere (it is part of the session id).
    session_version: so.Mapped[int] = so.mapped_column(default=1)

    memberships: so.Mapped[list[Membership]] = so.relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Membership.id"
    )

    def set_password(self, password: str) -> None:
        method = (
            current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
            if has_app_context()
            else "scrypt"
        )
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login
        return not self.disabled

    @property
    def is_verified(self) -> bool:
        return self.email_verified_dt is not None

    def membership_in(self, org: Organisation | int | None) -> Membership | None:
        org_id = getattr(org, "id", org)
        return next((m for m in self.memberships if m.organisation_id == org_id), None)

    def role_in(self, org) -> Role | None:
        membership = self.membership_in(org)
        return membership.role if membership else None

    @property
    def is_platform_admin(self) -> bool:
        return any(m.organisation.kind == OrgKind.PLATFORM for m in self.memberships)

    @property
    def is_regulator(self) -> bool:
        return any(m.organisation.kind == OrgKind.AUTHORITY for m in self.memberships)

    def overseen_regions(self) -> list[Region]:
        """The regions of the active authorities this user belongs to, whatever the role:
        where they read the supervision records (notices, spot checks, scorecards)."""
        return [
            m.organisation.region
            for m in self.memberships
            if m.organisation.kind == OrgKind.AUTHORITY
            and m.organisation.status == OrgStatus.ACTIVE
            and m.organisation.region is not None
        ]

    def can_oversee(self, lab: Organisation) -> bool:
        """May read the supervision records of `lab`: platform administrators; regulators of
        the lab's region (any role). Elsewhere regulators read what is public."""
        if self.is_platform_admin:
            return True
        return any(region.contains(lab.region) for region in self.overseen_regions())

    def can_oversee_region(self, region: Region | None) -> bool:
        if self.is_platform_admin:
            return True
        return region is not None and any(r.contains(region) for r in self.overseen_regions())

    def overseen_region_ids(self) -> list[int] | None:
        """Ids of the regions whose labs this user oversees; None: every lab."""
        if self.is_platform_admin:
            return None
        return sorted({i for region in self.overseen_regions() for i in region.subtree_ids()})

    def supervising_authorities(self, power: Power) -> list[Organisation]:
        """The active authorities (with a region) in which this user's role gives `power`."""
        return [
            m.organisation
            for m in self.memberships
            if m.organisation.kind == OrgKind.AUTHORITY
            and m.organisation.status == OrgStatus.ACTIVE
            and m.organisation.region is not None
            and power in AUTHORITY_POWERS.get(m.role, ())
        ]

    def can_supervise(self, lab: Organisation, power: Power) -> bool:
        """May exercise `power` over `lab`: platform administrators everywhere; a regulator
        whose role gives the power, over labs located in its authority's region."""
        if self.is_platform_admin:
            return True
        if power == Power.PROGRAMME or lab is None or lab.kind != OrgKind.LAB:
            return False
        return any(
            a.region is not None and a.region.contains(lab.region)
            for a in self.supervising_authorities(power)
        )

    def can_supervise_region(self, region: Region | None, power: Power) -> bool:
        """May exercise `power` over every lab in `region` (None: the whole platform)."""
        if self.is_platform_admin:
            return True
        if power == Power.PROGRAMME or region is None:
            return False
        return any(
            a.region is not None and a.region.contains(region)
            for a in self.supervising_authorities(power)
        )

    def has_power(self, power: Power) -> bool:
        """Has `power` somewhere (which pages show the forms that exercise it)."""
        return self.is_platform_admin or (
            power != Power.PROGRAMME and bool(self.supervising_authorities(power))
        )

    def can_manage_members(self, org: Organisation) -> bool:
        return self.role_in(org) == Role.OWNER

    def can_manage(self, org: Organisation) -> bool:
        return self.role_in(org) in (Role.OWNER, Role.MANAGER)


class Membership(Model):
    __tablename__ = "membership"
    __table_args__ = (sa.UniqueConstraint("user_id", "organisation_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    organisation_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    role: so.Mapped[Role] = so.mapped_column(str_enum(Role, 16))
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)

    user: so.Mapped[User] = so.relationship(back_populates="memberships")
    organisation: so.Mapped[Organisation] = so.relationship(back_populates="memberships")

    @property
    def role_label(self):
        return ROLE_LABELS[self.role]


class Invitation(Model):
    """An emailed invitation to join an organisation; the token is stored hashed."""

    __tablename__ = "invitation"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    organisation_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    email: so.Mapped[str] = so.mapped_column(sa.String(254), index=True)
    role: so.Mapped[Role] = so.mapped_column(str_enum(Role, 16))
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    invited_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    created_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    expires_dt: so.Mapped[datetime] = so.mapped_column(UTCDateTime)
    accepted_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)
    revoked_dt: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime)

    organisation: so.Mapped[Organisation] = so.relationship()
    invited_by: so.Mapped[User | None] = so.relationship()

    @property
    def is_open(self) -> bool:
        return self.accepted_dt is None and self.revoked_dt is None and self.expires_dt > utcnow()

    @property
    def role_label(self):
        return ROLE_LABELS[self.role]
