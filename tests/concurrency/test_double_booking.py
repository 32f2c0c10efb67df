"""Twenty clients book the same slot at once over HTTP against gunicorn with several worker
processes: exactly one wins, the others get a clear conflict with alternatives, none a 500.

Runs on PostgreSQL (exclusion constraint) and on SQLite (serialized writes + trigger).
"""

from __future__ import annotations

import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND
from tests.support.catalog import WEEKDAY_HOURS
from tests.support.clock import at, workday
from tests.support.live import live_server

CLIENTS = 20
PASSWORD = "concurrency-secret"


class Browser:
    """A minimal HTTP client with cookies and the page's CSRF token."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def csrf(self, html: str) -> str:
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)

    def sign_in(self, email: str) -> None:
        _, page = self.request("/account/signin")
        status, _ = self.request(
            "/account/signin", {"email": email, "password": PASSWORD, "csrf_token": self.csrf(page)}
        )
        assert status == 200, status  # redirected to the home page


def prepare(url: str):
    """Users, a lab and a listing written straight into the live server's database."""
    from config import TestConfig
    from sharehub import create_app
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
    from sharehub.extensions import db

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Config)
    with app.app_context():
        city = db.session.scalar(sa.select(Region).where(Region.code == "320500"))
        lab = Organisation(
            kind=OrgKind.LAB, name="并发实验室", credit_code=make_credit_code(880000), region=city
        )
        listing = Listing(
            lab=lab,
            kind=ListingKind.EQUIPMENT,
            status=ListingStatus.PUBLISHED,
            name="并发测试仪器",
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
        db.session.add_all([lab, listing])
        template = User(email="x", name="x")
        template.set_password(PASSWORD)
        emails = []
        for n in range(CLIENTS):
            org = Organisation(
                kind=OrgKind.ENTERPRISE,
                name=f"并发企业{n}",
                credit_code=make_credit_code(880001 + n),
                region=city,
            )
            user = User(
                email=f"client{n}@example.cn",
                name=f"客户{n}",
                password_hash=template.password_hash,
                email_verified_dt=utcnow(),
                locale="en",
            )
            db.session.add_all(
                [org, user, Membership(user=user, organisation=org, role=Role.OWNER)]
            )
            emails.append(user.email)
        db.session.commit()
        listing_id = listing.id
        db.session.remove()
        db.engine.dispose()
    return app, listing_id, emails


@pytest.fixture
def server(postgres, tmp_path):
    if BACKEND == "postgres":
        if postgres is None:
            pytest.skip("needs the throwaway PostgreSQL cluster")
        url = postgres.create_database("sharehub_concurrency")
    else:
        url = f"sqlite:///{tmp_path / 'concurrency.db'}"
    with live_server(url, tmp_path, workers=4, seed_demo=False) as base:
        yield base, url


def test_twenty_clients_one_slot_exactly_one_wins(server):
    base, url = server
    app, listing_id, emails = prepare(url)
    day = workday()
    start = at(day, 8, 30).isoformat()
    browsers = []
    for email in emails:
        browser = Browser(base)
        browser.sign_in(email)
        _, page = browser.request(
            f"/catalog/{listing_id}/book/review?"
            + urllib.parse.urlencode({"start": start, "minutes": 120})
        )
        browsers.append((browser, browser.csrf(page)))

    barrier = threading.Barrier(CLIENTS)
    results: list[tuple[int, str]] = [None] * CLIENTS  # type: ignore[list-item]

    def attempt(i: int) -> None:
        browser, token = browsers[i]
        barrier.wait()
        results[i] = browser.request(
            f"/catalog/{listing_id}/book/review",
            {"start": start, "minutes": 120, "csrf_token": token},
        )

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    codes = sorted(code for code, _ in results)
    assert 500 not in codes
    assert codes.count(200) == 1, codes  # the winner follows the redirect to the booking
    assert codes.count(409) == CLIENTS - 1, codes
    for code, body in results:
        if code == 409:
            assert "alternatives" in body

    from sharehub.booking.models import Booking
    from sharehub.extensions import db

    with app.app_context():
        rows = db.session.scalars(sa.select(Booking).where(Booking.listing_id == listing_id)).all()
        assert len(rows) == 1
        assert rows[0].ends_dt - rows[0].starts_dt == timedelta(hours=2)
        db.session.remove()
        db.engine.dispose()
