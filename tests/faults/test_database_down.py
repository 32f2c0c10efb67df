"""The database unreachable (stopped, restarting, network gone): every page answers 503 with
Retry-After and a clear message, also for a signed-in user whose page cannot even load the
user, never a 500."""

from __future__ import annotations

import pytest

from tests.support.postgres import free_port


@pytest.fixture
def unreachable(tmp_path):
    from config import TestConfig
    from sharehub import create_app

    class Config(TestConfig):
        # A loopback port where nothing listens: every connection attempt is refused.
        SQLALCHEMY_DATABASE_URI = f"postgresql+psycopg://sharehub@127.0.0.1:{free_port()}/none"
        STORAGE_DIR = str(tmp_path)

    app = create_app(Config)
    yield app
    with app.app_context():
        from sharehub.extensions import db

        db.engine.dispose()


def test_anonymous_visitor_gets_the_503_page(unreachable):
    response = unreachable.test_client().get("/catalog?q=光谱")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "未保存" in response.get_data(as_text=True)  # Chinese by default
    english = unreachable.test_client().get("/catalog", headers={"Accept-Language": "en"})
    assert "Nothing was saved" in english.get_data(as_text=True)


def test_signed_in_user_whose_account_cannot_be_loaded_gets_503_too(unreachable):
    for path in ("/", "/bookings", "/invoices/1"):
        client = unreachable.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = "1:0"  # id:session version
            session["_fresh"] = True
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.headers["Retry-After"] == "30"
        text = response.get_data(as_text=True)
        # The error page in Chinese (or, when even that needs the database, the plain text
        # in both languages).
        assert "未保存" in text
