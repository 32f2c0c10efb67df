"""Alipay fixtures (a pytest plugin, see tests/conftest.py): RSA keys generated for the
run, the stand-in gateway (tests/support/alipay_gateway.py) in its own process on a free
loopback port and stopped by its PID, and a lab whose Alipay account points at it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from contextlib import contextmanager

import pytest

from tests.support.alipay_gateway import bare, new_key, private_pem, public_pem
from tests.support.postgres import free_port
from tests.support.stripe_servers import ROOT, _wait_for

APP_ID = "2021004100000001"


@pytest.fixture(scope="session")
def alipay_keys():
    app, alipay = new_key(), new_key()
    return {
        "app_id": APP_ID,
        "app_key": app,
        "alipay_key": alipay,
        # As the lab pastes them from Alipay's key tool and console: bare base64.
        "app_private_key": bare(private_pem(app)),
        "alipay_public_key": bare(public_pem(alipay)),
        "app_public_key": public_pem(app),
    }


@contextmanager
def alipay_gateway_server(keys: dict, keyfile):
    keyfile.write_text(
        json.dumps(
            {
                "app_id": keys["app_id"],
                "app_public_key": keys["app_public_key"],
                "alipay_private_key": private_pem(keys["alipay_key"]),
            }
        )
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.alipay_gateway", str(port), str(keyfile)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def alipay_server(alipay_keys, tmp_path_factory):
    with alipay_gateway_server(alipay_keys, tmp_path_factory.mktemp("alipay") / "keys.json") as url:
        yield url


@pytest.fixture
def alipay_url(app, alipay_server, monkeypatch):
    monkeypatch.setitem(app.config, "ALIPAY_SERVER_URL", alipay_server + "/gateway.do")
    return alipay_server


@pytest.fixture
def alipay_account(db, lab, lab_manager, alipay_keys, alipay_url):
    from sharehub.billing import online
    from sharehub.billing.models import GatewayKind

    account = online.save_account(
        lab_manager,
        lab,
        GatewayKind.ALIPAY,
        alipay_keys["app_id"],
        True,
        {
            "app_private_key": alipay_keys["app_private_key"],
            "alipay_public_key": alipay_keys["alipay_public_key"],
        },
    )
    db.session.commit()
    return account


def control(server: str, path: str, **params) -> dict:
    """A test-only call to the stand-in (the customer paying, another app registered)."""
    body = urllib.parse.urlencode(params).encode()
    with urllib.request.urlopen(f"{server}{path}", data=body, timeout=20) as answer:
        return json.loads(answer.read().decode())


def customer_pays(server: str, out_trade_no: str, notify: bool = False) -> dict:
    """The customer scans and pays; the signed notification's parameters (and, when the
    stand-in delivered it, the app's answer)."""
    return control(server, "/_test/pay", out_trade_no=out_trade_no, notify="1" if notify else "0")
