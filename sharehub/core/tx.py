"""The one commit of a request or command, followed by delivery of what it queued."""

from __future__ import annotations

from flask import current_app

from sharehub.extensions import db


def commit() -> None:
    db.session.commit()
    if current_app.config.get("MAIL_SEND_AFTER_COMMIT") and current_app.config.get("MAIL_SERVER"):
        from sharehub.core.mail import deliver_outbox

        try:
            deliver_outbox(limit=20)
        except Exception:  # delivery must never undo or hide a committed change
            db.session.rollback()
            current_app.logger.exception("outbox delivery failed; it will be retried")
    if db.session.info.pop("sharehub.refunds_pending", False):
        from sharehub.billing.refunds import submit_refunds

        try:
            submit_refunds()
        except Exception:  # the refund rows stay requested; `send-refunds` retries them
            db.session.rollback()
            current_app.logger.exception("refund sending failed; it will be retried")
