"""Test harness: one app per session on SQLite or PostgreSQL, each test in a rolled-back
transaction, a real SMTP server on loopback; the factories are plugins in tests/support/.

SHAREHUB_TEST_DB=sqlite|postgres picks the database (`make test` runs both). For
PostgreSQL a throwaway cluster is started from the server binaries on the machine,
unless TEST_DATABASE_URL is given. With CI=true a missing PostgreSQL is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy.orm as so
from flask import g

from tests.support import clock
from tests.support.backend import BACKEND, require
from tests.support.postgres import ThrowawayPostgres, find_bindir
from tests.support.smtp import MailBox

# Fixtures shared by the whole suite live in tests/support/ as plugins; test modules import
# plain helpers from tests.support only (tests/core/test_test_layout.py keeps it so).
pytest_plugins = [
    "tests.support.accounts",
    "tests.support.catalog",
    "tests.support.stats",
    "tests.support.billing",
    "tests.support.alipay",
    "tests.support.competence",
    "tests.support.capture",
    "tests.support.wechatpay",
    "tests.support.testing",
    "tests.support.reports",
    "tests.support.institutions",
]


# Every test runs at the suite's fixed instant (tests/support/clock.py). Started when this
# file is imported, before any other conftest or test module reads the date at import time.
clock.start()


def pytest_unconfigure(config):
    clock.stop()


@pytest.fixture(autouse=True)
def _real_clock_when_asked(request, monkeypatch):
    """Tests marked `real_clock` (and the processes they start) see the real time."""
    if request.node.get_closest_marker("real_clock") is None:
        yield
        return
    import time_machine
    from time_machine import escape_hatch

    monkeypatch.delenv("SHAREHUB_TEST_CLOCK_OFFSET", raising=False)
    with time_machine.travel(escape_hatch.time.time(), tick=True):
        yield


@pytest.fixture(scope="session")
def postgres():
    """The PostgreSQL server of this run (None on SQLite runs)."""
    if BACKEND != "postgres":
        yield None
        return
    if os.environ.get("TEST_DATABASE_URL"):
        yield None
        return
    bindir = find_bindir()
    if bindir is None:
        require("PostgreSQL server binaries not found (install postgresql)")
    server = ThrowawayPostgres(bindir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def database_url(postgres, tmp_path_factory) -> str:
    if BACKEND == "postgres":
        if postgres is None:
            return os.environ["TEST_DATABASE_URL"]
        return postgres.create_database("sharehub_test")
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def mailbox():
    box = MailBox().start()
    yield box
    box.stop()


@pytest.fixture(scope="session")
def app(database_url, mailbox, tmp_path_factory):
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        STORAGE_DIR = str(tmp_path_factory.mktemp("storage"))
        MAIL_SERVER = "127.0.0.1"
        MAIL_PORT = mailbox.port
        NOTIFY_AFTER_COMMIT = True  # tests read the mail a request sends at once

    app = create_app(Config)

    @app.before_request
    def _fresh_request_state():
        # Tests hold one app context across requests; start each request with a clean `g`
        # (signed-in user, locale, CSRF token), as a fresh app context would.
        for key in list(g):
            g.pop(key)

    with app.app_context():
        upgrade()
        from sharehub.catalog.reference import seed_categories, seed_holidays
        from sharehub.demo import seed_regions
        from sharehub.extensions import db

        seed_regions()
        seed_categories()
        seed_holidays()
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        from sharehub.extensions import db

        db.engine.dispose()


@pytest.fixture
def db(app, mailbox):
    """The database, inside a transaction rolled back after the test.

    The session joins that transaction through savepoints, so `commit()` (in views and in
    the factories, which commit what they make) releases a savepoint and a view's
    `rollback()` undoes only its own request.
    """
    from sharehub.extensions import db as _db

    with app.app_context():
        connection = _db.engine.connect()
        outer = connection.begin()
        original = _db.session
        _db.session = so.scoped_session(
            so.sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
            scopefunc=original.registry.scopefunc,
        )
        mailbox.clear()
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def storage_dir(app) -> Path:
    return Path(app.config["STORAGE_DIR"])


def pytest_report_header(config):
    return f"database backend: {BACKEND}; today: {clock.suite_now().isoformat()} (suite clock)"


@pytest.fixture
def english(db):
    """Messages raised by services outside a request in English, for assertions."""
    from flask_babel import force_locale

    with force_locale("en"):
        yield
