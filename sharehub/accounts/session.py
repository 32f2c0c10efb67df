"""Who is signed in, which organisation they act for, and route guards."""

from __future__ import annotations

from functools import wraps

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, g, session
from flask_login import current_user, login_required

from sharehub.accounts.models import Membership, OrgKind, User
from sharehub.extensions import db

ORG_SESSION_KEY = "org_id"


def load_user(user_id: str) -> User | None:
    try:
        uid, version = (int(part) for part in user_id.split(":", 1))
    except ValueError:
        return None
    # The memberships and their organisations come with the user (one statement): nearly
    # every page asks which organisation the user acts for (current_org).
    user = db.session.get(
        User,
        uid,
        options=[so.joinedload(User.memberships).joinedload(Membership.organisation)],
    )
    if user is None or user.session_version != version:
        return None
    return user


def current_membership() -> Membership | None:
    """The membership the user acts through now: chosen in the session, else the first."""
    if not current_user.is_authenticated:
        return None
    if "current_membership" in g:
        return g.current_membership
    memberships = current_user.memberships
    chosen = session.get(ORG_SESSION_KEY)
    membership = next((m for m in memberships if m.organisation_id == chosen), None)
    if membership is None and memberships:
        membership = memberships[0]
    g.current_membership = membership
    return membership


def current_org():
    membership = current_membership()
    return membership.organisation if membership else None


def switch_org(org_id: int) -> bool:
    if current_user.membership_in(org_id) is None:
        return False
    session[ORG_SESSION_KEY] = org_id
    g.pop("current_membership", None)
    return True


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_platform_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def staff_required(view):
    """Platform administrators and regulators (authority accounts)."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not (current_user.is_platform_admin or current_user.is_regulator):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def org_kind_of_current() -> OrgKind | None:
    org = current_org()
    return org.kind if org else None
