"""Language, security headers, CSRF, error pages and the migration chain."""

import re

import pytest
import sqlalchemy as sa

from sharehub.core.security import CSP


def test_accept_language_decides_the_first_visit(client, db):
    assert 'lang="zh-CN"' in client.get("/").get_data(as_text=True)
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert 'lang="en"' in english and "How it works" in english
    chinese = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    html = chinese.get_data(as_text=True)
    assert 'lang="zh-CN"' in html and "服务流程" in html and "How it works" not in html


def test_language_choice_is_remembered(app, db):
    client = app.test_client()
    response = client.post("/lang?next=/account/signin", data={"lang": "en"})
    assert response.status_code == 302 and response.headers["Location"] == "/account/signin"
    page = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert 'lang="en"' in page
    # a new browser session still has the cookie
    fresh = app.test_client()
    fresh.set_cookie("sharehub_lang", "en")
    assert 'lang="en"' in fresh.get("/", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True
    )


def test_unknown_language_is_refused(client, db):
    assert client.post("/lang", data={"lang": "xx"}).status_code == 400
    assert 'lang="zh-CN"' in client.get("/").get_data(as_text=True)


def test_language_choice_is_saved_in_the_profile(client, db, make_org, make_user, login):
    from sharehub.accounts.models import User

    user = make_user(make_org(), locale="zh_CN")
    login(user)
    client.post("/lang", data={"lang": "en"})
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "en"


def test_security_headers_and_cookies(client, db, make_org, make_user):
    response = client.get("/")
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    user = make_user(make_org())
    response = client.post(
        "/account/signin", data={"email": user.email, "password": "correct horse battery"}
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_satisfy_the_csp_no_inline_code_or_external_urls(client, db, platform_admin, login):
    login(platform_admin)
    for path in ("/", "/account/", "/admin/", "/admin/audit", "/account/organisation"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert " style=" not in html and "<style" not in html, path
        assert not re.search(r"(src|href)=\"(https?:)?//", html), path


def test_csrf_is_enforced(app, db, make_org, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        user = make_user(make_org())
        response = client.post(
            "/account/signin", data={"email": user.email, "password": "correct horse battery"}
        )
        assert response.status_code == 400
        page = client.get("/account/signin").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post(
            "/account/signin",
            data={"email": user.email, "password": "correct horse battery", "csrf_token": token},
        )
        assert response.status_code == 302
        assert client.post("/lang", data={"lang": "en"}).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_not_found_page_in_the_users_language(client, db):
    response = client.get("/no/such/page", headers={"Accept-Language": "en"})
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "页面" in response.get_data(as_text=True)


def test_health(client, db):
    assert client.get("/healthz").get_json() == {"status": "ok"}


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_mail_template_renders(app, db, locale):
    from flask import render_template
    from flask_babel import force_locale

    from sharehub.accounts.models import Organisation, User

    user, org = User(name="王", email="w@example.cn"), Organisation(name="实验室")
    with app.test_request_context(), force_locale(locale):
        for name in (
            "verify_email",
            "reset_password",
            "lab_admitted",
            "lab_rejected",
            "invitation",
        ):
            text = render_template(
                f"mail/{name}.txt",
                user=user,
                org=org,
                link="http://x/",
                reason="r",
                inviter=user,
                role="member",
            )
            assert "http://x/" in text or "r" in text


def test_migrations_go_up_and_down_on_an_empty_database(app, postgres, tmp_path):
    """One chain: upgrade an empty database to head, downgrade to base, upgrade again."""
    from flask_migrate import downgrade, upgrade

    from config import TestConfig
    from sharehub import create_app

    if postgres is not None:
        url = postgres.create_database("sharehub_migrations")
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("TEST_DATABASE_URL given: no second database to migrate")
    else:
        url = f"sqlite:///{tmp_path / 'migrate.db'}"

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    other = create_app(Config)
    with other.app_context():
        from sharehub.extensions import db

        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"user", "organisation", "membership", "audit_entry", "outbox_message"} <= tables
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()


def test_models_and_migrations_agree(app, db):
    """Autogenerate finds nothing to do: every model change has its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from sharehub.catalog.search import SCHEMA_OBJECTS
    from sharehub.extensions import db as _db

    context = MigrationContext.configure(
        db.session.connection(),
        opts={"include_object": lambda obj, name, *args: name not in SCHEMA_OBJECTS},
    )
    diff = compare_metadata(context, _db.metadata)
    assert diff == []


def test_create_admin_command_makes_the_platform_organisation_once(app, db):
    from sharehub.accounts.models import User
    from tests.support.accounts import make_credit_code

    runner = app.test_cli_runner()
    args = [
        "sharehub",
        "create-admin",
        "--email",
        "Ops@Example.cn",
        "--name",
        "运维",
        "--password",
        "ops-long-secret",
    ]
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and "--org-credit-code" in result.output
    result = runner.invoke(args=[*args, "--org-credit-code", make_credit_code(5150)])
    assert result.exit_code == 0, result.output
    admin = db.session.scalar(sa.select(User).where(User.email == "ops@example.cn"))
    assert admin.is_platform_admin and admin.is_verified
    result = runner.invoke(args=[*args[:3], "second@example.cn", *args[4:]])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=args)
    assert "already has an account" in result.output


def test_the_language_chosen_before_signing_in_stays_and_is_offered_for_the_profile(
    client, db, make_org, make_user, login
):
    from sharehub.accounts.models import User

    user = make_user(make_org(), locale="zh_CN")
    client.post("/lang", data={"lang": "en"})  # chosen on the sign-in page
    login(user)
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html  # the session keeps the chosen language
    offer = html[html.index('id="language-offer"') :]
    offer = offer[: offer.index("</form>")]
    assert "your profile says 中文" in offer
    assert 'name="lang" value="en"' in offer and "Make English my profile" in offer
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "zh_CN"  # nothing changed without a word
    assert 'id="language-offer"' not in client.get("/").get_data(as_text=True)  # said once
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)
    # Accepting the offer makes it the profile's language.
    client.post("/lang", data={"lang": "en"})
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "en"


def test_the_profile_language_rules_when_nothing_was_chosen_or_it_agrees(
    client, db, make_org, make_user, login
):
    user = make_user(make_org(), locale="zh_CN")
    login(user)
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and 'id="language-offer"' not in html
    client.post("/account/signout")
    client.post("/lang", data={"lang": "zh_CN"})
    login(user)
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and 'id="language-offer"' not in html


def _navigation(html: str) -> tuple[str, str]:
    """The bar outside the collapse (always on screen) and the folded part."""
    nav = html[html.index('<nav class="navbar') : html.index("</nav>")]
    fold = nav.index('id="mainnav"')
    return nav[:fold], nav[fold:]


def test_the_language_switch_and_user_menu_stay_outside_the_folded_navigation(
    client, db, make_org, make_user, platform_admin, login
):
    from sharehub.accounts.models import OrgKind

    regulator = make_user(make_org(kind=OrgKind.AUTHORITY, name="市场监督管理局"))
    buyer = make_user(make_org(name="采购企业"))
    for user, expand, menu in (
        (platform_admin, "navbar-expand-xxl", 'id="admin-menu"'),
        (regulator, "navbar-expand-xl", 'id="supervision-menu"'),
        (buyer, "navbar-expand-xl", None),
    ):
        login(user)
        html = client.get("/").get_data(as_text=True)
        bar, folded = _navigation(html)
        assert expand in bar
        assert 'id="usermenu"' in bar and 'name="lang" value="en"' in bar
        assert 'name="lang"' not in folded and 'id="usermenu"' not in folded
        if menu:  # the many administration pages are grouped in one dropdown
            assert menu in folded
            group = folded[folded.index(menu) :]
            group = group[: group.index("</ul>")]
            assert group.count('class="dropdown-item"') >= 3
            assert folded.count('class="nav-link"') <= 7  # statistics, assessment, catalogue…
        client.post("/account/signout")
