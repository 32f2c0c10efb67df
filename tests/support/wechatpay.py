"""A lab's WeChat Pay merchant, made up for the tests: merchant and platform RSA keys with
self-signed certificates, an API v3 key, and the stand-in gateway
(tests/support/wechatpay_gateway.py) in its own process on a free loopback port."""

from __future__ import annotations

import json
import secrets
import sys
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.support.postgres import free_port
from tests.support.stripe_servers import _serving
from tests.support.wechatpay_gateway import (
    cert_pem,
    key_pem,
    make_certificate,
    make_key,
    public_pem,
    serial_of,
)


@dataclass(frozen=True)
class Merchant:
    mchid: str
    appid: str
    apiv3_key: str
    merchant_key: str
    merchant_certificate: str
    merchant_serial: str
    platform_key: str
    platform_certificate: str
    platform_public_key: str
    public_key_id: str = ""

    def gateway_config(self) -> dict:
        return {
            "mchid": self.mchid,
            "appid": self.appid,
            "apiv3_key": self.apiv3_key,
            "merchant_serial": self.merchant_serial,
            "merchant_certificate": self.merchant_certificate,
            "platform_key": self.platform_key,
            "platform_certificate": self.platform_certificate,
            "public_key_id": self.public_key_id,
        }

    def secret_texts(self) -> list[str]:
        """What must never be seen outside the sealed column: the API v3 key and the
        private key (whole, and its base64 body line by line)."""
        lines = [line for line in self.merchant_key.splitlines() if "-----" not in line]
        return [self.apiv3_key, *lines]


@cache
def _keys(name: str):
    """RSA keys cost a moment each; a test session makes each one once."""
    key = make_key()
    return key, make_certificate(key, name)


def make_merchant(
    mchid: str = "1900009191", appid: str = "wxd678efh567hg6787", **extra
) -> Merchant:
    merchant_key, merchant_cert = _keys(f"merchant {mchid}")
    platform_key, platform_cert = _keys("Tenpay.com Root CA stand-in")
    return Merchant(
        mchid=mchid,
        appid=appid,
        apiv3_key=extra.pop("apiv3_key", secrets.token_hex(16)),
        merchant_key=key_pem(merchant_key),
        merchant_certificate=cert_pem(merchant_cert),
        merchant_serial=serial_of(merchant_cert),
        platform_key=key_pem(platform_key),
        platform_certificate=cert_pem(platform_cert),
        platform_public_key=public_pem(platform_key),
        **extra,
    )


class StandIn:
    """The running stand-in and its control levers."""

    def __init__(self, url: str, merchant: Merchant):
        self.url, self.merchant = url, merchant

    def control(self, lever: str, **fields) -> dict:
        request = urllib.request.Request(
            f"{self.url}/_standin/{lever}",
            data=json.dumps(fields).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            return {"status": error.code, **json.loads(error.read())}

    def state(self) -> dict:
        return self.control("state")

    def pay(self, out_trade_no: str, **fields) -> dict:
        return self.control("pay", out_trade_no=out_trade_no, **fields)

    def finish_refund(self, out_refund_no: str, **fields) -> dict:
        return self.control("refund", out_refund_no=out_refund_no, **fields)


@contextmanager
def wechatpay_standin(merchant: Merchant, workdir: Path):
    port = free_port()
    config = workdir / f"wechatpay-{port}.json"
    config.write_text(json.dumps(merchant.gateway_config()), encoding="utf-8")
    args = [sys.executable, "-m", "tests.support.wechatpay_gateway", str(port), str(config)]
    with _serving(args, port) as url:
        yield StandIn(url, merchant)


def forged_notification(
    merchant: Merchant, resource: dict, event_type: str = "TRANSACTION.SUCCESS"
) -> tuple[dict, str]:
    """A notification made exactly as the stand-in makes them (encrypted with the API v3
    key, signed with the platform key), with whatever resource the test wants: another
    merchant's, another amount, another currency, an order we never made."""
    from cryptography.hazmat.primitives import serialization

    from tests.support.wechatpay_gateway import encrypt, signed_headers

    original = "refund" if event_type.startswith("REFUND") else "transaction"
    body = json.dumps(
        {
            "id": "EV-" + secrets.token_hex(10),
            "create_time": "2026-06-10T10:00:00+08:00",
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "支付成功",
            "resource": {
                "original_type": original,
                **encrypt(merchant.apiv3_key, json.dumps(resource, ensure_ascii=False), original),
            },
        },
        ensure_ascii=False,
    )
    key = serialization.load_pem_private_key(merchant.platform_key.encode(), None)
    serial = merchant.public_key_id or serial_of_pem(merchant.platform_certificate)
    return signed_headers(key, serial, body), body


def serial_of_pem(pem: str) -> str:
    from cryptography import x509

    return serial_of(x509.load_pem_x509_certificate(pem.encode()))


# Fixtures (a pytest plugin, see tests/conftest.py) ------------------------------------------


@pytest.fixture(scope="session")
def wechatpay_merchant():
    return make_merchant(public_key_id="PUB_KEY_ID_0119000091912026061000000000000001")


@pytest.fixture(scope="session")
def wechatpay_server(wechatpay_merchant, tmp_path_factory):
    with wechatpay_standin(wechatpay_merchant, tmp_path_factory.mktemp("wechatpay")) as running:
        yield running


@pytest.fixture
def wechatpay(app, wechatpay_server, monkeypatch):
    """The stand-in, emptied, with ShareHub's WeChat Pay calls pointed at it (each test's
    database starts its refund numbers again from 1)."""
    wechatpay_server.control("reset")
    monkeypatch.setitem(app.config, "WECHATPAY_API_BASE", wechatpay_server.url)
    return wechatpay_server


def account_fields(merchant: Merchant) -> dict:
    return {
        "appid": merchant.appid,
        "apiv3_key": merchant.apiv3_key,
        "cert_serial_no": merchant.merchant_serial,
        "private_key": merchant.merchant_key,
        "platform_public_key_id": merchant.public_key_id,
        "platform_public_key": merchant.platform_public_key,
    }


@pytest.fixture
def wechatpay_account(db, lab, lab_manager, wechatpay):
    from sharehub.billing import online
    from sharehub.billing.models import GatewayKind

    account = online.save_account(
        lab_manager,
        lab,
        GatewayKind.WECHAT_PAY,
        wechatpay.merchant.mchid,
        True,
        account_fields(wechatpay.merchant),
    )
    db.session.commit()
    return account
