"""Tell people about supervision decisions: an in-app message and a mail through the outbox."""

from __future__ import annotations

from flask import url_for
from flask_babel import force_locale

from sharehub.core.mail import queue_mail
from sharehub.core.models import Notification
from sharehub.extensions import db


def tell(user, subject, template: str, endpoint: str, **context) -> None:
    """`subject` is a lazy string rendered in the recipient's language; `endpoint` and
    the `url_*` entries of context build the link (relative in the app, absolute by mail)."""
    url_args = {k[4:]: v for k, v in context.items() if k.startswith("url_")}
    with force_locale(user.locale):
        text = str(subject)
    db.session.add(
        Notification(user_id=user.id, text=text[:500], link=url_for(endpoint, **url_args))
    )
    queue_mail(
        user.email,
        subject,
        template,
        locale=user.locale,
        user=user,
        link=url_for(endpoint, **url_args, _external=True),
        **{k: v for k, v in context.items() if not k.startswith("url_")},
    )


def lab_managers(lab) -> list:
    return [m.user for m in lab.memberships if m.user.can_manage(lab) and not m.user.disabled]
