"""A lab's WeChat Pay merchant settings: entered by owners and managers only, tested
against the stand-in, and never shown again; the credentials appear in no page, answer,
log line, audit entry or error message."""

from __future__ import annotations

import html
import logging
import re

import pytest
import sqlalchemy as sa

from sharehub.billing import online
from sharehub.billing.models import GatewayKind, MerchantAccount
from tests.support.billing import issued_for
from tests.support.wechatpay import account_fields, make_merchant, wechatpay_standin
from tests.support.wechatpay_gateway import key_pem, make_key, public_pem

PAGE = "/labs/{lab}/payment-accounts"
SAVE = "/labs/{lab}/payment-accounts/wechat_pay"
TEST = "/labs/{lab}/payment-accounts/wechat_pay/test"


def form(merchant, **changes) -> dict:
    return {"merchant_id": merchant.mchid, "enabled": "y", **account_fields(merchant), **changes}


def account(db, lab) -> MerchantAccount | None:
    db.session.expire_all()
    return online.account_of(lab.id, GatewayKind.WECHAT_PAY)


def test_manager_enters_the_keys_and_the_connection_works(
    db, client, login, lab, lab_manager, wechatpay
):
    merchant = wechatpay.merchant
    login(lab_manager)
    saved = client.post(SAVE.format(lab=lab.id), data=form(merchant), follow_redirects=True)
    assert saved.status_code == 200
    stored = account(db, lab)
    assert stored.enabled and stored.merchant_id == merchant.mchid
    assert stored.secrets()["apiv3_key"] == merchant.apiv3_key
    # Sealed in the database: the raw column holds none of it.
    raw = db.session.execute(
        sa.text("SELECT credentials FROM merchant_account WHERE id = :id"), {"id": stored.id}
    ).scalar()
    assert merchant.apiv3_key not in raw and merchant.mchid not in raw
    page = client.get(PAGE.format(lab=lab.id)).text
    assert f"…{merchant.apiv3_key[-4:]}" in page
    for secret in merchant.secret_texts():
        assert secret not in saved.text and secret not in page
    tested = client.post(TEST.format(lab=lab.id), follow_redirects=True)
    assert "WeChat Pay accepted the keys." in tested.text
    assert account(db, lab).check_ok is True
    requests = wechatpay.state()["requests"]
    assert requests[-1] == {"method": "GET", "path": "/v3/certificates", "refused": False}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("private_key", "refused the request's signature"),
        ("mchid", "refused the request's signature"),
        ("platform_public_key", "not signed with the platform key"),
        ("apiv3_key", "do not decrypt with the API v3 key entered"),
        ("apiv3_key_short", "The API v3 key has 32 characters."),
        ("garbage_key", "The merchant private key cannot be read."),
    ],
)
def test_wrong_keys_fail_the_test_with_a_clear_message(
    db, client, login, lab, lab_manager, wechatpay, change, message
):
    merchant = wechatpay.merchant
    changes = {
        "private_key": {"private_key": key_pem(make_key())},
        "mchid": {"merchant_id": "1900000002"},
        "platform_public_key": {"platform_public_key": public_pem(make_key())},
        "apiv3_key": {"apiv3_key": "0123456789abcdef0123456789abcdef"},
        "apiv3_key_short": {"apiv3_key": "short"},
        "garbage_key": {
            "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
        },
    }[change]
    login(lab_manager)
    client.post(SAVE.format(lab=lab.id), data=form(merchant, **changes))
    tested = client.post(TEST.format(lab=lab.id), follow_redirects=True)
    assert tested.status_code == 200
    assert message in html.unescape(tested.text), re.findall(r"alert[^>]*>([^<]*)", tested.text)
    assert account(db, lab).check_ok is False
    for secret in merchant.secret_texts():
        assert secret not in tested.text


def test_platform_certificates_instead_of_the_public_key(
    db, client, login, lab, lab_manager, app, monkeypatch, tmp_path
):
    """A merchant still on platform certificates: both platform fields left blank, the
    certificates are downloaded and decrypted with the API v3 key."""
    merchant = make_merchant(mchid="1900009192")
    with wechatpay_standin(merchant, tmp_path) as standin:
        monkeypatch.setitem(app.config, "WECHATPAY_API_BASE", standin.url)
        login(lab_manager)
        client.post(
            SAVE.format(lab=lab.id),
            data=form(merchant, platform_public_key="", platform_public_key_id=""),
        )
        tested = client.post(TEST.format(lab=lab.id), follow_redirects=True)
        assert "WeChat Pay accepted the keys." in tested.text
        assert standin.state()["requests"][0]["path"] == "/v3/certificates"


def test_keys_pasted_in_a_browser_with_cr_lf_line_ends_work(
    db, client, login, lab, lab_manager, wechatpay
):
    """Browsers send a textarea's lines ended with CR LF."""
    merchant = wechatpay.merchant
    crlf = {
        name: value.replace("\n", "\r\n") + "\r\n"
        for name, value in account_fields(merchant).items()
    }
    login(lab_manager)
    client.post(SAVE.format(lab=lab.id), data=form(merchant, **crlf))
    tested = client.post(TEST.format(lab=lab.id), follow_redirects=True)
    assert "WeChat Pay accepted the keys." in tested.text


def test_only_one_platform_field_is_refused_clearly(db, client, login, lab, lab_manager, wechatpay):
    login(lab_manager)
    client.post(SAVE.format(lab=lab.id), data=form(wechatpay.merchant, platform_public_key_id=""))
    tested = client.post(TEST.format(lab=lab.id), follow_redirects=True)
    assert "Enter both the platform public key and its ID, or neither." in tested.text


@pytest.mark.parametrize("who", ["other_lab", "customer", "admin", "anonymous"])
def test_others_cannot_see_change_or_test_the_account(
    db, client, login, lab, booked, make_org, make_user, platform_admin, wechatpay_account, who
):
    from sharehub.accounts.models import OrgKind, Role

    before = (wechatpay_account.merchant_id, wechatpay_account.credentials)
    user = {
        "other_lab": lambda: make_user(make_org(kind=OrgKind.LAB, name="他家"), role=Role.MANAGER),
        "customer": lambda: booked.customer_user,
        "admin": lambda: platform_admin,
        "anonymous": lambda: None,
    }[who]()
    if user is not None:
        login(user)
    answers = [
        client.get(PAGE.format(lab=lab.id)),
        client.post(SAVE.format(lab=lab.id), data={"merchant_id": "1", "apiv3_key": "x" * 32}),
        client.post(TEST.format(lab=lab.id)),
    ]
    expected = 302 if user is None else 404
    assert [a.status_code for a in answers] == [expected] * 3
    stored = account(db, lab)
    assert (stored.merchant_id, stored.credentials) == before
    assert stored.checked_dt is None


def test_notification_address_of_no_account_is_404(client, wechatpay_account):
    assert client.post("/webhooks/wechat_pay/999999", data=b"{}").status_code == 404
    assert client.post(f"/webhooks/alipay/{wechatpay_account.id}", data=b"{}").status_code == 404


def test_credentials_appear_nowhere(
    db, app, client, login, lab, lab_manager, booked, wechatpay_account, wechatpay, caplog
):
    """A whole payment, a refused notification, a failed and a working connection test:
    the API v3 key and the private key are in no page, answer, log line or audit entry."""
    from sharehub.billing import refunds, services

    merchant = wechatpay.merchant
    shown: list[str] = []
    caplog.set_level(logging.DEBUG)
    statement = issued_for(lab_manager, booked)
    db.session.commit()
    login(booked.customer_user)
    started = client.post(f"/invoices/{statement.id}/online/wechat_pay", data={"channel": "qr"})
    attempt_page = client.get(started.headers["Location"])
    shown += [started.text, attempt_page.text, client.get(f"/invoices/{statement.id}").text]
    attempt = db.session.scalars(sa.select(online.OnlinePayment)).one()
    sent = wechatpay.pay(attempt.out_trade_no, deliver=False)["notification"]
    bad = client.post(
        f"/webhooks/wechat_pay/{wechatpay_account.id}",
        data=sent["body"].encode() + b" ",
        headers=sent["headers"],
    )
    good = client.post(
        f"/webhooks/wechat_pay/{wechatpay_account.id}",
        data=sent["body"].encode(),
        headers=sent["headers"],
    )
    assert (bad.status_code, good.status_code) == (400, 204)
    shown += [bad.text, good.text]
    client.get("/logout")
    services.void(lab_manager, statement, "服务中止")
    db.session.commit()
    refunds.submit_refunds()
    login(lab_manager)
    shown.append(client.get(PAGE.format(lab=lab.id)).text)
    shown.append(client.post(TEST.format(lab=lab.id), follow_redirects=True).text)
    client.post(SAVE.format(lab=lab.id), data=form(merchant, private_key=key_pem(make_key())))
    shown.append(client.post(TEST.format(lab=lab.id), follow_redirects=True).text)
    shown.append(client.get(f"/invoices/{statement.id}").text)
    shown += [record.getMessage() for record in caplog.records]
    shown += [str(record.args) for record in caplog.records]
    audit_rows = db.session.execute(sa.text("SELECT * FROM audit_entry")).all()
    assert audit_rows
    shown += [str(row) for row in audit_rows]
    events = db.session.execute(sa.text("SELECT * FROM gateway_event")).all()
    shown += [str(row) for row in events]
    text = "\n".join(shown)
    for secret in merchant.secret_texts():
        assert secret not in text


def test_the_connection_test_answers_in_chinese(db, client, login, lab, lab_manager, wechatpay):
    merchant = wechatpay.merchant
    lab_manager.locale = "zh_CN"
    db.session.commit()
    login(lab_manager)
    client.post(SAVE.format(lab=lab.id), data=form(merchant, private_key=key_pem(make_key())))
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    tested = client.post(TEST.format(lab=lab.id), headers=zh, follow_redirects=True)
    assert "微信支付拒绝了请求签名：请检查商户私钥及其证书序列号。" in tested.text
    page = client.get(PAGE.format(lab=lab.id), headers=zh).text
    assert "APIv3密钥" in page and "微信支付公钥ID" in page
