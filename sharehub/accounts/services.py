"""Account operations: sign-up, verification, passwords, profile.

Each takes the acting user where there is one, validates, writes, audits and
flushes; the caller commits once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import (
    Cluster,
    Membership,
    Organisation,
    OrgDocument,
    OrgKind,
    OrgStatus,
    Region,
    Role,
    User,
)
from sharehub.accounts.session import find_user_by_email, normalize_email
from sharehub.accounts.tokens import (
    TokenError,
    load_token,
    make_reset_token,
    make_verify_token,
    verify_fingerprint,
)
from sharehub.core import audit
from sharehub.core.codes import is_valid_credit_code, normalize_credit_code
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, ValidationError
from sharehub.core.mail import queue_mail
from sharehub.core.uploads import sniff_document, store_bytes
from sharehub.extensions import db

MIN_PASSWORD_LENGTH = 10


@dataclass
class UploadedDocument:
    data: bytes
    filename: str


@dataclass
class SignupData:
    kind: OrgKind
    email: str
    password: str
    name: str
    phone: str
    locale: str
    org_name: str
    org_name_en: str
    credit_code: str
    region_id: int
    cluster_id: int | None
    contact_name: str
    contact_phone: str
    address: str = ""
    is_sme: bool = False
    cnas_number: str = ""
    cma_number: str = ""
    host_name: str = ""
    documents: list[UploadedDocument] = field(default_factory=list)


def check_password_strength(password: str, email: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            _l("The password needs at least %(n)s characters.", n=MIN_PASSWORD_LENGTH),
            field="password",
        )
    if email and password.lower() == normalize_email(email):
        raise ValidationError(_l("The password must not be your email address."), field="password")


def validate_org_identity(credit_code: str, region_id: int, cluster_id: int | None) -> str:
    code = normalize_credit_code(credit_code)
    if not is_valid_credit_code(code):
        raise ValidationError(
            _l(
                "This is not a valid unified social credit code (18 characters, check character "
                "included)."
            ),
            field="credit_code",
        )
    if db.session.scalar(sa.select(Organisation.id).where(Organisation.credit_code == code)):
        raise Conflict(
            _l("An organisation with this credit code is already registered."), field="credit_code"
        )
    region = db.session.get(Region, region_id)
    if region is None or region.parent_id is None:
        raise ValidationError(_l("Choose a city."), field="region_id")
    if cluster_id is not None:
        cluster = db.session.get(Cluster, cluster_id)
        if cluster is None or not cluster.is_active:
            raise ValidationError(
                _l("Choose an industrial cluster from the list."), field="cluster_id"
            )
    return code


def signup(data: SignupData) -> User:
    """Register a new organisation with its first user as owner.

    Labs start pending and need an administrator's admission; enterprises are
    active at once. Nothing is written unless every check passes.
    """
    if data.kind not in (OrgKind.ENTERPRISE, OrgKind.LAB):
        raise ValidationError(_l("Choose enterprise or laboratory."), field="kind")
    email = normalize_email(data.email)
    if find_user_by_email(email) is not None:
        raise Conflict(_l("An account with this email address already exists."), field="email")
    check_password_strength(data.password, email)
    code = validate_org_identity(data.credit_code, data.region_id, data.cluster_id)
    is_lab = data.kind == OrgKind.LAB
    if is_lab:
        if not (data.cnas_number.strip() or data.cma_number.strip()):
            raise ValidationError(
                _l("A laboratory gives at least one accreditation number (CNAS or CMA)."),
                field="cnas_number",
            )
        if not data.documents:
            raise ValidationError(
                _l("Upload at least one accreditation document."), field="documents"
            )
    checked = [(doc, sniff_document(doc.data)) for doc in data.documents]

    org = Organisation(
        kind=data.kind,
        name=data.org_name.strip(),
        name_en=data.org_name_en.strip(),
        credit_code=code,
        region_id=data.region_id,
        cluster_id=data.cluster_id,
        contact_name=data.contact_name.strip(),
        contact_phone=data.contact_phone.strip(),
        contact_email=email,
        address=data.address.strip(),
        is_sme=data.is_sme and not is_lab,
        cnas_number=data.cnas_number.strip().upper() if is_lab else "",
        cma_number=data.cma_number.strip() if is_lab else "",
        host_name=data.host_name.strip() if is_lab else "",
        status=OrgStatus.PENDING if is_lab else OrgStatus.ACTIVE,
        status_changed_dt=utcnow(),
    )
    user = User(email=email, name=data.name.strip(), phone=data.phone.strip(), locale=data.locale)
    user.set_password(data.password)
    db.session.add_all([org, user])
    db.session.add(Membership(user=user, organisation=org, role=Role.OWNER))
    db.session.flush()
    for doc, content_type in checked:
        stored = store_bytes(doc.data, doc.filename, content_type)
        db.session.add(
            OrgDocument(
                organisation=org,
                original_name=stored.original_name,
                stored_name=stored.stored_name,
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                uploaded_by_id=user.id,
            )
        )
    audit.record(user, "organisation.registered", org, kind=org.kind.value, name=org.name)
    audit.record(user, "user.signed_up", user, organisation=org, email=email)
    send_verification(user)
    db.session.flush()
    return user


def send_verification(user: User) -> None:
    link = url_for("accounts.verify_email", token=make_verify_token(user), _external=True)
    queue_mail(
        user.email,
        _l("Confirm your email address for ShareHub"),
        "mail/verify_email.txt",
        locale=user.locale,
        user=user,
        link=link,
    )


def verify_email(token: str) -> User:
    try:
        data = load_token("verify", token, current_app.config["EMAIL_TOKEN_MAX_AGE"])
    except TokenError as exc:
        raise ValidationError(_token_message(exc)) from exc
    user = db.session.get(User, data["u"])
    if user is None or not verify_fingerprint(user.email, data.get("e", "")):
        raise ValidationError(_l("This confirmation link is not valid."))
    if user.email_verified_dt is None:
        user.email_verified_dt = utcnow()
        audit.record(user, "user.email_verified", user)
        db.session.flush()
    return user


def authenticate(email: str, password: str) -> User:
    user = find_user_by_email(email)
    # Hash even when the user does not exist, so timing does not reveal accounts.
    if user is None:
        User(email="", name="").set_password(password)
        raise ValidationError(_l("The email address or password is wrong."))
    if not user.check_password(password):
        audit.record(user, "user.signin_failed", user)
        db.session.flush()
        raise ValidationError(_l("The email address or password is wrong."))
    if user.disabled:
        raise ValidationError(_l("This account has been disabled. Contact the platform."))
    if not user.is_verified:
        raise ValidationError(
            _l("Confirm your email address first: follow the link we emailed you.")
        )
    user.last_login_dt = utcnow()
    audit.record(user, "user.signed_in", user)
    db.session.flush()
    return user


def request_password_reset(email: str) -> None:
    """Email a reset link if the account exists; say the same thing either way."""
    user = find_user_by_email(email)
    if user is None or user.disabled:
        return
    link = url_for("accounts.reset_password", token=make_reset_token(user), _external=True)
    queue_mail(
        user.email,
        _l("Reset your ShareHub password"),
        "mail/reset_password.txt",
        locale=user.locale,
        user=user,
        link=link,
    )
    audit.record(user, "user.password_reset_requested", user)
    db.session.flush()


def user_for_reset_token(token: str) -> User:
    try:
        data = load_token("reset", token, current_app.config["RESET_TOKEN_MAX_AGE"])
    except TokenError as exc:
        raise ValidationError(_token_message(exc)) from exc
    user = db.session.get(User, data["u"])
    if user is None or not verify_fingerprint(user.password_hash, data.get("p", "")):
        raise ValidationError(_l("This reset link has already been used or is not valid."))
    return user


def reset_password(token: str, new_password: str) -> User:
    user = user_for_reset_token(token)
    check_password_strength(new_password, user.email)
    user.set_password(new_password)
    user.session_version += 1
    if user.email_verified_dt is None:
        # Following an emailed link proves the address.
        user.email_verified_dt = utcnow()
    audit.record(user, "user.password_reset", user)
    db.session.flush()
    return user


def sign_out(user: User) -> None:
    """Ends every session of the user: the session id that Flask-Login keeps in the cookie
    and in the remember-me cookie carries the session version, so a copy of either cookie
    stops working once the version moves on (signed cookies cannot be revoked one by one)."""
    user.session_version += 1
    audit.record(user, "user.signed_out", user)
    db.session.flush()


def change_password(user: User, current: str, new_password: str) -> None:
    if not user.check_password(current):
        raise ValidationError(_l("The current password is wrong."), field="current_password")
    check_password_strength(new_password, user.email)
    user.set_password(new_password)
    user.session_version += 1
    audit.record(user, "user.password_changed", user)
    db.session.flush()


def update_profile(user: User, *, name: str, phone: str, locale: str, timezone: str) -> None:
    from zoneinfo import available_timezones

    if locale not in current_app.config["LANGUAGES"]:
        raise ValidationError(_l("Unknown language."), field="locale")
    if timezone not in available_timezones():
        raise ValidationError(_l("Unknown time zone."), field="timezone")
    changes = {}
    for attr, value in (
        ("name", name.strip()),
        ("phone", phone.strip()),
        ("locale", locale),
        ("timezone", timezone),
    ):
        if getattr(user, attr) != value:
            changes[attr] = value
            setattr(user, attr, value)
    if changes:
        audit.record(user, "user.profile_updated", user, **changes)
    db.session.flush()


def _token_message(exc: TokenError):
    if exc.expired:
        return _l("This link has expired. Ask for a new one.")
    return _l("This link is not valid. Check that you copied all of it.")
