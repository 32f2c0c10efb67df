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
    client.get("/logout")
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
    client.get("/logout")

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
