"""ShareHub with fault points, served by gunicorn in tests/faults only (never in production).

A request that carries the header `X-Fault: before_commit` (or `after_commit`) stops at that
point of its first commit (of the transaction, not of a SAVEPOINT): it writes its worker's
PID to FAULT_DIR/<point>.pid and waits until the test removes the file (the request then
goes on) or kills the worker.

`X-Fault: drop_at_teardown` drops the request's database connection after the view answered,
just before the session is closed when the request ends (tests/support/drop.py).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from flask import g, has_request_context, request
from sqlalchemy import event

from sharehub import create_app
from sharehub.extensions import db
from tests.support.drop import drop_connection

app = create_app()
FAULT_DIR = Path(os.environ["FAULT_DIR"])


def _pause(session, point: str) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT released: not the request's commit
        return
    if not has_request_context() or request.headers.get("X-Fault") != point:
        return
    if g.get("_fault_done"):
        return
    g._fault_done = True
    marker = FAULT_DIR / f"{point}.pid"
    marker.write_text(str(os.getpid()))
    for _ in range(600):
        if not marker.exists():
            return
        time.sleep(0.05)


@event.listens_for(db.session, "before_commit")
def _before_commit(session):
    _pause(session, "before_commit")


@event.listens_for(db.session, "after_commit")
def _after_commit(session):
    _pause(session, "after_commit")


@app.teardown_request
def _drop_at_teardown(exc):
    if request.headers.get("X-Fault") == "drop_at_teardown":
        drop_connection(request.environ)
