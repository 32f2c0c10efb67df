"""Alipay into the lab's own merchant account, against the stand-in gateway: the SDK signs
its requests and checks the answers; notifications are verified with the Alipay public key
and applied once."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from sharehub.billing import online
from sharehub.billing.models import (
    GatewayEvent,
    InvoiceStatus,
    OnlinePayment,
    OnlinePaymentStatus,
    Payment,
)
from tests.support.alipay import customer_pays
from tests.support.billing import issued_for


@pytest.fixture
def statement(db, booked, lab_manager):
    invoice = issued_for(lab_manager, booked)
    db.session.commit()
    return invoice


@pytest.fixture
def buyer(booked):
    return booked.customer_user


def start_qr(client, login, buyer, statement) -> OnlinePayment:
    login(buyer)
    answer = client.post(f"/invoices/{statement.id}/online/alipay", data={"channel": "qr"})
    assert answer.status_code == 303, answer.text
    attempt_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    client.post("/account/signout")
    return _attempt(attempt_id)


def _attempt(attempt_id: int) -> OnlinePayment:
    from sharehub.extensions import db

    return db.session.get(OnlinePayment, attempt_id, populate_existing=True)


def notify(client, account, params):
    return client.post(f"/webhooks/alipay/{account.id}", data=params)


def payments(db, statement) -> list[Payment]:
    return list(
        db.session.scalars(
            sa.select(Payment).where(Payment.invoice_id == statement.id).order_by(Payment.id)
        )
    )


def test_qr_payment_is_recorded_once_from_the_signed_notification(
    db, client, login, buyer, statement, alipay_account, alipay_url
):
    attempt = start_qr(client, login, buyer, statement)
    assert attempt.status == OnlinePaymentStatus.PENDING
    assert attempt.amount_fen == statement.gross_total
    assert attempt.code_url.startswith("https://qr.alipay.com/")
    login(buyer)
    page = client.get(f"/payments/online/{attempt.id}")
    assert "<svg" in page.text and "online-qr" in page.text
    assert client.get(f"/payments/online/{attempt.id}/status").json["status"] == "pending"
    client.post("/account/signout")

    params = customer_pays(alipay_url, attempt.out_trade_no)["params"]
    answers = [notify(client, alipay_account, params) for _ in range(10)]
    assert [a.text for a in answers] == ["success"] * 10
    assert all(a.mimetype == "text/plain" for a in answers)

    db.session.expire_all()
    assert [p.amount for p in payments(db, statement)] == [statement.gross_total]
    assert statement.status == InvoiceStatus.PAID
    assert _attempt(attempt.id).status == OnlinePaymentStatus.PAID
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GatewayEvent)) == 1
    login(buyer)
    assert client.get(f"/payments/online/{attempt.id}/status").json["status"] == "paid"


def test_tampered_notification_changes_nothing(
    db, client, login, buyer, statement, alipay_account, alipay_url
):
    attempt = start_qr(client, login, buyer, statement)
    params = customer_pays(alipay_url, attempt.out_trade_no)["params"]
    tampered = {**params, "total_amount": "0.01"}
    assert notify(client, alipay_account, tampered).text == "failure"
    db.session.expire_all()
    assert payments(db, statement) == []
    assert statement.status == InvoiceStatus.ISSUED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GatewayEvent)) == 0


def test_reconcile_records_a_payment_whose_notification_never_came(
    db, client, login, buyer, statement, alipay_account, alipay_url
):
    from datetime import timedelta

    attempt = start_qr(client, login, buyer, statement)
    customer_pays(alipay_url, attempt.out_trade_no)
    attempt.created_dt -= timedelta(minutes=5)
    db.session.commit()
    counts = online.reconcile()
    assert counts["paid"] == 1
    db.session.expire_all()
    assert [p.amount for p in payments(db, statement)] == [statement.gross_total]
    assert re.fullmatch(r"alipay:\w+", payments(db, statement)[0].provider_ref)


def signed(alipay_keys, params: dict, **changes) -> dict:
    """A notification as the gateway would sign it, with `changes` (so only the server's
    checks of content, not of the signature, can refuse it)."""
    from tests.support.alipay_gateway import signed_notification

    plain = {k: v for k, v in params.items() if k not in ("sign", "sign_type")}
    plain.update(changes)
    return signed_notification(alipay_keys["alipay_key"], plain)


def nothing_recorded(db, statement) -> None:
    db.session.expire_all()
    assert payments(db, statement) == []
    assert statement.status == InvoiceStatus.ISSUED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GatewayEvent)) == 0


@pytest.mark.parametrize(
    "change",
    [
        {"total_amount": "1.00"},  # amount different from the statement
        {"trans_currency": "USD"},  # not CNY
        {"app_id": "2021009999999999"},  # another app's trade
        {"out_trade_no": "SH99999999ABCDEF"},  # not ours
    ],
    ids=["amount", "currency", "app_id", "unknown_out_trade_no"],
)
def test_signed_notification_with_wrong_content_changes_nothing(
    db, client, login, buyer, statement, alipay_account, alipay_url, alipay_keys, change
):
    attempt = start_qr(client, login, buyer, statement)
    params = customer_pays(alipay_url, attempt.out_trade_no)["params"]
    answer = notify(client, alipay_account, signed(alipay_keys, params, **change))
    assert answer.status_code == 200 and answer.text == "failure"
    nothing_recorded(db, statement)
    assert _attempt(attempt.id).status == OnlinePaymentStatus.PENDING
    # The genuine notification is still applied afterwards: nothing was lost.
    assert notify(client, alipay_account, params).text == "success"
    db.session.expire_all()
    assert [p.amount for p in payments(db, statement)] == [statement.gross_total]


def test_notification_signed_with_another_key_changes_nothing(
    db, client, login, buyer, statement, alipay_account, alipay_url
):
    from tests.support.alipay_gateway import new_key, signed_notification

    attempt = start_qr(client, login, buyer, statement)
    params = customer_pays(alipay_url, attempt.out_trade_no)["params"]
    plain = {k: v for k, v in params.items() if k not in ("sign", "sign_type")}
    forged = signed_notification(new_key(), plain)
    assert notify(client, alipay_account, forged).text == "failure"
    unsigned = dict(plain)
    assert notify(client, alipay_account, unsigned).text == "failure"
    nothing_recorded(db, statement)


def test_notification_to_another_labs_account_changes_nothing(
    db, client, login, buyer, statement, alipay_account, alipay_url, make_org, make_user
):
    """A notification posted to another lab's address is checked with that lab's keys."""
    from sharehub.accounts.models import OrgKind, Role
    from sharehub.billing.models import GatewayKind
    from tests.support.alipay_gateway import bare, new_key, public_pem

    other = make_org(kind=OrgKind.LAB, name="另一实验室")
    manager = make_user(other, role=Role.MANAGER)
    other_account = online.save_account(
        manager,
        other,
        GatewayKind.ALIPAY,
        "2021004100000002",
        True,
        {
            "app_private_key": alipay_account.secrets()["app_private_key"],
            "alipay_public_key": bare(public_pem(new_key())),
        },
    )
    db.session.commit()
    attempt = start_qr(client, login, buyer, statement)
    params = customer_pays(alipay_url, attempt.out_trade_no)["params"]
    assert notify(client, other_account, params).text == "failure"
    nothing_recorded(db, statement)


def test_closed_notification_after_paid_changes_nothing(
    db, client, login, buyer, statement, alipay_account, alipay_url, alipay_keys
):
    """Out of order: TRADE_CLOSED (a full refund closes the trade) or WAIT_BUYER_PAY coming
    after the payment leaves the payment as it is."""
    attempt = start_qr(client, login, buyer, statement)
    params = customer_pays(alipay_url, attempt.out_trade_no)["params"]
    closed = signed(alipay_keys, params, trade_status="TRADE_CLOSED")
    waiting = signed(alipay_keys, params, trade_status="WAIT_BUYER_PAY")
    finished = signed(alipay_keys, params, trade_status="TRADE_FINISHED")
    for body in (params, closed, waiting, finished, params, closed):
        assert notify(client, alipay_account, body).text == "success"
    db.session.expire_all()
    assert [p.amount for p in payments(db, statement)] == [statement.gross_total]
    assert _attempt(attempt.id).status == OnlinePaymentStatus.PAID
    assert statement.status == InvoiceStatus.PAID


def _trade(alipay_url, out_trade_no) -> dict:
    from tests.support.alipay import control

    return control(alipay_url, "/_test/trade", out_trade_no=out_trade_no)


def test_notification_after_the_statement_was_voided_refunds_it(
    db, client, login, buyer, statement, alipay_account, alipay_url, lab_manager
):
    from sharehub.billing import services
    from sharehub.billing.models import RefundStatus

    attempt = start_qr(client, login, buyer, statement)
    services.void(lab_manager, statement, "开错了")
    db.session.commit()
    params = customer_pays(alipay_url, attempt.out_trade_no)["params"]
    for _ in range(3):
        assert notify(client, alipay_account, params).text == "success"
    db.session.expire_all()
    (payment,) = payments(db, statement)
    assert payment.amount == statement.gross_total
    (refund,) = payment.refunds
    assert refund.amount == statement.gross_total
    assert refund.status == RefundStatus.SUCCEEDED  # sent after the commit, Alipay said yes
    trade = _trade(alipay_url, attempt.out_trade_no)
    assert trade["status"] == "TRADE_CLOSED"
    assert f"'RF{refund.id:010d}'" in trade["refunds"]


def test_notification_for_a_statement_paid_meanwhile_refunds_the_excess_in_part(
    db, client, login, buyer, statement, alipay_account, alipay_url, lab_manager
):
    """Paid in part by transfer while the QR code was open: Alipay's full amount is
    recorded and the part beyond what is owed goes back by a partial alipay.trade.refund."""
    from sharehub.billing import payments as billing_payments
    from sharehub.billing.models import RefundStatus
    from tests.support import clock

    attempt = start_qr(client, login, buyer, statement)
    billing_payments.record_bank_transfer(lab_manager, statement, 30000, clock.today(), "网银")
    db.session.commit()
    params = customer_pays(alipay_url, attempt.out_trade_no)["params"]
    assert notify(client, alipay_account, params).text == "success"
    assert notify(client, alipay_account, params).text == "success"
    db.session.expire_all()
    assert sorted(p.amount for p in payments(db, statement)) == sorted(
        [30000, statement.gross_total]
    )
    refunds = [r for p in payments(db, statement) for r in p.refunds]
    assert [(r.amount, r.status) for r in refunds] == [(30000, RefundStatus.SUCCEEDED)]
    assert statement.status == InvoiceStatus.PAID
    trade = _trade(alipay_url, attempt.out_trade_no)
    assert trade["status"] == "TRADE_SUCCESS"  # partly refunded, still open


def test_expired_code_is_closed_and_its_late_close_notice_changes_nothing(
    db, client, login, buyer, statement, alipay_account, alipay_url, alipay_keys
):
    from datetime import timedelta

    attempt = start_qr(client, login, buyer, statement)
    attempt.created_dt -= timedelta(minutes=30)
    attempt.expires_dt -= timedelta(minutes=30)
    db.session.commit()
    assert online.reconcile()["closed"] == 1
    assert _attempt(attempt.id).status == OnlinePaymentStatus.CLOSED
    # The stand-in no longer takes the closed code.
    assert "error" in customer_pays(alipay_url, attempt.out_trade_no)
    login(buyer)
    page = client.get(f"/payments/online/{attempt.id}")
    assert "online-qr" not in page.text and "online-closed" in page.text
    # A new attempt is a new order, not the closed one.
    again = client.post(f"/invoices/{statement.id}/online/alipay", data={"channel": "qr"})
    assert again.status_code == 303
    assert not again.headers["Location"].endswith(f"/{attempt.id}")
    client.post("/account/signout")
    nothing_recorded(db, statement)


def test_reconcile_leaves_an_unscanned_code_pending_until_it_expires(
    db, client, login, buyer, statement, alipay_account, alipay_url
):
    from datetime import timedelta

    attempt = start_qr(client, login, buyer, statement)
    attempt.created_dt -= timedelta(minutes=5)
    db.session.commit()
    assert online.reconcile() == {
        "paid": 0,
        "closed": 0,
        "pending": 1,
        "errors": 0,
        "refunds_settled": 0,
        "refunds_pending": 0,
        "refund_errors": 0,
    }
    assert _attempt(attempt.id).status == OnlinePaymentStatus.PENDING


def test_reconcile_command_runs_from_the_cli(
    app, db, client, login, buyer, statement, alipay_account, alipay_url
):
    from datetime import timedelta

    attempt = start_qr(client, login, buyer, statement)
    customer_pays(alipay_url, attempt.out_trade_no)
    attempt.created_dt -= timedelta(minutes=5)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["sharehub", "reconcile-payments"])
    assert result.exit_code == 0, result.output
    assert "paid: 1" in result.output
    db.session.expire_all()
    assert statement.status == InvoiceStatus.PAID


def test_computer_website_pay_redirects_to_a_signed_alipay_page(
    db, client, login, buyer, statement, alipay_account, alipay_url
):
    import urllib.request

    login(buyer)
    page = client.get(f"/invoices/{statement.id}")
    assert f"form-action 'self' {alipay_url}" in page.headers["Content-Security-Policy"]
    answer = client.post(f"/invoices/{statement.id}/online/alipay", data={"channel": "page"})
    assert answer.status_code == 303
    target = answer.headers["Location"]
    assert target.startswith(alipay_url + "/gateway.do?")
    assert "method=alipay.trade.page.pay" in target
    # The stand-in checks the signature of what the customer's browser brings.
    with urllib.request.urlopen(target, timeout=20) as shown:
        assert statement_amount(statement) in shown.read().decode()


def statement_amount(statement) -> str:
    return f"{statement.gross_total // 100}.{statement.gross_total % 100:02d}"


def test_a_statement_shows_the_methods_its_lab_accepts(
    db, client, login, buyer, statement, alipay_account, alipay_url, stripe_keys, lab_manager
):
    login(buyer)
    page = client.get(f"/invoices/{statement.id}").text
    assert 'id="pay-alipay"' in page and 'id="online-payment"' in page  # Alipay and Stripe
    alipay_account.enabled = False
    db.session.commit()
    page = client.get(f"/invoices/{statement.id}").text
    assert 'id="pay-alipay"' not in page and 'id="online-payment"' in page
    refused = client.post(f"/invoices/{statement.id}/online/alipay", data={"channel": "qr"})
    assert refused.status_code == 409
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OnlinePayment)) == 0


def test_check_consistency_finds_a_paid_attempt_without_its_payment_and_a_payment_without_event(
    db, client, login, buyer, statement, alipay_account, alipay_url
):
    from sharehub.admin import consistency

    attempt = start_qr(client, login, buyer, statement)
    params = customer_pays(alipay_url, attempt.out_trade_no)["params"]
    assert notify(client, alipay_account, params).text == "success"
    assert consistency.online_payments_without_their_payment() == []
    assert consistency.gateway_payments_without_event() == []
    attempt = _attempt(attempt.id)
    payment_id = attempt.payment_id
    db.session.execute(sa.delete(GatewayEvent))
    attempt.payment_id = None
    db.session.commit()
    assert consistency.gateway_payments_without_event() == [payment_id]
    assert [
        row["online_payment_id"] for row in consistency.online_payments_without_their_payment()
    ] == [attempt.id]


def test_only_the_customer_starts_a_payment_and_sees_its_page(
    db,
    client,
    login,
    buyer,
    statement,
    alipay_account,
    alipay_url,
    lab,
    lab_manager,
    make_org,
    make_user,
):
    from sharehub.accounts.models import OrgKind, Role

    attempt = start_qr(client, login, buyer, statement)
    urls = [f"/payments/online/{attempt.id}", f"/payments/online/{attempt.id}/status"]
    start = f"/invoices/{statement.id}/online/alipay"
    people = {
        "another enterprise": (make_user(make_org()), 404),
        "another lab's manager": (make_user(make_org(kind=OrgKind.LAB), role=Role.MANAGER), 404),
        "the lab's plain staff": (make_user(lab, role=Role.MEMBER), 404),
        "a regulator": (make_user(make_org(kind=OrgKind.AUTHORITY)), 404),
        "the lab's manager": (lab_manager, 403),  # sees the statement, does not pay it
    }
    count = lambda: db.session.scalar(sa.select(sa.func.count()).select_from(OnlinePayment))  # noqa: E731
    for name, (user, start_status) in people.items():
        client.post("/account/signout")
        login(user)
        assert client.post(start, data={"channel": "qr"}).status_code == start_status, name
        for url in urls:
            if start_status == 404:
                assert client.get(url).status_code == 404, (name, url)
    client.post("/account/signout")
    assert client.post(start, data={"channel": "qr"}).status_code == 302
    for url in urls:
        answer = client.get(url)
        assert answer.status_code == 302 and "/account/signin" in answer.headers["Location"]
    assert client.post("/webhooks/alipay/999999", data={"a": "b"}).status_code == 404
    assert client.post(f"/webhooks/wechat_pay/{alipay_account.id}", data={}).status_code == 404
    assert count() == 1
    login(buyer)
    for channel in ("", "bank", "<script>"):
        refused = client.post(start, data={"channel": channel})
        assert refused.status_code in (303, 400), channel
    assert client.post(f"/invoices/{statement.id}/online/paypal", data={}).status_code == 400
    nothing_recorded(db, statement)
