"""WeChat Pay into the lab's own merchant account, through ShareHub's pages and notification
endpoint, against the stand-in gateway: a Native QR code paid once however often or in
whatever order the news comes, H5 on phones, refunds full and partial with their
notifications, and every kind of bad notification refused without storing anything."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.billing import online, refunds, services
from sharehub.billing.models import (
    GatewayEvent,
    InvoiceStatus,
    OnlinePayment,
    OnlinePaymentStatus,
    Payment,
    Refund,
    RefundStatus,
)
from tests.support.billing import issued_for
from tests.support.wechatpay import forged_notification

FAIL = {"code": "FAIL", "message": "失败"}


@pytest.fixture
def statement(db, booked, lab_manager):
    invoice = issued_for(lab_manager, booked)
    db.session.commit()
    return invoice


@pytest.fixture
def buyer(booked):
    return booked.customer_user


def attempt_of(attempt_id: int) -> OnlinePayment:
    from sharehub.extensions import db

    return db.session.get(OnlinePayment, attempt_id, populate_existing=True)


def start(client, login, buyer, statement, channel="qr") -> OnlinePayment:
    login(buyer)
    answer = client.post(f"/invoices/{statement.id}/online/wechat_pay", data={"channel": channel})
    assert answer.status_code == 303, answer.text
    location = answer.headers["Location"]
    client.get("/logout")
    if channel != "qr":
        return location
    return attempt_of(int(location.rsplit("/", 1)[1]))


def deliver(client, account, sent: dict):
    return client.post(
        f"/webhooks/wechat_pay/{account.id}",
        data=sent["body"].encode(),
        headers={**sent["headers"], "Content-Type": "application/json"},
    )


def payments(db, statement) -> list[Payment]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Payment).where(Payment.invoice_id == statement.id).order_by(Payment.id)
        )
    )


def events(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(GatewayEvent))


def refused(answer) -> bool:
    return answer.status_code == 400 and answer.json == FAIL


def resource_of(attempt: OnlinePayment, merchant, **changes) -> dict:
    resource = {
        "appid": merchant.appid,
        "mchid": merchant.mchid,
        "out_trade_no": attempt.out_trade_no,
        "transaction_id": "4200000000202606100000000001",
        "trade_type": "NATIVE",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "attach": "",
        "success_time": "2026-06-10T10:01:00+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {
            "total": attempt.amount_fen,
            "payer_total": attempt.amount_fen,
            "currency": "CNY",
            "payer_currency": "CNY",
        },
    }
    for key, value in changes.items():
        if key in ("total", "currency"):
            resource["amount"][key] = value
        else:
            resource[key] = value
    return resource


def test_native_qr_paid_once_though_notified_ten_times(
    db, client, login, buyer, statement, wechatpay_account, wechatpay
):
    attempt = start(client, login, buyer, statement)
    assert attempt.status == OnlinePaymentStatus.PENDING
    assert attempt.amount_fen == statement.gross_total
    assert attempt.code_url.startswith("weixin://wxpay/bizpayurl?pr=")
    order = wechatpay.state()["orders"][attempt.out_trade_no]
    assert order["notify_url"].endswith(f"/webhooks/wechat_pay/{wechatpay_account.id}")
    assert order["amount"] == {"total": statement.gross_total, "currency": "CNY"}
    login(buyer)
    page = client.get(f"/payments/online/{attempt.id}")
    assert "<svg" in page.text and "online-qr" in page.text
    client.get("/logout")

    sent = wechatpay.pay(attempt.out_trade_no, deliver=False)["notification"]
    answers = [deliver(client, wechatpay_account, sent) for _ in range(10)]
    assert [a.status_code for a in answers] == [204] * 10
    assert all(a.data == b"" for a in answers)
    assert [p.amount for p in payments(db, statement)] == [statement.gross_total]
    assert statement.status == InvoiceStatus.PAID
    assert attempt_of(attempt.id).status == OnlinePaymentStatus.PAID
    paid_order = wechatpay.state()["orders"][attempt.out_trade_no]
    assert attempt_of(attempt.id).trade_no == paid_order["transaction_id"]
    assert events(db) == 1
    login(buyer)
    assert client.get(f"/payments/online/{attempt.id}/status").json["status"] == "paid"


def test_reconcile_first_then_the_late_notifications_record_one_payment(
    db, client, login, buyer, statement, wechatpay_account, wechatpay
):
    """Out of order: the query finds the payment before its notification comes."""
    attempt = start(client, login, buyer, statement)
    sent = wechatpay.pay(attempt.out_trade_no, deliver=False)["notification"]
    attempt.created_dt -= timedelta(minutes=5)
    db.session.commit()
    assert online.reconcile()["paid"] == 1
    assert [deliver(client, wechatpay_account, sent).status_code for _ in range(3)] == [204] * 3
    assert [p.amount for p in payments(db, statement)] == [statement.gross_total]
    assert payments(db, statement)[0].provider_ref.startswith("wechat_pay:42")


def test_h5_on_a_phone_goes_to_wechat_pay_and_back(
    db, client, login, buyer, statement, wechatpay_account, wechatpay
):
    location = start(client, login, buyer, statement, channel="h5")
    assert location.startswith(f"{wechatpay.url}/h5/SH")
    assert "redirect_url=http" in location
    attempt = db.session.scalar(sa.select(OnlinePayment).where(OnlinePayment.channel == "h5"))
    order = wechatpay.state()["orders"][attempt.out_trade_no]
    assert order["trade_type"] == "MWEB"
    sent = wechatpay.pay(attempt.out_trade_no, deliver=False)["notification"]
    assert deliver(client, wechatpay_account, sent).status_code == 204
    assert [p.amount for p in payments(db, statement)] == [statement.gross_total]


@pytest.mark.parametrize(
    "change",
    ["signature", "tampered", "mchid", "appid", "amount", "currency", "unknown", "resigned"],
)
def test_bad_notifications_store_nothing(
    db, client, login, buyer, statement, wechatpay_account, wechatpay, change, caplog
):
    attempt = start(client, login, buyer, statement)
    merchant = wechatpay.merchant
    if change == "signature":
        sent = wechatpay.pay(attempt.out_trade_no, deliver=False)["notification"]
        headers = dict(sent["headers"])
        headers["Wechatpay-Signature"] = headers["Wechatpay-Signature"][:-8] + "AAAAAAA="
        sent = {"headers": headers, "body": sent["body"]}
    elif change == "tampered":  # a ciphertext byte flipped after signing
        sent = wechatpay.pay(attempt.out_trade_no, deliver=False, tamper=True)["notification"]
    elif change == "resigned":  # flipped and signed again: the AES-GCM tag fails
        from tests.support.wechatpay_gateway import tamper

        good = wechatpay.pay(attempt.out_trade_no, deliver=False)["notification"]
        from cryptography.hazmat.primitives import serialization

        from tests.support.wechatpay_gateway import signed_headers

        body = tamper(good["body"])
        key = serialization.load_pem_private_key(merchant.platform_key.encode(), None)
        sent = {"headers": signed_headers(key, merchant.public_key_id, body), "body": body}
    else:
        changes = {
            "mchid": {"mchid": "1900000002"},
            "appid": {"appid": "wx0000000000000000"},
            "amount": {"total": attempt.amount_fen - 1},
            "currency": {"currency": "USD"},
            "unknown": {"out_trade_no": "SH99999999ABCDEF012345"},
        }[change]
        headers, body = forged_notification(merchant, resource_of(attempt, merchant, **changes))
        sent = {"headers": headers, "body": body}
    with caplog.at_level(logging.WARNING):
        answer = deliver(client, wechatpay_account, sent)
    assert refused(answer), (answer.status_code, answer.data)
    assert payments(db, statement) == []
    assert statement.status == InvoiceStatus.ISSUED
    assert attempt_of(attempt.id).status == OnlinePaymentStatus.PENDING
    assert events(db) == 0
    assert any("notification" in r.getMessage() for r in caplog.records)


def test_notification_for_another_lab_s_account_is_refused(
    db, client, login, buyer, statement, wechatpay_account, wechatpay, make_org, make_user
):
    """The same merchant keys entered by a second lab: a notification for the first lab's
    order delivered to the second lab's address changes nothing."""
    from sharehub.accounts.models import OrgKind, Role
    from tests.support.wechatpay import account_fields

    other = make_org(kind=OrgKind.LAB, name="另一实验室")
    manager = make_user(other, role=Role.MANAGER)
    second = online.save_account(
        manager,
        other,
        wechatpay_account.kind,
        wechatpay.merchant.mchid,
        True,
        account_fields(wechatpay.merchant),
    )
    db.session.commit()
    attempt = start(client, login, buyer, statement)
    sent = wechatpay.pay(attempt.out_trade_no, deliver=False)["notification"]
    assert refused(deliver(client, second, sent))
    assert payments(db, statement) == []


def test_notification_after_the_statement_was_voided_is_recorded_and_refunded(
    db, client, login, buyer, statement, wechatpay_account, wechatpay, lab_manager
):
    attempt = start(client, login, buyer, statement)
    services.void(lab_manager, statement, "服务中止")
    db.session.commit()
    sent = wechatpay.pay(attempt.out_trade_no, deliver=False)["notification"]
    assert deliver(client, wechatpay_account, sent).status_code == 204
    paid = payments(db, statement)
    assert [p.amount for p in paid] == [statement.gross_total]
    refund = db.session.scalar(sa.select(Refund).where(Refund.payment_id == paid[0].id))
    assert refund.amount == statement.gross_total
    refunds.submit_refunds()
    db.session.expire_all()
    assert refund.status == RefundStatus.SUBMITTED
    out_refund_no = f"RF{refund.id:010d}"
    made = wechatpay.state()["refunds"][out_refund_no]
    assert (made["refund"], made["total"], made["status"]) == (
        statement.gross_total,
        statement.gross_total,
        "PROCESSING",
    )
    assert made["notify_url"].endswith(f"/webhooks/wechat_pay/{wechatpay_account.id}")
    news = wechatpay.finish_refund(out_refund_no, deliver=False)["notification"]
    assert [deliver(client, wechatpay_account, news).status_code for _ in range(3)] == [204] * 3
    db.session.expire_all()
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.provider_ref == f"wechat_pay:{out_refund_no}"


def test_partial_refund_through_wechat_pay(
    db, client, login, buyer, statement, wechatpay_account, wechatpay, lab_manager
):
    attempt = start(client, login, buyer, statement)
    sent = wechatpay.pay(attempt.out_trade_no, deliver=False)["notification"]
    assert deliver(client, wechatpay_account, sent).status_code == 204
    services.credit(lab_manager, statement, 10000, "销售折让")
    refunds.refund_overpayment(lab_manager, statement, "销售折让")
    db.session.commit()
    refunds.submit_refunds()
    db.session.expire_all()
    refund = db.session.scalar(sa.select(Refund).where(Refund.invoice_id == statement.id))
    assert (refund.amount, refund.status) == (10000, RefundStatus.SUBMITTED)
    out_refund_no = f"RF{refund.id:010d}"
    made = wechatpay.state()["refunds"][out_refund_no]
    assert (made["refund"], made["total"]) == (10000, statement.gross_total)
    # Refused by the bank: the refund failed, the money is still the lab's to send back.
    news = wechatpay.finish_refund(out_refund_no, status="ABNORMAL", deliver=False)
    assert deliver(client, wechatpay_account, news["notification"]).status_code == 204
    db.session.expire_all()
    assert refund.status == RefundStatus.FAILED


def test_refund_notification_of_another_payment_is_refused(
    db, client, login, buyer, statement, wechatpay_account, wechatpay
):
    attempt = start(client, login, buyer, statement)
    sent = wechatpay.pay(attempt.out_trade_no, deliver=False)["notification"]
    deliver(client, wechatpay_account, sent)
    headers, body = forged_notification(
        wechatpay.merchant,
        {
            "mchid": wechatpay.merchant.mchid,
            "out_trade_no": attempt.out_trade_no,
            "transaction_id": "42000000",
            "out_refund_no": "RF9999999999",
            "refund_id": "50000000",
            "refund_status": "SUCCESS",
            "amount": {"total": attempt.amount_fen, "refund": 100, "payer_refund": 100},
        },
        "REFUND.SUCCESS",
    )
    assert refused(deliver(client, wechatpay_account, {"headers": headers, "body": body}))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0


def test_expired_qr_is_closed_and_a_new_one_is_made(
    db, client, login, buyer, statement, wechatpay_account, wechatpay
):
    attempt = start(client, login, buyer, statement)
    attempt.created_dt -= timedelta(minutes=30)
    attempt.expires_dt -= timedelta(minutes=30)
    db.session.commit()
    assert online.reconcile()["closed"] == 1
    assert attempt_of(attempt.id).status == OnlinePaymentStatus.CLOSED
    assert wechatpay.state()["orders"][attempt.out_trade_no]["trade_state"] == "CLOSED"
    assert wechatpay.pay(attempt.out_trade_no, deliver=False)["code"] == "ORDER_CLOSED"
    login(buyer)
    page = client.get(f"/payments/online/{attempt.id}")
    assert "online-closed" in page.text and "<svg" not in page.text
    client.get("/logout")
    again = start(client, login, buyer, statement)
    assert again.id != attempt.id and again.out_trade_no != attempt.out_trade_no


def refund_events(db) -> list[GatewayEvent]:
    return list(db.session.scalars(sa.select(GatewayEvent).where(GatewayEvent.id.like("%:RF%"))))


@pytest.mark.parametrize(
    ("finished", "settled"), [("SUCCESS", "succeeded"), ("ABNORMAL", "failed")]
)
def test_reconcile_queries_a_refund_whose_notification_never_came(
    db,
    client,
    login,
    buyer,
    statement,
    wechatpay_account,
    wechatpay,
    lab_manager,
    finished,
    settled,
):
    """The refund query settles the refund once; the notification coming after it, again
    and again, changes nothing."""
    attempt = start(client, login, buyer, statement)
    services.void(lab_manager, statement, "服务中止")
    db.session.commit()
    sent = wechatpay.pay(attempt.out_trade_no, deliver=False)["notification"]
    assert deliver(client, wechatpay_account, sent).status_code == 204
    refunds.submit_refunds()
    refund = db.session.scalar(sa.select(Refund).where(Refund.invoice_id == statement.id))
    out_refund_no = f"RF{refund.id:010d}"
    refund.created_dt -= timedelta(minutes=5)
    db.session.commit()
    # Still under way at WeChat Pay: asked, and left submitted.
    counts = online.reconcile()
    assert (counts["refunds_settled"], counts["refunds_pending"]) == (0, 1)
    db.session.expire_all()
    assert refund.status == RefundStatus.SUBMITTED
    news = wechatpay.finish_refund(out_refund_no, status=finished, deliver=False)["notification"]
    assert online.reconcile()["refunds_settled"] == 1
    db.session.expire_all()
    assert refund.status == RefundStatus(settled)
    assert refund.provider_ref == f"wechat_pay:{out_refund_no}"
    completed = refund.completed_dt
    assert [e.id for e in refund_events(db)] == [f"wechat_pay:{out_refund_no}:{settled}"]
    # The late notification, delivered three times, and another run: nothing twice.
    assert [deliver(client, wechatpay_account, news).status_code for _ in range(3)] == [204] * 3
    assert online.reconcile()["refunds_settled"] == 0
    db.session.expire_all()
    assert (refund.status, refund.completed_dt) == (RefundStatus(settled), completed)
    assert len(refund_events(db)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 1
