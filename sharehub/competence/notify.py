"""Reminders that an authorisation expires: in the app and by mail, 30 and 7 days ahead."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from sharehub.competence.models import Authorisation
from sharehub.competence.services import claim_reminder, due_reminders
from sharehub.core.clock import LAB_TZ, utcnow
from sharehub.core.dates import format_day
from sharehub.core.mail import queue_mail
from sharehub.core.models import Notification
from sharehub.extensions import db


def send_expiry_reminders(now: datetime | None = None) -> int:
    """Remind holders of authorisations expiring within 30 and within 7 days (cron). Each
    reminder is claimed by a conditional UPDATE, so running this twice, or on several
    machines at once, sends it once."""
    now = now or utcnow()
    sent = 0
    for auth_id, days in due_reminders(now):
        if not claim_reminder(auth_id, days, now):
            continue
        authorisation = db.session.get_one(Authorisation, auth_id)
        _remind(authorisation)
        sent += 1
    db.session.flush()
    return sent


def _remind(authorisation: Authorisation) -> None:
    user = authorisation.user
    requirement = authorisation.requirement
    # The last day it holds, in Beijing: it ends as the next day begins.
    last_day = (authorisation.expires_dt.astimezone(LAB_TZ) - timedelta(seconds=1)).date()
    with force_locale(user.locale):
        subject = _(
            "Your authorisation for %(name)s ends after %(day)s",
            name=requirement.name,
            day=format_day(last_day),
        )
    link = url_for("competence.my_authorisations")
    db.session.add(Notification(user_id=user.id, text=subject[:500], link=link))
    queue_mail(
        user.email,
        subject,
        "mail/authorisation_expiring.txt",
        locale=user.locale,
        user=user,
        authorisation=authorisation,
        requirement=requirement,
        last_day=last_day,
        link=url_for("competence.my_authorisations", _external=True),
    )


def tell_revoked(authorisation: Authorisation) -> None:
    """The holder reads that the lab withdrew the authorisation, and why (app and mail,
    delivered after the commit)."""
    user = authorisation.user
    requirement = authorisation.requirement
    with force_locale(user.locale):
        subject = _(
            "Your authorisation for %(name)s has been revoked",
            name=requirement.name,
        )
    db.session.add(
        Notification(
            user_id=user.id, text=subject[:500], link=url_for("competence.my_authorisations")
        )
    )
    queue_mail(
        user.email,
        subject,
        "mail/authorisation_revoked.txt",
        locale=user.locale,
        user=user,
        authorisation=authorisation,
        requirement=requirement,
        link=url_for("competence.my_authorisations", _external=True),
    )
