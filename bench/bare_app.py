"""The bare baseline of the booking throughput benchmark: one POST endpoint, one INSERT.

    BENCH_DATABASE_URL=postgresql+psycopg://… gunicorn -w 4 'bench.bare_app:create_app()'

What a write request costs on this machine with nothing of ShareHub in it: Flask, one
pooled SQLAlchemy connection per worker (pool_pre_ping as in ShareHub's config), one
INSERT, one COMMIT, a short text answer. No session, sign-in, CSRF, rules, ORM or templates.
bench/booking.py starts it with gunicorn next to ShareHub on the same database.

The table is created at start-up; every gunicorn worker builds the app, so creation runs
under an advisory lock (concurrent CREATE TABLE IF NOT EXISTS can fail on PostgreSQL).
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, request

TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS bench_insert ("
    "id serial PRIMARY KEY, payload text NOT NULL, created timestamptz NOT NULL DEFAULT now())"
)
INSERT = sa.text("INSERT INTO bench_insert (payload) VALUES (:payload)")
LOCK_KEY = 20261124  # pg_advisory_xact_lock key, any constant


def create_app(database_url: str | None = None) -> Flask:
    url = database_url or os.environ["BENCH_DATABASE_URL"]
    engine = sa.create_engine(url, pool_pre_ping=True)
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        conn.execute(sa.text(TABLE_SQL))

    app = Flask(__name__)
    app.extensions["bench_engine"] = engine

    @app.post("/insert")
    def insert():
        with engine.begin() as conn:
            conn.execute(INSERT, {"payload": request.form.get("payload", "")[:1000]})
        return "inserted\n", 201, {"Content-Type": "text/plain; charset=utf-8"}

    @app.get("/healthz")
    def healthz():
        return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}

    return app
