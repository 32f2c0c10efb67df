"""The one commit of a request or command, followed by delivery of what it queued."""

from __future__ import annotations

from flask import current_app, has_request_context, request

from sharehub.extensions import db


def commit() -> None:
    db.session.commit()
    if has_request_context():
        # If the connection drops while the answer is finished, the 503 page says the
        # change was saved instead of "nothing was saved" (sharehub/core/errors.py).
        from sharehub.core.errors import COMMITTED_KEY

        request.environ[COMMITTED_KEY] = True
    if current_app.config.get("MAIL_SEND_AFTER_COMMIT") and current_app.config.get("MAIL_SERVER"):
        from sharehub.core.mail import deliver_outbox

        try:
            deliver_outbox(limit=20)
        except Exception:  # delivery must never undo or hide a committed change
            _rollback_quietly()
            current_app.logger.exception("outbox delivery failed; it will be retried")
    if db.session.info.pop("sharehub.refunds_pending", False):
        from sharehub.billing.refunds import submit_refunds

        try:
            submit_refunds()
        except Exception:  # the refund rows stay requested; `send-refunds` retries them
            _rollback_quietly()
            current_app.logger.exception("refund sending failed; it will be retried")


def _rollback_quietly() -> None:
    """After the commit, a failed delivery ends its own work; if the connection dropped,
    the rollback fails too, and that must not turn the saved change into an error."""
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool replaces it
        current_app.logger.warning("rollback after a failed delivery failed", exc_info=True)
