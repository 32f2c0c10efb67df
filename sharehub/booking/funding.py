"""Bookings charged to a group's funding account: what an account has committed, the
budget check under the account's row lock, and the head's approval (a stage of PENDING).

Why a stage of PENDING and not a new status: a booking awaiting the head must hold its
slot, and PENDING already does everywhere (HOLDING, HOLDING_SQL in the exclusion
constraint and the SQLite trigger, availability, the waiting list, hold expiry,
statistics of requests). `Booking.head_approval` says which approval it waits for; the
state machine refuses the lab's approve/decline while the head has not approved.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from sharehub.accounts.models import Organisation, User
from sharehub.booking.availability import LAB_TZ
from sharehub.booking.models import Booking, BookingStatus, HeadApproval
from sharehub.core.errors import Conflict, NotFound
from sharehub.core.mail import queue_mail
from sharehub.core.models import Notification
from sharehub.core.money import format_fen
from sharehub.extensions import db
from sharehub.institutions.models import FundingAccount
from sharehub.institutions.services import check_charge, lock_account

# What a booking commits on its account: its price while open, confirmed or done, the
# cancellation fee once cancelled (that fee is billed), nothing once declined or lapsed.
SPENDING = (
    BookingStatus.PENDING,
    BookingStatus.CONFIRMED,
    BookingStatus.IN_PROGRESS,
    BookingStatus.COMPLETED,
    BookingStatus.NO_SHOW,
)


def _committed_amount():
    return sa.case(
        (Booking.status.in_(SPENDING), Booking.gross_amount),
        (Booking.status == BookingStatus.CANCELLED, Booking.cancel_fee),
        else_=0,
    )


def committed(account_id: int, exclude_booking_id: int | None = None) -> int:
    """Fen committed on the account by its bookings (open, confirmed, done and billed)."""
    query = sa.select(sa.func.coalesce(sa.func.sum(_committed_amount()), 0)).where(
        Booking.funding_account_id == account_id
    )
    if exclude_booking_id is not None:
        query = query.where(Booking.id != exclude_booking_id)
    return int(db.session.scalar(query) or 0)


def committed_by_account(account_ids: list[int]) -> dict[int, int]:
    if not account_ids:
        return {}
    rows = db.session.execute(
        sa.select(Booking.funding_account_id, sa.func.sum(_committed_amount()))
        .where(Booking.funding_account_id.in_(account_ids))
        .group_by(Booking.funding_account_id)
    )
    found = {account_id: int(total or 0) for account_id, total in rows}
    return {account_id: found.get(account_id, 0) for account_id in account_ids}


def overspent_accounts() -> list[tuple[int, str, int, int]]:
    """(id, code, budget, committed) of every account whose bookings commit more than its
    budget: an invariant `flask sharehub check-consistency` checks."""
    spent = (
        sa.select(
            Booking.funding_account_id.label("account_id"),
            sa.func.sum(_committed_amount()).label("total"),
        )
        .where(Booking.funding_account_id.is_not(None))
        .group_by(Booking.funding_account_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(FundingAccount.id, FundingAccount.code, FundingAccount.budget, spent.c.total)
        .join(spent, spent.c.account_id == FundingAccount.id)
        .where(FundingAccount.budget.is_not(None), spent.c.total > FundingAccount.budget)
        .order_by(FundingAccount.id)
    )
    return [(i, code, int(budget), int(total)) for i, code, budget, total in rows]


def charge(
    actor: User,
    customer: Organisation,
    account_id: int | None,
    gross: int,
    starts_dt: datetime,
    exclude_booking_id: int | None = None,
) -> FundingAccount:
    """Lock the account and check that `actor` may charge `gross` fen to it for use at
    `starts_dt`: the account's own rules (institutions.services.check_charge) and its
    budget against what is already committed. The lock holds until the transaction ends,
    so a second charge of the same account waits and then sees this one."""
    account = lock_account(account_id)
    check_charge(actor, customer, account, starts_dt.astimezone(LAB_TZ).date())
    if account.budget is not None:
        spent = committed(account.id, exclude_booking_id)
        if spent + gross > account.budget:
            raise Conflict(
                _l(
                    "The funding account %(code)s has %(left)s left of its budget; this "
                    "booking costs %(cost)s.",
                    code=account.code,
                    left=format_fen(max(account.budget - spent, 0)),
                    cost=format_fen(gross),
                ),
                "funding_account_id",
            )
    return account


# --- the head's approval link --------------------------------------------------------

LINK_MAX_AGE = 14 * 24 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="sharehub.head-approval")


def approval_token(booking: Booking) -> str:
    """A signed link token naming the booking (and its head at the time of asking). It
    only shows the decision page: the decision needs the head signed in, and deciding
    twice changes nothing (idempotent)."""
    return _serializer().dumps({"b": booking.id})


def booking_of_token(token: str) -> Booking:
    try:
        data = _serializer().loads(token, max_age=LINK_MAX_AGE)
    except (SignatureExpired, BadSignature) as exc:
        raise NotFound(_l("This approval link is not valid or has expired.")) from exc
    booking = db.session.get(Booking, data.get("b")) if isinstance(data, dict) else None
    if booking is None:
        raise NotFound(_l("This approval link is not valid or has expired."))
    return booking


def ask_head(booking: Booking) -> None:
    """Mail the head of the account's group a link to approve or decline."""
    account = booking.funding_account
    assert account is not None
    head = account.group.head
    link = url_for("institutions.head_decision", token=approval_token(booking), _external=True)
    with force_locale(head.locale):
        subject = _(
            "Approval needed: booking #%(id)s by %(name)s",
            id=booking.id,
            name=booking.customer_user.name if booking.customer_user else "",
        )
    db.session.add(
        Notification(
            user_id=head.id,
            text=str(subject)[:500],
            link=url_for("institutions.head_decision", token=approval_token(booking)),
        )
    )
    zone = ZoneInfo(head.timezone)
    when = (
        f"{booking.starts_dt.astimezone(zone):%Y-%m-%d %H:%M} – "
        f"{booking.ends_dt.astimezone(zone):%Y-%m-%d %H:%M} ({head.timezone})"
    )
    queue_mail(
        head.email,
        subject,
        "mail/head_approval.txt",
        locale=head.locale,
        booking=booking,
        user=head,
        account=account,
        link=link,
        when=when,
    )


def is_decided(booking: Booking, approval: HeadApproval) -> bool:
    return booking.head_approval == approval
