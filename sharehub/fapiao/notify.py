"""Tell the people concerned about a fapiao request: in the app and by mail, each in their
own language (the text is a callable rendered per recipient)."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, has_request_context, request
from flask_babel import force_locale

from sharehub.core.mail import queue_mail
from sharehub.core.models import Notification
from sharehub.extensions import db


def _absolute(link: str) -> str:
    if has_request_context():
        return request.host_url.rstrip("/") + link
    return current_app.config["SERVER_BASE_URL"].rstrip("/") + link


def tell(users, text: Callable[[], object], link: str) -> None:
    seen = set()
    for user in users:
        if user.id in seen or user.disabled:
            continue
        seen.add(user.id)
        with force_locale(user.locale):
            message = str(text())
        db.session.add(Notification(user_id=user.id, text=message[:500], link=link[:300]))
        queue_mail(
            user.email,
            message[:200],
            "fapiao/mail/event.txt",
            locale=user.locale,
            user=user,
            message=message,
            link=_absolute(link),
        )


def lab_managers(org, text: Callable[[], object], link: str) -> None:
    tell([m.user for m in org.memberships if m.user.can_manage(org)], text, link)


def members(org, text: Callable[[], object], link: str) -> None:
    tell([m.user for m in org.memberships], text, link)
