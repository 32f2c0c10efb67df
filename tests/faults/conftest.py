"""One ShareHub under gunicorn (tests/faults/faulty_wsgi.py, two workers) for the fault tests.

On PostgreSQL it gets a cluster of its own, so that a test may restart it without touching
the rest of the suite. Its mail server address points at a loopback port where nothing
listens until a test starts the mail box there.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import BACKEND, WEEKDAY_HOURS, _require, make_credit_code
from tests.support import clock
from tests.support.clock import at, workday
from tests.support.live import ROOT, live_server
from tests.support.postgres import ThrowawayPostgres, find_bindir
from tests.support.smtp import MailBox

PASSWORD = "faults-secret-2026"
WEBHOOK_SECRET = "whsec_faults"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies, the page's CSRF token, redirects not followed (the Location is read)."""

    def __init__(self, base: str):
        self.base = base
        self.token = ""
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def request(self, path: str, data=None, headers=None) -> tuple[int, dict, str]:
        if isinstance(data, dict):
            data = urllib.parse.urlencode({**data, "csrf_token": self.token}).encode()
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=60) as response:
                status, head, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, head, body = error.code, error.headers, error.read()
        text = body.decode(errors="replace")
        found = CSRF.search(text)
        if found:
            self.token = found.group(1)
        return status, dict(head), text

    def sign_in(self, email: str) -> Browser:
        self.request("/account/signin")
        status, head, _ = self.request("/account/signin", {"email": email, "password": PASSWORD})
        assert status == 302, status
        return self


@dataclass
class Faulty:
    base: str
    url: str
    app: object
    fault_dir: Path
    mailbox: MailBox
    env: dict
    server: ThrowawayPostgres | None
    mail_started: bool = False
    listing_id: int = 0
    lab_id: int = 0
    manager: str = ""
    customers: list[str] = field(default_factory=list)
    firm_ids: list[int] = field(default_factory=list)
    _slot: int = 0

    def start_mail(self) -> None:
        self.mailbox.start()
        self.mail_started = True

    def browser(self, email: str) -> Browser:
        return Browser(self.base).sign_in(email)

    def next_slot(self) -> tuple[str, int]:
        """A free two-hour block no other test uses: (start in ISO form, minutes)."""
        self._slot += 1
        day = workday(10)
        for _ in range(self._slot // 2):  # the next working day, distinct from the last
            day = workday((day - clock.today()).days + 1)
        start = at(day, 8, 30) if self._slot % 2 else at(day, 13, 30)
        return start.isoformat(), 120

    def review(self, browser: Browser, slot: tuple[str, int]) -> str:
        query = urllib.parse.urlencode({"start": slot[0], "minutes": slot[1]})
        status, _, _ = browser.request(f"/catalog/{self.listing_id}/book/review?{query}")
        assert status == 200
        return f"/catalog/{self.listing_id}/book/review?{query}"

    def paused(self, point: str, timeout: float = 30) -> int:
        """Wait until a request stops at `point`; returns its worker's PID."""
        marker = self.fault_dir / f"{point}.pid"
        for _ in range(int(timeout / 0.05)):
            if marker.exists() and marker.read_text():
                return int(marker.read_text())
            time.sleep(0.05)
        log = (self.fault_dir.parent / "gunicorn.log").read_text()[-3000:]
        raise AssertionError(f"no request reached {point}; gunicorn's log ends:\n{log}")

    def release(self, point: str) -> None:
        (self.fault_dir / f"{point}.pid").unlink()

    def kill_worker(self, point: str) -> None:
        """SIGKILL the worker stopped at `point` (the gunicorn master starts a new one)."""
        pid = self.paused(point)
        os.kill(pid, signal.SIGKILL)
        marker = self.fault_dir / f"{point}.pid"
        marker.unlink(missing_ok=True)

    def in_background(self, call) -> dict:
        """Run `call` in a thread; the dict gets 'result' or 'error' and 'thread'."""
        box: dict = {}

        def run():
            try:
                box["result"] = call()
            except Exception as exc:  # the dropped connection of a killed worker
                box["error"] = exc

        box["thread"] = threading.Thread(target=run)
        box["thread"].start()
        return box

    def flask(self, *args: str, **extra_env) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env={**self.env, **extra_env},
            capture_output=True,
            text=True,
            check=True,
        )

    def read(self, fn):
        """Run fn() in an app context on the server's database; end the read (on SQLite a
        read transaction would hold the write lock the server needs)."""
        from sharehub.extensions import db

        with self.app.app_context():
            try:
                return fn(db)
            finally:
                db.session.remove()


def _prepare(faulty: Faulty) -> None:
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Region, Role, User
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

    def write(db):
        city = db.session.scalar(sa.select(Region).where(Region.code == "320500"))
        lab = Organisation(
            kind=OrgKind.LAB,
            name="故障测试实验室",
            credit_code=make_credit_code(770000),
            region=city,
            bank_name="中国银行苏州分行",
            bank_account="5301 0000 7700 0001",
        )
        listing = Listing(
            lab=lab,
            kind=ListingKind.EQUIPMENT,
            status=ListingStatus.PUBLISHED,
            name="故障测试光谱仪",
            field=Field.NEW_MATERIALS,
            category_code="020303",
            price_unit=PriceUnit.HOUR,
            price_external=50000,
            price_internal=30000,
            published_dt=utcnow(),
            approval_required=False,
        )
        listing.units.append(Unit(name="#1"))
        for weekday, start, end in WEEKDAY_HOURS:
            listing.opening_hours.append(
                OpeningInterval(weekday=weekday, start_minute=start, end_minute=end)
            )
        index_fields(listing)
        template = User(email="x", name="x")
        template.set_password(PASSWORD)
        manager = User(
            email="manager@faults.example.cn",
            name="管理员",
            password_hash=template.password_hash,
            email_verified_dt=utcnow(),
            locale="en",
        )
        db.session.add_all(
            [lab, listing, manager, Membership(user=manager, organisation=lab, role=Role.OWNER)]
        )
        firms = []
        for n in range(3):
            firm = Organisation(
                kind=OrgKind.ENTERPRISE,
                name=f"故障测试企业{n}",
                credit_code=make_credit_code(770001 + n),
                region=city,
            )
            user = User(
                email=f"buyer{n}@faults.example.cn",
                name=f"客户{n}",
                password_hash=template.password_hash,
                email_verified_dt=utcnow(),
                locale="en",
            )
            db.session.add_all(
                [firm, user, Membership(user=user, organisation=firm, role=Role.OWNER)]
            )
            firms.append((firm, user))
        db.session.commit()
        faulty.listing_id, faulty.lab_id, faulty.manager = listing.id, lab.id, manager.email
        faulty.customers = [user.email for _, user in firms]
        faulty.firm_ids = [firm.id for firm, _ in firms]

    faulty.read(write)


@pytest.fixture(scope="package")
def faulty(tmp_path_factory):
    from config import TestConfig
    from sharehub import create_app

    workdir = tmp_path_factory.mktemp("faults")
    server = None
    if BACKEND == "postgres":
        bindir = find_bindir()
        if bindir is None:
            _require("PostgreSQL server binaries not found (install postgresql)")
        server = ThrowawayPostgres(bindir).start()
        url = server.create_database("sharehub_faults")
    else:
        url = f"sqlite:///{workdir / 'faults.db'}"
    mailbox = MailBox()  # its port is reserved; nothing listens there until started
    fault_dir = workdir / "points"
    fault_dir.mkdir()
    extra = {
        "FAULT_DIR": str(fault_dir),
        "STRIPE_SECRET_KEY": "sk_test_local",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    try:
        with live_server(
            url,
            workdir,
            mail_port=mailbox.port,
            workers=2,
            seed_demo=False,
            env=extra,
            app="tests.faults.faulty_wsgi:app",
        ) as base:

            class Config(TestConfig):
                SQLALCHEMY_DATABASE_URI = url
                STORAGE_DIR = str(workdir / "storage")

            env = {
                **os.environ,
                "DATABASE_URL": url,
                "SHAREHUB_INSTANCE": str(workdir),
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": str(mailbox.port),
                "SERVER_BASE_URL": base,
            }
            faulty = Faulty(base, url, create_app(Config), fault_dir, mailbox, env, server)
            _prepare(faulty)
            try:
                yield faulty
            finally:
                with faulty.app.app_context():
                    from sharehub.extensions import db

                    db.engine.dispose()
                if faulty.mail_started:
                    mailbox.stop()
                else:  # aiosmtpd made its event loop already
                    mailbox.controller.loop.close()
    finally:
        if server is not None:
            server.stop()


def counts(db) -> dict:
    """Rows of the tables a booking or a payment writes to."""
    from sharehub.billing.models import GatewayEvent, Payment
    from sharehub.booking.models import Booking
    from sharehub.core.models import AuditEntry, Notification, OutboxMessage

    return {
        model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Booking, Notification, AuditEntry, OutboxMessage, Payment, GatewayEvent)
    }


def no_violations(db) -> None:
    from sharehub.admin.consistency import violations

    found = violations()
    assert not any(found.values()), found
