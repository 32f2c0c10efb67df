"""Signing out, changing or resetting the password end the session on the server: a copy
of the session cookie or of the remember-me cookie taken before no longer signs anyone in."""

import re

import pytest

from tests.support.accounts import PASSWORD

COOKIES = ("session", "remember_token")


def _signed_in_cookies(app, user, password=PASSWORD) -> dict[str, str]:
    device = app.test_client()
    response = device.post(
        "/account/signin", data={"email": user.email, "password": password, "remember": "y"}
    )
    assert response.status_code == 302
    cookies = {name: device.get_cookie(name).value for name in COOKIES}
    assert all(cookies.values())
    return device, cookies


def _replay(app, name: str, value: str) -> int:
    """A fresh browser that only holds the stolen cookie opens the profile page."""
    thief = app.test_client()
    thief.set_cookie(name, value, domain="localhost")
    return thief.get("/account/").status_code


@pytest.mark.parametrize("cookie", COOKIES)
def test_cookies_work_while_signed_in(app, db, make_org, make_user, cookie):
    device, cookies = _signed_in_cookies(app, make_user(make_org()))
    assert _replay(app, cookie, cookies[cookie]) == 200


@pytest.mark.parametrize("cookie", COOKIES)
def test_cookies_replayed_after_sign_out_are_refused(app, db, make_org, make_user, cookie):
    user = make_user(make_org())
    device, cookies = _signed_in_cookies(app, user)
    assert device.post("/account/signout").status_code == 302
    assert device.get("/account/").status_code == 302
    assert _replay(app, cookie, cookies[cookie]) == 302
    # Signing in again works, with new cookies.
    device, fresh = _signed_in_cookies(app, user)
    assert _replay(app, cookie, fresh[cookie]) == 200


@pytest.mark.parametrize("cookie", COOKIES)
def test_cookies_replayed_after_password_change_are_refused(app, db, make_org, make_user, cookie):
    user = make_user(make_org())
    _other, stolen = _signed_in_cookies(app, user)
    device, _cookies = _signed_in_cookies(app, user)
    response = device.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "password": "brand-new-secret",
            "password2": "brand-new-secret",
        },
    )
    assert response.status_code == 302
    assert device.get("/account/").status_code == 200
    assert _replay(app, cookie, stolen[cookie]) == 302


@pytest.mark.parametrize("cookie", COOKIES)
def test_cookies_replayed_after_password_reset_are_refused(
    app, db, make_org, make_user, mailbox, cookie
):
    user = make_user(make_org(), email=f"reset-{cookie}@example.cn")
    _device, stolen = _signed_in_cookies(app, user)
    anonymous = app.test_client()
    anonymous.post("/account/forgot", data={"email": user.email})
    link = mailbox.link_in_last(user.email, "/account/reset/")
    link = re.sub(r"^https?://[^/]+", "", link)
    new = {"password": "another-long-secret", "password2": "another-long-secret"}
    assert anonymous.post(link, data=new).status_code == 302
    assert _replay(app, cookie, stolen[cookie]) == 302
