"""Browser journeys: the app served by gunicorn in its own process, driven in real Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import BACKEND, _require
from tests.support.postgres import free_port

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
    """ShareHub under gunicorn on a loopback port, with the demo data; stopped by its PID."""
    workdir = tmp_path_factory.mktemp("live")
    if BACKEND == "postgres":
        if postgres is None:
            pytest.skip("browser journeys on PostgreSQL need the throwaway cluster")
        url = postgres.create_database("sharehub_e2e")
    else:
        url = f"sqlite:///{workdir / 'e2e.db'}"
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "e2e-secret",
        "SHAREHUB_INSTANCE": str(workdir),
        "STORAGE_DIR": str(workdir / "storage"),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(mailbox.port),
        "SERVER_BASE_URL": f"http://127.0.0.1:{port}",
    }
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    for args in (["db", "upgrade"], ["sharehub", "seed-demo"]):
        subprocess.run(flask + args, cwd=ROOT, env=env, check=True, capture_output=True)
    log = open(workdir / "gunicorn.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "2",
            "--access-logfile",
            "-",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError((workdir / "gunicorn.log").read_text()[-2000:])
        yield base
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        _require(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
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

    return take
