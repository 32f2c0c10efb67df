"""Browser journeys: the app served by gunicorn in its own process, driven in real Chromium."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.backend import BACKEND, require
from tests.support.e2e import DESKTOP
from tests.support.live import live_server as serve
from tests.support.wechatpay import make_merchant, wechatpay_standin

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "e2e" / BACKEND
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def live_server(postgres, mailbox, tmp_path_factory):
    """ShareHub under gunicorn with the demo data, on a loopback port."""
    workdir = tmp_path_factory.mktemp("live")
    if BACKEND == "postgres":
        if postgres is None:
            pytest.skip("browser journeys on PostgreSQL need the throwaway cluster")
        url = postgres.create_database("sharehub_e2e")
    else:
        url = f"sqlite:///{workdir / 'e2e.db'}"
    # The journeys serve a booking made for next week at once: a two-week check-in margin
    # lets them (the one-hour rule itself is tested in tests/booking/test_usage.py).
    env = {"CHECK_IN_MARGIN_MINUTES": str(14 * 24 * 60)}
    with serve(url, workdir, mail_port=mailbox.port, env=env) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        require(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(request):
    """Save numbered full-page screenshots under test-output/e2e/<backend>/<test>/."""
    folder = OUTPUT / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    counter = iter(range(1, 100))

    def take(page, name: str) -> Path:
        path = folder / f"{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    take.folder = folder
    return take


@pytest.fixture
def page_in(browser):
    """A Chinese-locale page that records script errors, CSP violations and missing assets;
    returns (page, errors). The context is closed after the test."""
    contexts = []

    def open_page():
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "console",
            lambda m: (
                errors.append(m.text)
                if m.type == "error" and "Content Security Policy" in m.text
                else None
            ),
        )
        page.on(
            "response",
            lambda r: (
                errors.append(f"{r.status} {r.url}")
                if "/static/" in r.url and r.status >= 400
                else None
            ),
        )
        return page, errors

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def wechat_site(postgres, mailbox, tmp_path, request):
    """A site of its own (demo data) whose WeChat Pay calls go to the stand-in, which
    sends its notifications back to the site; yields (base URL, stand-in)."""
    if BACKEND == "postgres":
        if postgres is None:
            pytest.skip("browser journeys on PostgreSQL need the throwaway cluster")
        url = postgres.create_database(f"sharehub_{request.node.name[:40]}")
    else:
        url = f"sqlite:///{tmp_path / 'wechatpay.db'}"
    merchant = make_merchant(public_key_id="PUB_KEY_ID_0119000091912026061000000000000001")
    with wechatpay_standin(merchant, tmp_path) as standin:
        env = {"WECHATPAY_API_BASE": standin.url}
        with serve(url, tmp_path, mail_port=mailbox.port, env=env) as base:
            yield base, standin


@pytest.fixture
def open_page(browser):
    contexts = []

    def open_one(viewport=DESKTOP, phone=False):
        context = browser.new_context(
            locale="zh-CN", viewport=viewport, is_mobile=phone, has_touch=phone
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(90000)  # a loaded two-core machine
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "console",
            lambda m: (
                errors.append(m.text)
                if m.type == "error" and "Content Security Policy" in m.text
                else None
            ),
        )
        page.on(  # ShareHub's own assets and answers only (not the stand-in's favicon)
            "response",
            lambda r: (
                errors.append(f"{r.status} {r.url}")
                if r.url.startswith(base_of(r.url)) and "/static/" in r.url and r.status >= 400
                else None
            ),
        )
        return page, errors

    yield open_one
    for context in contexts:
        context.close()


def base_of(url: str) -> str:
    return url.split("/static/")[0]


# Each journey runs in one of the two suites of `make test` (the pages and the browser are
# the same on both databases; what differs between them is tested below the browser on
# both): the payment, voucher and fapiao journeys on PostgreSQL, the others on SQLite,
# which balances the two passes and keeps `make test` within its time.
# SHAREHUB_E2E_BOTH=1 (`make test-e2e-both`) runs every journey on both.
POSTGRES_JOURNEYS = {
    "test_alipay_journey",
    "test_fapiao_journey",
    "test_payment_journey",
    "test_voucher_journey",
}


def pytest_collection_modifyitems(config, items):
    if os.environ.get("SHAREHUB_E2E_BOTH"):
        return
    for item in items:
        module = Path(str(item.fspath)).stem
        if not module.startswith("test_") or Path(str(item.fspath)).parent != Path(__file__).parent:
            continue
        home = "postgres" if module in POSTGRES_JOURNEYS else "sqlite"
        if home != BACKEND:
            item.add_marker(pytest.mark.skip(reason=f"this journey runs in the {home} suite"))
