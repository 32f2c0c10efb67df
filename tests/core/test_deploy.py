"""The production files under deploy/: gunicorn's settings serve the app, and every periodic
command the systemd timers and the cron file name is a command the app has."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.support.live import ROOT
from tests.support.postgres import free_port

DEPLOY = ROOT / "deploy"


def test_gunicorn_settings_serve_the_app_on_the_configured_address(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "SHAREHUB_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.db'}",
        "SHAREHUB_INSTANCE": str(tmp_path),
        "SECRET_KEY": "deploy-test-secret",
    }
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(DEPLOY / "gunicorn.conf.py"), "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        body = b""
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    body = r.read()
                    break
            except OSError:
                time.sleep(0.1)
        assert body, (tmp_path / "gunicorn.log").read_text()[-2000:]
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()
    text = (tmp_path / "gunicorn.log").read_text()
    assert f"Listening at: http://127.0.0.1:{port}" in text
    assert len(re.findall(r"Booting worker with pid", text)) == 2
    assert '"GET /healthz HTTP/1.1" 200' in text  # the access log goes to the journal


def periodic_commands() -> dict[str, set[str]]:
    timers = {
        re.search(r"Unit=sharehub-task@([\w-]+)\.service", path.read_text()).group(1)
        for path in (DEPLOY / "systemd").glob("sharehub-*.timer")
        if "sharehub-task@" in path.read_text()
    }
    cron = set(
        re.findall(r"flask --app wsgi sharehub ([\w-]+)", (DEPLOY / "cron/sharehub").read_text())
    )
    return {"timers": timers, "cron": cron}


def test_timers_and_cron_run_the_same_real_commands(app):
    from sharehub.cli import group

    found = periodic_commands()
    expected = {
        "send-mail",
        "expire-holds",
        "send-reminders",
        "refresh-calendars",
        "send-webhooks",
        "send-refunds",
        "send-notice-reminders",
        "send-calibration-reminders",
        "reconcile-payments",
        "lapse-quotes",
        "send-authorisation-reminders",
    }
    assert found["timers"] == found["cron"] == expected
    assert expected <= set(group.commands)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze")
def test_timer_schedules_are_valid_calendar_expressions():
    for path in (DEPLOY / "systemd").glob("*.timer"):
        spec = re.search(r"^OnCalendar=(.+)$", path.read_text(), re.M).group(1)
        result = subprocess.run(
            ["systemd-analyze", "calendar", spec], capture_output=True, text=True
        )
        assert result.returncode == 0 and "Next elapse" in result.stdout, (path.name, result)
