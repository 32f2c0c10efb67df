"""The one commit of a request or command, and the work that waits for it.

What a change must send out (mail from the outbox, webhook deliveries, refunds to a payment
gateway) is written as rows in the change's own transaction and registered here with
`after_commit`; `commit()` commits, then runs each registered piece once. Nothing goes out
for a transaction that rolled back: its rows are gone, so the work finds nothing to send,
and cron commands send whatever a crash left behind.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, has_request_context, request

from sharehub.extensions import db

AFTER_COMMIT = "sharehub.after_commit"
# Set while `commit()` commits: work that belongs to one transaction (core/mail.py's
# deferred events) tells by it whether that transaction ended through `commit()`.
COMMITTING = "sharehub.committing"


def after_commit(key: str, work: Callable[[], object]) -> None:
    """Run `work` after the current transaction commits; one piece per `key`, so a
    request that queues twenty mails delivers the outbox once."""
    db.session.info.setdefault(AFTER_COMMIT, {})[key] = work


def commit() -> None:
    db.session.info[COMMITTING] = True
    try:
        db.session.commit()
    finally:
        db.session.info.pop(COMMITTING, None)
    if has_request_context():
        # If the connection drops while the answer is finished, the 503 page says the
        # change was saved instead of "nothing was saved" (sharehub/core/errors.py).
        from sharehub.core.errors import COMMITTED_KEY

        request.environ[COMMITTED_KEY] = True
    waiting = db.session.info.pop(AFTER_COMMIT, {})
    for key, work in waiting.items():
        try:
            work()
        except Exception:  # sending must never undo or hide a committed change
            _rollback_quietly()
            current_app.logger.exception("%s after the commit failed; it will be retried", key)


def _rollback_quietly() -> None:
    """After the commit, a failed delivery ends its own work; if the connection dropped,
    the rollback fails too, and that must not turn the saved change into an error."""
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool replaces it
        current_app.logger.warning("rollback after a failed delivery failed", exc_info=True)
