"""ShareHub served by gunicorn in its own processes on a loopback port, stopped by its PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from tests.support.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def live_server(
    database_url: str,
    workdir: Path,
    mail_port: int | None = None,
    workers: int = 2,
    seed_demo: bool = True,
    env: dict | None = None,
    app: str = "wsgi:app",
):
    port = free_port()
    extra, env = (
        env,
        {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "live-test-secret",
            "SHAREHUB_INSTANCE": str(workdir),
            "STORAGE_DIR": str(workdir / "storage"),
            "SERVER_BASE_URL": f"http://127.0.0.1:{port}",
            # Journeys sign in many times from one address; limits have their own tests.
            "SIGNIN_RATE_LIMIT": "10000 per minute",
            "RESET_RATE_LIMIT": "10000 per minute",
        },
    )
    if mail_port:
        env.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(mail_port), NOTIFY_AFTER_COMMIT="1")
    env.update(extra or {})
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    commands = [["db", "upgrade"], ["sharehub", "seed-demo" if seed_demo else "seed-reference"]]
    for args in commands:
        subprocess.run(flask + args, cwd=ROOT, env=env, check=True, capture_output=True)
    with gunicorn(app, env, workdir / "gunicorn.log", workers, port) as base:
        yield base


@contextmanager
def gunicorn(app: str, env: dict, log_path: Path, workers: int = 2, port: int | None = None):
    """gunicorn serving `app` on 127.0.0.1, waited for on /healthz, stopped by its PID."""
    port = port or free_port()
    log = open(log_path, "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--access-logfile",
            "-",
            app,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        ready = False
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:
                    ready = response.status == 200
            except OSError:
                pass
            if ready or process.poll() is not None:
                break
            time.sleep(0.1)
        if not ready:
            raise RuntimeError(log_path.read_text()[-2000:])
        yield base
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
