"""Run the outbox as the worker does (`flask sharehub send-mail`, every minute): tell the
stored events, then deliver the mail they queued."""

from __future__ import annotations


def run_outbox() -> int:
    """The events told by this run (their mail is delivered before it returns)."""
    from sharehub.core.mail import deliver_outbox, process_events

    told = process_events()
    deliver_outbox(retry_now=True)
    return told
