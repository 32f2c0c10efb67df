"""Fixtures of the API tests: two enterprises and a lab, tokens, and a JSON client."""

from __future__ import annotations

import pytest

from sharehub.api.models import SCOPES

ALL_SCOPES = sorted(SCOPES)


@pytest.fixture
def firm(make_org, make_user):
    org = make_org(name="苏州精密制造有限公司", name_en="Suzhou Precision")
    return org, make_user(org, email="buyer@example.cn")


@pytest.fixture
def rival(make_org, make_user):
    """Another enterprise: its tokens must never see or change the first one's data."""
    org = make_org(name="无锡另一家企业", name_en="Other Firm")
    return org, make_user(org, email="other@example.cn")


@pytest.fixture
def make_token(db):
    from sharehub.api.services import create_token

    def factory(user, org, scopes=ALL_SCOPES, days=90, name="ERP"):
        _token, plain = create_token(user, org, name, list(scopes), days)
        db.session.commit()
        return plain

    return factory


class JsonClient:
    def __init__(self, client, token=None):
        self.client, self.token = client, token

    def _headers(self, token):
        token = token if token is not None else self.token
        headers = {"Accept-Language": "en"}  # problem details follow Accept-Language
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def get(self, path, token=None, **kw):
        return self.client.get(path, headers=self._headers(token), **kw)

    def post(self, path, json=None, token=None, **kw):
        return self.client.post(path, json=json or {}, headers=self._headers(token), **kw)


@pytest.fixture
def api(client):
    return JsonClient(client)
