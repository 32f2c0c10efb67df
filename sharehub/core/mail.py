"""Mail through an outbox: queued in the caller's transaction, delivered after commit.

A crash or an SMTP outage therefore loses nothing: undelivered rows stay in the
outbox and `flask sharehub send-mail` (cron) retries them.
"""

from __future__ import annotations

import base64
import logging
import smtplib
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, render_template
from flask_babel import force_locale

from sharehub.core.db import utcnow
from sharehub.core.models import OutboxEvent, OutboxMessage
from sharehub.core.tx import COMMITTING, after_commit, commit
from sharehub.extensions import db

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
QUEUED_KEY = "sharehub.mail_queued"  # messages written by this transaction
EVENTS_KEY = "sharehub.events_deferred"  # events written by this transaction
# kind -> what renders an event of that kind (mail, invites, notifications, webhooks);
# registered by the domain that owns the kind (booking/notify.py).
EVENT_HANDLERS: dict[str, Callable[[OutboxEvent], None]] = {}


def event_handler(kind: str):
    def register(handler: Callable[[OutboxEvent], None]):
        EVENT_HANDLERS[kind] = handler
        return handler

    return register


def defer_event(kind: str, object_id: int, event: str, **data) -> OutboxEvent:
    """Store that `event` happened to object `object_id`, in the caller's transaction; the
    handler of `kind` tells people after the commit: in the outbox worker (`send-mail`),
    or right after the commit when NOTIFY_AFTER_COMMIT is on. A rolled-back change leaves
    no row, so nobody hears of it."""
    row = OutboxEvent(kind=kind, object_id=object_id, event=event, data=data)
    db.session.add(row)
    if current_app.config.get("NOTIFY_AFTER_COMMIT"):
        db.session.info.setdefault(EVENTS_KEY, []).append(row)
        after_commit("events", _process_deferred)
    return row


@sa.event.listens_for(so.Session, "after_transaction_end")
def _forget_deferred(session, transaction) -> None:
    """The events of a transaction are told right after it only when it ends through
    `core.tx.commit`. Rolled back, its rows are gone; committed some other way (a plain
    `session.commit()`), its rows wait for the outbox worker, rather than being told at
    some later, unrelated commit of the same session."""
    if transaction.parent is None and not session.info.get(COMMITTING):
        session.info.pop(EVENTS_KEY, None)


def _process_deferred() -> None:
    rows = db.session.info.pop(EVENTS_KEY, [])
    ids = [sa.inspect(row).identity[0] for row in rows if sa.inspect(row).identity]
    if ids:
        process_events(limit=len(ids), only_ids=ids)


def process_events(limit: int = 500, only_ids: list[int] | None = None) -> int:
    """Render stored events, oldest first, each in its own transaction (committed with
    `core.tx.commit`, so the mail and webhooks it queues go out as after any change).
    Claimed with SKIP LOCKED on PostgreSQL, so several workers never tell twice. A
    handler that fails leaves its event for the next run (at most MAX_ATTEMPTS)."""
    done = 0
    failed: list[int] = []
    for _ in range(limit):
        query = (
            sa.select(OutboxEvent)
            .where(
                OutboxEvent.done_dt.is_(None),
                OutboxEvent.attempts < MAX_ATTEMPTS,
                sa.true() if only_ids is None else OutboxEvent.id.in_(only_ids),
                OutboxEvent.id.not_in(failed) if failed else sa.true(),
            )
            .order_by(OutboxEvent.id)
            .limit(1)
        )
        if db.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = db.session.scalar(query)
        if row is None:
            break
        row_id = row.id
        try:
            handler = EVENT_HANDLERS[row.kind]
            handler(row)
            row.done_dt = utcnow()
            row.attempts += 1
            commit()
        except Exception:  # one bad event must not stop the others; it is retried
            db.session.rollback()
            log.exception("outbox event %s failed", row_id)
            db.session.execute(
                sa.update(OutboxEvent)
                .where(OutboxEvent.id == row_id)
                .values(attempts=OutboxEvent.attempts + 1)
            )
            db.session.commit()
            failed.append(row_id)
            continue
        done += 1
    return done


def queue_mail(
    recipient: str,
    subject: str,
    template: str,
    *,
    locale: str | None = None,
    attachments: list[dict] | None = None,
    **context,
) -> OutboxMessage:
    """Render the text template in the recipient's language and store it for delivery."""
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        body = render_template(template, **context)
        subject = str(subject)
    message = OutboxMessage(
        recipient=recipient,
        subject=subject,
        body_text=body,
        attachments=attachments or [],
    )
    db.session.add(message)
    if current_app.config.get("MAIL_SEND_AFTER_COMMIT") and current_app.config.get("MAIL_SERVER"):
        db.session.info.setdefault(QUEUED_KEY, []).append(message)
        after_commit("mail", _send_queued)
    return message


def _send_queued() -> None:
    """After the commit, try the messages this transaction queued (older ones wait for
    `send-mail`, so a backlog never delays a fresh confirmation)."""
    ids = [message.id for message in db.session.info.pop(QUEUED_KEY, [])]
    deliver_outbox(limit=len(ids), only_ids=ids)


def _build(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain="sharehub.cn")
    email.set_content(message.body_text)
    for part in message.attachments or []:
        maintype, subtype = part["content_type"].split("/", 1)
        params = {}
        if part.get("method"):
            params["method"] = part["method"]
        email.add_attachment(
            base64.b64decode(part["data"]),
            maintype=maintype,
            subtype=subtype,
            filename=part["filename"],
            params=params,
        )
    return email


def deliver_outbox(
    limit: int = 100, retry_now: bool = False, only_ids: list[int] | None = None
) -> tuple[int, int]:
    """Send due messages; returns (sent, failed). Commits each row on its own.

    Rows are claimed with SKIP LOCKED on PostgreSQL so several machines running the
    command at once never send a message twice. `retry_now` also sends messages whose
    earlier attempts failed before their back-off is over (the mail server is back).
    """
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return (0, 0)
    sent = failed = 0
    for _ in range(limit):
        query = (
            sa.select(OutboxMessage)
            .where(
                OutboxMessage.sent_dt.is_(None),
                OutboxMessage.attempts < MAX_ATTEMPTS,
                sa.true() if retry_now else OutboxMessage.next_attempt_dt <= utcnow(),
                sa.true() if only_ids is None else OutboxMessage.id.in_(only_ids),
            )
            .order_by(OutboxMessage.id)
            .limit(1)
        )
        if db.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        message = db.session.scalar(query)
        if message is None:
            break
        try:
            with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
                if config.get("MAIL_USE_TLS"):
                    smtp.starttls()
                if config.get("MAIL_USERNAME"):
                    smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
                smtp.send_message(_build(message, config["MAIL_SENDER"]))
        except (OSError, smtplib.SMTPException) as exc:
            message.attempts += 1
            message.last_error = str(exc)[:500]
            message.next_attempt_dt = utcnow() + timedelta(minutes=2**message.attempts)
            db.session.commit()
            failed += 1
            log.warning("mail to %s failed: %s", message.recipient, exc)
            break  # the server is likely down; leave the rest for the next run
        message.sent_dt = utcnow()
        message.attempts += 1
        db.session.commit()
        sent += 1
    return (sent, failed)
