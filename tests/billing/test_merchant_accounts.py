"""A lab's own merchant accounts: only its owners and managers see or change them; keys are
sealed and never shown again (the page shows "set, ends …1234" at most), nor written to
pages, API answers, the audit log or the logs; "test the connection" asks Alipay (the
stand-in) a harmless question."""

from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind, Role
from sharehub.billing.models import MerchantAccount
from sharehub.core.models import AuditEntry
from tests.support.alipay_gateway import bare, new_key, private_pem, public_pem


def form(keys, **changes) -> dict:
    data = {
        "merchant_id": keys["app_id"],
        "app_private_key": keys["app_private_key"],
        "alipay_public_key": keys["alipay_public_key"],
        "enabled": "y",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def account_of(db, lab) -> MerchantAccount | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(MerchantAccount).where(MerchantAccount.lab_id == lab.id))


def stored(db, lab) -> tuple:
    """Everything stored about the lab's account, the raw sealed column included."""
    row = db.session.execute(
        sa.text(
            "SELECT merchant_id, enabled, credentials, hints FROM merchant_account "
            "WHERE lab_id = :lab"
        ),
        {"lab": lab.id},
    ).first()
    return tuple(row) if row else None


def audit_count(db) -> int:
    """Entries about merchant accounts (signing in is audited too)."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action.like("merchant_account.%"))
    )


def test_a_manager_enters_keys_that_are_sealed_and_never_shown_again(
    db, client, login, lab, lab_manager, alipay_keys, alipay_url
):
    login(lab_manager)
    answer = client.post(f"/labs/{lab.id}/payment-accounts/alipay", data=form(alipay_keys))
    assert answer.status_code == 302
    account = account_of(db, lab)
    assert account.enabled and account.merchant_id == alipay_keys["app_id"]
    assert account.secrets()["app_private_key"] == alipay_keys["app_private_key"]
    merchant_id, _enabled, raw, hints = stored(db, lab)
    assert alipay_keys["app_private_key"][40:80] not in raw  # sealed in the database
    page = client.get(f"/labs/{lab.id}/payment-accounts").text
    tail = alipay_keys["app_private_key"][-4:]
    assert f"…{tail}" in page
    assert alipay_keys["app_private_key"][:-4][-40:] not in page
    assert alipay_keys["alipay_public_key"][20:60] not in page
    # Saving again without keys keeps them; switching off keeps them too.
    client.post(
        f"/labs/{lab.id}/payment-accounts/alipay",
        data=form(alipay_keys, app_private_key="", alipay_public_key="", enabled=None),
    )
    account = account_of(db, lab)
    assert not account.enabled
    assert account.secrets()["alipay_public_key"] == alipay_keys["alipay_public_key"]
    entries = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "merchant_account.saved")
    ).all()
    assert [e.data["changed"] for e in entries] == [["app_private_key", "alipay_public_key"], []]


@pytest.mark.parametrize(
    ("changes", "field_message"),
    [
        ({"merchant_id": ""}, "Give the account"),
        ({"app_private_key": ""}, "Enter every key"),
    ],
    ids=["no_app_id", "enabled_without_key"],
)
def test_bad_settings_are_refused_and_store_nothing(
    db, client, login, lab, lab_manager, alipay_keys, alipay_url, changes, field_message, english
):
    login(lab_manager)
    before = audit_count(db)
    answer = client.post(
        f"/labs/{lab.id}/payment-accounts/alipay", data=form(alipay_keys, **changes)
    )
    assert answer.status_code == 400
    assert field_message in answer.text
    assert alipay_keys["alipay_public_key"][20:60] not in answer.text  # not sent back
    assert stored(db, lab) is None and audit_count(db) == before


def _people(lab, make_org, make_user, platform_admin):
    other_lab = make_org(kind=OrgKind.LAB, name="别的实验室")
    return {
        "other lab's manager": make_user(other_lab, role=Role.MANAGER),
        "lab's plain staff": make_user(lab, role=Role.MEMBER),
        "enterprise user": make_user(make_org()),
        "regulator": make_user(make_org(kind=OrgKind.AUTHORITY)),
        "platform administrator": platform_admin,
    }


def test_only_the_labs_owners_and_managers_see_or_change_its_accounts(
    db,
    client,
    login,
    lab,
    lab_manager,
    make_org,
    make_user,
    platform_admin,
    alipay_account,
    alipay_keys,
):
    owner = make_user(lab, role=Role.OWNER)
    before, audits = stored(db, lab), audit_count(db)
    attempts = [
        ("get", f"/labs/{lab.id}/payment-accounts", None),
        (
            "post",
            f"/labs/{lab.id}/payment-accounts/alipay",
            form(alipay_keys, merchant_id="2021000000000666", enabled=None),
        ),
        ("post", f"/labs/{lab.id}/payment-accounts/alipay/test", {}),
    ]
    for name, user in _people(lab, make_org, make_user, platform_admin).items():
        client.post("/account/signout")
        login(user)
        for method, url, data in attempts:
            answer = getattr(client, method)(url, data=data)
            assert answer.status_code == 404, (name, url)
            assert alipay_keys["app_id"] not in answer.text, name
    client.post("/account/signout")
    for method, url, data in attempts:
        answer = getattr(client, method)(url, data=data)
        assert answer.status_code == 302 and "/account/signin" in answer.headers["Location"]
    assert stored(db, lab) == before and audit_count(db) == audits
    login(owner)
    assert client.get(f"/labs/{lab.id}/payment-accounts").status_code == 200


def test_connection_test_tells_right_keys_from_wrong_ones(
    db, client, login, lab, lab_manager, alipay_keys, alipay_url, english
):
    login(lab_manager)
    client.post(f"/labs/{lab.id}/payment-accounts/alipay", data=form(alipay_keys))
    answer = client.post(f"/labs/{lab.id}/payment-accounts/alipay/test", follow_redirects=True)
    assert "Alipay accepted the keys." in answer.text
    assert account_of(db, lab).check_ok is True

    wrong_app_key = bare(private_pem(new_key()))
    client.post(
        f"/labs/{lab.id}/payment-accounts/alipay",
        data=form(alipay_keys, app_private_key=wrong_app_key),
    )
    assert account_of(db, lab).check_ok is None  # new keys: not tested yet
    answer = client.post(f"/labs/{lab.id}/payment-accounts/alipay/test", follow_redirects=True)
    assert "check the app private key" in answer.text
    assert account_of(db, lab).check_ok is False

    wrong_alipay_key = bare(public_pem(new_key()))
    client.post(
        f"/labs/{lab.id}/payment-accounts/alipay",
        data=form(alipay_keys, alipay_public_key=wrong_alipay_key),
    )
    answer = client.post(f"/labs/{lab.id}/payment-accounts/alipay/test", follow_redirects=True)
    assert "not signed with the Alipay public key entered" in answer.text

    client.post(
        f"/labs/{lab.id}/payment-accounts/alipay",
        data=form(alipay_keys, merchant_id="2021000000000777"),
    )
    answer = client.post(f"/labs/{lab.id}/payment-accounts/alipay/test", follow_redirects=True)
    assert "Alipay does not know this APPID." in answer.text


def test_keys_appear_nowhere_the_lab_the_customer_or_the_logs_see(
    app,
    db,
    client,
    login,
    lab,
    lab_manager,
    booked,
    alipay_url,
    alipay_keys,
    caplog,
):
    """Distinctive key material, then every page, API answer, audit entry and log line of
    a payment's life (saving, testing with a wrong key, paying, a forged notification)."""
    from sharehub.api.services import create_token
    from tests.support.alipay import customer_pays
    from tests.support.alipay_gateway import signed_notification
    from tests.support.billing import issued_for

    caplog.set_level(logging.DEBUG)
    secrets = [
        alipay_keys["app_private_key"][i : i + 24]
        for i in range(0, len(alipay_keys["app_private_key"]) - 24, 200)
    ] + [alipay_keys["alipay_public_key"][60:84]]
    wrong = bare(public_pem(new_key()))
    secrets.append(wrong[60:84])
    seen: list[str] = []

    login(lab_manager)
    seen.append(client.post(f"/labs/{lab.id}/payment-accounts/alipay", data=form(alipay_keys)).text)
    seen.append(client.get(f"/labs/{lab.id}/payment-accounts").text)
    client.post(
        f"/labs/{lab.id}/payment-accounts/alipay",
        data=form(alipay_keys, alipay_public_key=wrong, app_private_key=""),
    )
    seen.append(
        client.post(f"/labs/{lab.id}/payment-accounts/alipay/test", follow_redirects=True).text
    )
    client.post(f"/labs/{lab.id}/payment-accounts/alipay", data=form(alipay_keys))
    seen.append(
        client.post(f"/labs/{lab.id}/payment-accounts/alipay/test", follow_redirects=True).text
    )
    account = account_of(db, lab)
    statement = issued_for(lab_manager, booked)
    db.session.commit()
    seen.append(client.get(f"/invoices/{statement.id}").text)
    client.post("/account/signout")

    buyer = booked.customer_user
    login(buyer)
    seen.append(client.get(f"/invoices/{statement.id}").text)
    started = client.post(f"/invoices/{statement.id}/online/alipay", data={"channel": "qr"})
    attempt_url = started.headers["Location"]
    seen.append(client.get(attempt_url).text)
    seen.append(client.get(attempt_url + "/status").text)
    params = customer_pays(alipay_url, _out_trade_no(db))["params"]
    forged = signed_notification(new_key(), {k: v for k, v in params.items() if k != "sign"})
    seen.append(client.post(f"/webhooks/alipay/{account.id}", data=forged).text)
    seen.append(client.post(f"/webhooks/alipay/{account.id}", data=params).text)
    seen.append(client.get(attempt_url).text)
    seen.append(client.get(f"/invoices/{statement.id}").text)
    _token, plain = create_token(buyer, statement.customer_org, "ERP", ["invoices:read"], 30)
    db.session.commit()
    headers = {"Authorization": f"Bearer {plain}"}
    seen.append(client.get("/api/v1/invoices", headers=headers).text)
    seen.append(client.get(f"/api/v1/invoices/{statement.id}", headers=headers).text)

    audit = db.session.execute(sa.text("SELECT * FROM audit_entry")).all()
    seen.append(json.dumps([list(map(str, row)) for row in audit], ensure_ascii=False))
    seen.append(caplog.text)
    seen.append(repr(account))
    text = "\n".join(seen)
    assert "success" in text and "failure" in text  # the notifications were answered
    for secret in secrets:
        assert secret not in text


def _out_trade_no(db) -> str:
    from sharehub.billing.models import OnlinePayment

    return db.session.scalar(
        sa.select(OnlinePayment.out_trade_no).order_by(OnlinePayment.id.desc())
    )
