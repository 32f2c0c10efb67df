"""The database connection drops after the view answered, while the request's session is
closed (teardown): the answer is the 503 page in the user's language, as on every other
path, never the server's empty 500; and the app serves the next request normally.

In-process on both databases (tests/support/drop.py drops the connection at teardown), and
under gunicorn on PostgreSQL with a server process really terminated."""

from __future__ import annotations

import pytest

from tests.support.backend import BACKEND
from tests.support.drop import drop_connection


@pytest.fixture
def dropping_app(app, database_url, tmp_path):
    """An app of its own on the test database (`app` migrated it), with no test
    transaction around it, so each request ends its session as in production; requests
    with `X-Fault: drop_at_teardown` lose their connection when they end."""
    from flask import request

    from config import TestConfig
    from sharehub import create_app
    from sharehub.core.tx import commit

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        STORAGE_DIR = str(tmp_path)

    own = create_app(Config)

    @own.teardown_request
    def _drop(exc):
        if request.headers.get("X-Fault") == "drop_at_teardown":
            drop_connection(request.environ)

    @own.route("/_test/saved", methods=["POST"])
    def saved():
        commit()  # the request's change is committed; the answer is being finished
        return "saved"

    yield own
    with own.app_context():
        from sharehub.extensions import db

        db.engine.dispose()


def test_a_page_whose_connection_drops_at_teardown_answers_503(dropping_app):
    client = dropping_app.test_client()
    fault = {"X-Fault": "drop_at_teardown"}
    chinese = client.get("/catalog", headers=fault)  # a read: no search to record
    assert chinese.status_code == 503
    assert chinese.headers["Retry-After"] == "30"
    assert "未保存" in chinese.get_data(as_text=True)  # the page, in Chinese by default
    assert "<html" in chinese.get_data(as_text=True)
    english = client.get("/catalog", headers={**fault, "Accept-Language": "en"})
    assert english.status_code == 503
    assert "Nothing was saved" in english.get_data(as_text=True)
    # The broken session was dropped with its connection: the next request is served.
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/catalog").status_code == 200


def test_after_a_commit_the_503_says_the_change_was_saved(dropping_app):
    client = dropping_app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = "x"
    dropping_app.config["WTF_CSRF_ENABLED"] = False
    answer = client.post(
        "/_test/saved", headers={"X-Fault": "drop_at_teardown", "Accept-Language": "en"}
    )
    assert answer.status_code == 503
    text = answer.get_data(as_text=True)
    assert "Your change was saved" in text and "Nothing was saved" not in text
    assert client.post("/_test/saved").get_data(as_text=True) == "saved"


@pytest.mark.skipif(BACKEND != "postgres", reason="terminates a PostgreSQL server process")
def test_under_gunicorn_a_dropped_connection_at_teardown_answers_503(faulty):
    browser = faulty.browser(faulty.customers[0])
    status, head, page = browser.request(
        f"/catalog/{faulty.listing_id}", headers={"X-Fault": "drop_at_teardown"}
    )
    assert status == 503, (status, page[:300])
    assert head["Retry-After"] == "30"
    assert "Nothing was saved" in page  # the customer's language (English)
    for _ in range(4):  # both workers serve on
        status, _, page = browser.request(f"/catalog/{faulty.listing_id}")
        assert status == 200 and "故障测试光谱仪" in page
