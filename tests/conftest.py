"""Test harness: one app per session on SQLite or PostgreSQL, each test in a rolled-back
transaction, a real SMTP server on loopback, and factories.

SHAREHUB_TEST_DB=sqlite|postgres picks the database (`make test` runs both). For
PostgreSQL a throwaway cluster is started from the server binaries on the machine,
unless TEST_DATABASE_URL is given. With CI=true a missing PostgreSQL is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import g

from tests.support import clock
from tests.support.postgres import ThrowawayPostgres, find_bindir
from tests.support.smtp import MailBox

BACKEND = os.environ.get("SHAREHUB_TEST_DB", "sqlite")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


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


def _require(message: str):
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


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
        _require("PostgreSQL server binaries not found (install postgresql)")
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


# --- factories ------------------------------------------------------------------------------

_counter = iter(range(1, 10_000_000))


def make_credit_code(seed: int) -> str:
    from sharehub.core.codes import make_credit_code as complete

    return complete(f"91320500MA{seed:07d}")


@pytest.fixture
def city(db):
    from sharehub.accounts.models import Region

    return db.session.scalar(sa.select(Region).where(Region.code == "320500"))


@pytest.fixture
def cluster(db, city):
    from sharehub.accounts.models import Cluster

    cluster = Cluster(name=f"测试产业集群{next(_counter)}", name_en="Test cluster", region=city)
    db.session.add(cluster)
    db.session.commit()
    return cluster


@pytest.fixture
def make_org(db, city):
    from sharehub.accounts.models import Organisation, OrgKind, OrgStatus

    def factory(kind=OrgKind.ENTERPRISE, status=OrgStatus.ACTIVE, **fields):
        n = next(_counter)
        org = Organisation(
            kind=kind,
            status=status,
            name=fields.pop("name", f"测试机构{n}"),
            name_en=fields.pop("name_en", f"Test organisation {n}"),
            credit_code=fields.pop("credit_code", make_credit_code(n)),
            region=city,
            contact_name="张三",
            contact_phone="0512-12345678",
            **fields,
        )
        db.session.add(org)
        db.session.commit()
        return org

    return factory


PASSWORD = "correct horse battery"


@pytest.fixture
def make_user(db):
    from sharehub.accounts.models import Membership, Role, User
    from sharehub.core.db import utcnow

    hashed = {}

    def factory(org=None, role=Role.OWNER, verified=True, **fields):
        n = next(_counter)
        fields.setdefault("locale", "en")  # assertions read English; zh_CN has its own tests
        user = User(
            email=fields.pop("email", f"user{n}@example.cn"),
            name=fields.pop("name", f"用户{n}"),
            **fields,
        )
        if "pw" not in hashed:
            user.set_password(PASSWORD)
            hashed["pw"] = user.password_hash
        user.password_hash = hashed["pw"]
        if verified:
            user.email_verified_dt = utcnow()
        db.session.add(user)
        if org is not None:
            db.session.add(Membership(user=user, organisation=org, role=role))
        db.session.commit()
        return user

    return factory


@pytest.fixture
def platform_admin(make_org, make_user):
    from sharehub.accounts.models import OrgKind

    return make_user(make_org(kind=OrgKind.PLATFORM, name="平台运营"), email="admin@example.cn")


@pytest.fixture
def login(client):
    def do(user, password: str = PASSWORD):
        response = client.post("/account/signin", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    return do


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png_bytes() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 80, 120)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def storage_dir(app) -> Path:
    return Path(app.config["STORAGE_DIR"])


def pytest_report_header(config):
    return f"database backend: {BACKEND}; today: {clock.suite_now().isoformat()} (suite clock)"


@pytest.fixture
def lab(make_org):
    from sharehub.accounts.models import OrgKind

    return make_org(
        kind=OrgKind.LAB, name="测试实验室", name_en="Test Lab", cnas_number="CNAS L0001"
    )


@pytest.fixture
def lab_manager(make_user, lab):
    from sharehub.accounts.models import Role

    return make_user(lab, role=Role.MANAGER)


WEEKDAY_HOURS = [(d, 510, 720) for d in range(5)] + [(d, 810, 1050) for d in range(5)]


@pytest.fixture
def make_listing(db):
    """A listing written straight to the database (published unless told otherwise)."""
    from sharehub.catalog.models import (
        Field,
        Listing,
        ListingKind,
        ListingStatus,
        OpeningInterval,
        PriceUnit,
        Unit,
    )
    from sharehub.catalog.search import index_fields
    from sharehub.core.db import utcnow

    def factory(
        lab,
        name="电感耦合等离子体发射光谱仪",
        kind=ListingKind.EQUIPMENT,
        status=ListingStatus.PUBLISHED,
        units=1,
        hours=WEEKDAY_HOURS,
        **fields,
    ):
        fields.setdefault("field", Field.NEW_MATERIALS)
        fields.setdefault("category_code", "020303")
        fields.setdefault("price_unit", PriceUnit.HOUR)
        fields.setdefault("price_external", 50000)
        fields.setdefault("price_internal", 30000)
        listing = Listing(
            lab=lab, kind=kind, status=status, name=name, published_dt=utcnow(), **fields
        )
        for n in range(units if kind != ListingKind.DATASET else 0):
            listing.units.append(Unit(name=f"#{n + 1}"))
        for weekday, start, end in hours if kind != ListingKind.DATASET else []:
            listing.opening_hours.append(
                OpeningInterval(weekday=weekday, start_minute=start, end_minute=end)
            )
        index_fields(listing)
        db.session.add(listing)
        db.session.commit()
        return listing

    return factory


@pytest.fixture
def english(db):
    """Messages raised by services outside a request in English, for assertions."""
    from flask_babel import force_locale

    with force_locale("en"):
        yield
