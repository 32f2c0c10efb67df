"""The WeChat Pay client (wechatpayv3 pointed at the local stand-in) against the stand-in
gateway: signed requests both ways, Native and H5 orders, query, close, full and partial
refunds, and notifications verified and decrypted; forged, tampered and foreign ones refused."""

from __future__ import annotations

import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from sharehub.billing.gateways.wechatpay import (
    Credentials,
    NotificationError,
    WeChatPayClient,
    WeChatPayError,
)
from tests.support.wechatpay import make_merchant, wechatpay_standin
from tests.support.wechatpay_gateway import key_pem, make_key, public_pem, signed_headers

NOTIFY = "http://127.0.0.1:9/webhooks/wechatpay/1"


@pytest.fixture(scope="module")
def merchant():
    return make_merchant(public_key_id="PUB_KEY_ID_0119000091912026061000000000000001")


@pytest.fixture(scope="module")
def standin(merchant, tmp_path_factory):
    with wechatpay_standin(merchant, tmp_path_factory.mktemp("wechatpay")) as running:
        yield running


def credentials(merchant, standin, mode="public_key", **changes) -> Credentials:
    fields = dict(
        mchid=merchant.mchid,
        appid=merchant.appid,
        apiv3_key=merchant.apiv3_key,
        cert_serial_no=merchant.merchant_serial,
        private_key=merchant.merchant_key,
        api_base=standin.url,
    )
    if mode == "public_key":
        fields.update(
            platform_public_key=merchant.platform_public_key,
            platform_public_key_id=merchant.public_key_id,
        )
    fields.update(changes)
    return Credentials(**fields)


@pytest.fixture
def client(merchant, standin):
    return WeChatPayClient(credentials(merchant, standin), notify_url=NOTIFY)


def later(minutes=30):
    return datetime.now(UTC) + timedelta(minutes=minutes)


def order_no(tag: str) -> str:
    return f"SH{tag}{datetime.now(UTC).strftime('%H%M%S%f')}"


def test_native_order_is_signed_and_gives_a_code_url(client, standin):
    no = order_no("N")
    expires = later()  # a reload asks with the attempt's stored expiry, to the second
    code_url = client.native(no, "结算单 SH0001-2026-000001", 52999, expires, attach="invoice:1")
    assert code_url.startswith("weixin://wxpay/bizpayurl?pr=")
    found = client.query(no)
    assert (found.state, found.total, found.currency, found.is_paid) == (
        "NOTPAY",
        52999,
        "CNY",
        False,
    )
    # The same order asked again (a page reload) gives the same QR code.
    assert client.native(no, "结算单 SH0001-2026-000001", 52999, expires, "invoice:1") == code_url


def test_h5_order_gives_an_h5_url(client):
    no = order_no("H")
    url = client.h5(no, "结算单", 100, later(), attach="invoice:2", client_ip="203.0.113.7")
    assert f"/h5/{no}?prepay_id=wx" in url


def test_certificate_mode_downloads_and_decrypts_the_platform_certificate(merchant, standin):
    """Without a platform public key the library fetches /v3/certificates (AES-256-GCM with
    the API v3 key) and verifies the answers with that certificate; the stand-in signs its
    answers with the public key id, so this merchant runs its own stand-in without one."""
    plain = make_merchant(apiv3_key=merchant.apiv3_key)

    with wechatpay_standin(plain, Path(tempfile.mkdtemp())) as other:
        client = WeChatPayClient(credentials(plain, other, mode="certificates"), NOTIFY)
        assert client.check() == "ok"
        paths = [r["path"] for r in other.state()["requests"]]
        assert paths[0] == "/v3/certificates"
        # With the wrong API v3 key the certificate cannot be decrypted: no client.
        with pytest.raises(WeChatPayError) as refused:
            WeChatPayClient(credentials(plain, other, "certificates", apiv3_key="0" * 32))
        assert refused.value.code == "NO_PLATFORM_CERTIFICATE"


def test_query_of_an_unknown_order_is_none(client):
    assert client.query("SHNOSUCHORDER01") is None
    assert client.check() == "ok"


def test_wrong_private_key_is_refused_by_the_gateway(merchant, standin):
    other = WeChatPayClient(credentials(merchant, standin, private_key=key_pem(make_key())), NOTIFY)
    with pytest.raises(WeChatPayError) as refused:
        other.query("SHNOSUCHORDER02")
    assert (refused.value.code, refused.value.status) == ("SIGN_ERROR", 401)


def test_wrong_merchant_number_is_refused(merchant, standin):
    other = WeChatPayClient(credentials(merchant, standin, mchid="1900000000"), NOTIFY)
    with pytest.raises(WeChatPayError) as refused:
        other.native(order_no("M"), "结算单", 100, later(), "invoice:3")
    assert refused.value.code == "SIGN_ERROR"


def test_wrong_appid_is_refused(merchant, standin):
    other = WeChatPayClient(credentials(merchant, standin, appid="wx0000000000000000"), NOTIFY)
    with pytest.raises(WeChatPayError) as refused:
        other.native(order_no("A"), "结算单", 100, later(), "invoice:3")
    assert refused.value.code == "APPID_MCHID_NOT_MATCH"
    assert not refused.value.transient


def test_answer_signed_by_another_key_is_not_believed(merchant, standin):
    """The stand-in signs with the platform key; a client holding another public key under
    the same id rejects the answer, as it would a man in the middle."""
    forged = WeChatPayClient(
        credentials(
            merchant,
            standin,
            platform_public_key=public_pem(make_key()),
        ),
        NOTIFY,
    )
    with pytest.raises(WeChatPayError) as refused:
        forged.native(order_no("F"), "结算单", 100, later(), "invoice:4")
    assert refused.value.code == "SIGNATURE"


def test_unreachable_gateway_is_a_transient_network_error(merchant):
    client = WeChatPayClient(
        credentials(merchant, type("S", (), {"url": "http://127.0.0.1:9"})()), NOTIFY
    )
    with pytest.raises(WeChatPayError) as refused:
        client.query("SHNOSUCHORDER03")
    assert refused.value.code == "NETWORK" and refused.value.transient


def test_payment_notification_is_verified_and_decrypted(client, standin):
    no = order_no("P")
    client.native(no, "结算单", 52999, later(), attach="invoice:5")
    sent = standin.pay(no, deliver=False)["notification"]
    note = client.parse_notification(sent["headers"], sent["body"].encode())
    assert note.is_payment and note.event_type == "TRANSACTION.SUCCESS"
    paid = note.transaction()
    assert (paid.out_trade_no, paid.state, paid.total, paid.attach) == (
        no,
        "SUCCESS",
        52999,
        "invoice:5",
    )
    assert paid.transaction_id and paid.success_dt is not None
    assert client.query(no).is_paid
    # A paid order cannot be closed, nor ordered again.
    with pytest.raises(WeChatPayError) as refused:
        client.close(no)
    assert refused.value.code == "ORDERPAID"


def test_tampered_ciphertext_fails_the_gcm_tag(client, standin):
    no = order_no("T")
    client.native(no, "结算单", 100, later(), attach="invoice:6")
    sent = standin.pay(no, deliver=False, tamper=True)["notification"]
    # Tampered after signing: the signature fails first ...
    with pytest.raises(NotificationError) as refused:
        client.parse_notification(sent["headers"], sent["body"])
    assert refused.value.reason == "signature"
    # ... and re-signed by the platform (a ciphertext that changed on WeChat Pay's side or
    # was encrypted with another API v3 key) the AES-GCM tag fails.
    key = serialization.load_pem_private_key(standin.merchant.platform_key.encode(), None)
    headers = signed_headers(key, standin.merchant.public_key_id, sent["body"])
    with pytest.raises(NotificationError) as refused:
        client.parse_notification(headers, sent["body"])
    assert refused.value.reason == "decrypt"


@pytest.mark.parametrize(
    "change",
    ["signature", "body", "serial", "type", "missing"],
)
def test_forged_notifications_are_refused(client, standin, change):
    no = order_no("X")
    client.native(no, "结算单", 100, later(), attach="invoice:7")
    sent = standin.pay(no, deliver=False)["notification"]
    headers, body = dict(sent["headers"]), sent["body"]
    if change == "signature":
        headers["Wechatpay-Signature"] = headers["Wechatpay-Signature"][::-1]
    elif change == "body":
        data = json.loads(body)
        data["event_type"] = "REFUND.SUCCESS"
        body = json.dumps(data)
    elif change == "serial":
        headers["Wechatpay-Serial"] = "NOT-HEX-SERIAL"
    elif change == "type":
        headers["Wechatpay-Signature-Type"] = "HMAC-SHA256"
    else:
        headers = {}
    with pytest.raises(NotificationError) as refused:
        client.parse_notification(headers, body)
    assert refused.value.reason == "signature"


def test_close_makes_the_qr_unpayable(client, standin):
    no = order_no("C")
    client.native(no, "结算单", 100, later(), attach="invoice:8")
    client.close(no)
    assert client.query(no).state == "CLOSED"
    assert standin.pay(no, deliver=False)["code"] == "ORDER_CLOSED"
    client.close("SHNOSUCHORDER04")  # nothing to close: no error


def test_expired_qr_cannot_be_paid(client, standin):
    no = order_no("E")
    client.native(no, "结算单", 100, datetime.now(UTC) + timedelta(seconds=1), "invoice:9")
    time.sleep(1.5)
    assert client.query(no).state == "CLOSED"
    assert standin.pay(no, deliver=False)["code"] == "ORDER_CLOSED"


def test_full_and_partial_refunds_and_their_notifications(client, standin):
    no = order_no("R")
    client.native(no, "结算单", 10000, later(), attach="invoice:10")
    standin.pay(no, deliver=False)
    part = client.refund(no, no + "r1", 3000, 10000, reason="服务中止")
    assert (part.status, part.refund, part.total) == ("PROCESSING", 3000, 10000)
    # Retried with the same refund number: the same refund, not a second one.
    again = client.refund(no, no + "r1", 3000, 10000, reason="服务中止")
    assert again.refund_id == part.refund_id
    with pytest.raises(WeChatPayError) as refused:
        client.refund(no, no + "r2", 7001, 10000)
    assert refused.value.code == "NOT_ENOUGH"
    rest = client.refund(no, no + "r3", 7000, 10000)
    sent = standin.finish_refund(rest.out_refund_no, deliver=False)["notification"]
    note = client.parse_notification(sent["headers"], sent["body"])
    assert note.is_refund and note.event_type == "REFUND.SUCCESS"
    done = note.refund()
    assert (done.out_trade_no, done.out_refund_no, done.refund, done.status) == (
        no,
        no + "r3",
        7000,
        "SUCCESS",
    )
    assert client.query_refund(no + "r3").status == "SUCCESS"
    assert client.query_refund(no + "r1").status == "PROCESSING"
    assert client.query(no).state == "REFUND"


def test_refund_of_an_unpaid_order_is_refused(client):
    no = order_no("U")
    client.native(no, "结算单", 100, later(), attach="invoice:11")
    with pytest.raises(WeChatPayError) as refused:
        client.refund(no, no + "r1", 100, 100)
    assert refused.value.code == "INVALID_REQUEST"


def test_credentials_never_in_errors_or_repr(merchant, standin):
    creds = credentials(merchant, standin, mchid="1900000000")
    client = WeChatPayClient(creds, NOTIFY)
    with pytest.raises(WeChatPayError) as refused:
        client.query("SHNOSUCHORDER05")
    text = f"{refused.value} {refused.value!r} {creds!r} {creds}"
    for secret in merchant.secret_texts():
        assert secret not in text
    with pytest.raises(WeChatPayError) as refused:
        WeChatPayClient(credentials(merchant, standin, private_key="not a key"))
    assert refused.value.code == "PRIVATE_KEY"


def test_check_catches_a_wrong_platform_key_or_api_v3_key(merchant, standin):
    """The connection test verifies a signed 2xx answer and decrypts the certificates:
    a wrong platform public key or API v3 key fails it (an error answer is not signed-
    checked by the library, so "no such order" alone would pass)."""
    wrong_platform = WeChatPayClient(
        credentials(merchant, standin, platform_public_key=public_pem(make_key()))
    )
    with pytest.raises(WeChatPayError) as refused:
        wrong_platform.check()
    assert refused.value.code == "SIGNATURE"
    wrong_key = WeChatPayClient(credentials(merchant, standin, apiv3_key="1" * 32))
    with pytest.raises(WeChatPayError) as refused:
        wrong_key.check()
    assert refused.value.code == "APIV3_KEY"
