"""Email confirmation, sign-in/out, password reset and change, profile."""

import re

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import User
from sharehub.core.models import AuditEntry
from tests.support.accounts import PASSWORD

EN = {"Accept-Language": "en"}


def path_of(link: str) -> str:
    return re.sub(r"^https?://[^/]+", "", link)


def test_unverified_user_cannot_sign_in_until_the_emailed_link_is_followed(
    client, db, make_org, make_user, mailbox
):
    user = make_user(make_org(), verified=False, email="new@example.cn")
    response = client.post(
        "/account/signin", headers=EN, data={"email": "new@example.cn", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "Confirm your email address first" in response.get_data(as_text=True)

    client.post("/account/verify", data={"email": "new@example.cn"})
    link = mailbox.link_in_last("new@example.cn", "/account/verify/")
    response = client.get(path_of(link))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).is_verified
    response = client.post(
        "/account/signin", data={"email": "NEW@example.cn", "password": PASSWORD}
    )
    assert response.status_code == 302


def test_tampered_or_expired_verification_link_is_refused(
    client, db, make_org, make_user, app, monkeypatch
):
    from sharehub.accounts.tokens import make_verify_token

    user = make_user(make_org(), verified=False)
    response = client.get("/account/verify/garbage", headers=EN)
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)
    token = make_verify_token(user)
    monkeypatch.setitem(app.config, "EMAIL_TOKEN_MAX_AGE", -1)
    response = client.get(f"/account/verify/{token}", headers=EN)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(User, user.id).is_verified


def test_wrong_password_is_refused_and_audited(client, db, make_org, make_user):
    user = make_user(make_org())
    response = client.post(
        "/account/signin", headers=EN, data={"email": user.email, "password": "wrong-password!"}
    )
    assert response.status_code == 400
    assert "wrong" in response.get_data(as_text=True)
    actions = db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.object_id == user.id)
    ).all()
    assert "user.signin_failed" in actions


def test_sign_in_and_out(client, db, make_org, make_user, login):
    user = make_user(make_org())
    login(user)
    assert client.get("/account/").status_code == 200
    client.post("/account/signout")
    response = client.get("/account/")
    assert response.status_code == 302 and "/account/signin" in response.headers["Location"]


def test_sign_in_redirects_only_to_same_site_paths(client, db, make_org, make_user):
    user = make_user(make_org())
    response = client.post(
        "/account/signin?next=https://evil.example/x",
        data={"email": user.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/"
    client.post("/account/signout")
    response = client.post(
        "/account/signin?next=/account/password", data={"email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/account/password"


def test_password_reset_link_works_once(client, db, make_org, make_user, mailbox):
    user = make_user(make_org(), email="forgot@example.cn")
    response = client.post("/account/forgot", data={"email": "forgot@example.cn"})
    assert response.status_code == 302
    link = path_of(mailbox.link_in_last("forgot@example.cn", "/account/reset/"))
    assert client.get(link).status_code == 200
    new = {"password": "another-long-secret", "password2": "another-long-secret"}
    assert client.post(link, data=new).status_code == 302
    response = client.post(link, data=new, headers=EN)
    assert response.status_code == 400
    assert "already been used" in response.get_data(as_text=True)
    response = client.post(
        "/account/signin", data={"email": user.email, "password": "another-long-secret"}
    )
    assert response.status_code == 302


def test_reset_for_unknown_address_says_the_same_and_sends_nothing(client, db, mailbox):
    response = client.post("/account/forgot", data={"email": "nobody@example.cn"})
    assert response.status_code == 302
    assert mailbox.to("nobody@example.cn") == []


def test_expired_reset_link(client, db, make_org, make_user, app, monkeypatch):
    from sharehub.accounts.tokens import make_reset_token

    user = make_user(make_org())
    token = make_reset_token(user)
    monkeypatch.setitem(app.config, "RESET_TOKEN_MAX_AGE", -1)
    response = client.get(f"/account/reset/{token}", headers=EN)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_change_password_signs_out_other_sessions(app, db, make_org, make_user, login, client):
    user = make_user(make_org())
    other_device = app.test_client()
    other_device.post("/account/signin", data={"email": user.email, "password": PASSWORD})
    assert other_device.get("/account/").status_code == 200
    login(user)
    response = client.post(
        "/account/password",
        headers=EN,
        data={
            "current_password": "not-it-at-all",
            "password": "brand-new-secret",
            "password2": "brand-new-secret",
        },
    )
    assert response.status_code == 400
    assert "current password is wrong" in response.get_data(as_text=True)
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "password": "brand-new-secret",
            "password2": "brand-new-secret",
        },
    )
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200
    assert other_device.get("/account/").status_code == 302


def test_profile_update_and_bad_values(client, db, make_org, make_user, login):
    user = make_user(make_org())
    login(user)
    response = client.post(
        "/account/",
        data={"name": "王伟", "phone": "13912345678", "locale": "en", "timezone": "Europe/Berlin"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.name, user.locale, user.timezone) == ("王伟", "en", "Europe/Berlin")
    for bad in ({"locale": "xx"}, {"timezone": "Mars/Olympus"}, {"phone": "call me"}):
        data = {"name": "王伟", "phone": "", "locale": "en", "timezone": "Asia/Shanghai", **bad}
        assert client.post("/account/", data=data).status_code == 400
    db.session.expire_all()
    assert db.session.get(User, user.id).timezone == "Europe/Berlin"


@pytest.fixture
def real_limits(app, monkeypatch):
    from config import Config
    from sharehub.extensions import limiter

    monkeypatch.setitem(app.config, "SIGNIN_RATE_LIMIT", Config.SIGNIN_RATE_LIMIT)
    monkeypatch.setitem(app.config, "RESET_RATE_LIMIT", Config.RESET_RATE_LIMIT)
    limiter.reset()
    yield
    limiter.reset()


def test_sign_in_is_rate_limited(client, db, make_org, make_user, real_limits):
    user = make_user(make_org())
    codes = [
        client.post(
            "/account/signin", data={"email": user.email, "password": "bad-one"}, headers=EN
        ).status_code
        for _ in range(12)
    ]
    assert codes[:10] == [400] * 10
    assert codes[10:] == [429, 429]


def test_reset_requests_are_rate_limited(client, db, real_limits):
    codes = [
        client.post("/account/forgot", data={"email": "x@example.cn"}).status_code for _ in range(7)
    ]
    assert codes[:5] == [302] * 5 and codes[5:] == [429, 429]


def test_disabled_user_cannot_sign_in(client, db, make_org, make_user):
    user = make_user(make_org())
    user.disabled = True
    db.session.commit()
    response = client.post(
        "/account/signin", headers=EN, data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "disabled" in response.get_data(as_text=True)
