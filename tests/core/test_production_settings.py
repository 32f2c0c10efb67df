"""A production app refuses to start without a real SECRET_KEY: with the development
default anyone could sign an administrator's session cookie."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request

import pytest

from config import ConfigurationError, ProductionConfig, check_settings
from tests.support.live import ROOT, gunicorn
from tests.support.postgres import free_port

GOOD_SECRET = "3b1f0c9e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a"


def production_env(tmp_path, **extra) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "SHAREHUB_ENV", "WEBHOOK_ALLOW_PRIVATE"}
    }
    env.update(
        SHAREHUB_ENV="production",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.db'}",
        SHAREHUB_INSTANCE=str(tmp_path),
        **extra,
    )
    return env


def start(tmp_path, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from sharehub import create_app; create_app(); print('started')"],
        cwd=ROOT,
        env=production_env(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "secret",
    [None, "", "dev-only-change-me", "change-me-to-64-random-characters", "short-secret"],
)
def test_production_start_up_without_a_real_secret_stops_with_a_clear_message(tmp_path, secret):
    extra = {} if secret is None else {"SECRET_KEY": secret}
    result = start(tmp_path, **extra)
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "ConfigurationError" in result.stderr and "SECRET_KEY" in result.stderr


def test_production_start_up_with_a_real_secret(tmp_path):
    result = start(tmp_path, SECRET_KEY=GOOD_SECRET)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "started" in result.stdout


def test_development_and_tests_keep_their_own_secrets():
    check_settings({"ENV_NAME": "development", "SECRET_KEY": "dev-only-change-me"})
    check_settings({"ENV_NAME": "test", "SECRET_KEY": "test-secret"})
    with pytest.raises(ConfigurationError):
        check_settings({"ENV_NAME": "production", "SECRET_KEY": b"dev-only-change-me"})
    assert ProductionConfig.ENV_NAME == "production"


def test_deploy_gunicorn_refuses_to_serve_without_a_secret_and_serves_with_one(tmp_path):
    """The deploy/ gunicorn settings under SHAREHUB_ENV=production, as systemd runs them."""
    port = free_port()
    env = production_env(tmp_path, WEB_CONCURRENCY="1", SHAREHUB_BIND=f"127.0.0.1:{port}")
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy/gunicorn.conf.py")]
    refused = subprocess.run(
        [*command, "wsgi:app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert refused.returncode != 0
    assert "SECRET_KEY" in refused.stdout + refused.stderr
    with gunicorn("wsgi:app", {**env, "SECRET_KEY": GOOD_SECRET}, tmp_path / "g.log", 1) as base:
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
            assert response.status == 200


def test_the_deploy_example_secret_is_refused_so_it_cannot_go_live_unchanged():
    example = (ROOT / "deploy" / "sharehub.env.example").read_text()
    settings = dict(
        line.split("=", 1) for line in example.splitlines() if "=" in line and line[0] != "#"
    )
    assert settings["SHAREHUB_ENV"] == "production"
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        check_settings({"ENV_NAME": "production", "SECRET_KEY": settings["SECRET_KEY"]})
