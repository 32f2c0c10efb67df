"""Fixtures of the API tests: two enterprises and a lab, tokens, a JSON client, and two
laboratories over the statistics week (tests/support/stats.py) with metrics tokens."""

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


@pytest.fixture
def two_labs(week, lab, make_listing, make_usage):
    from sharehub.catalog.models import Field

    bio = make_listing(lab, field=Field.BIOMEDICINE, name="流式细胞仪")
    make_usage(bio.units[0], week["e1"], "2026-03-03 09:00", "2026-03-03 10:30", run=90)
    return {**week, "other": lab, "bio": bio}


@pytest.fixture
def tokens(two_labs, make_user, make_org, make_token):
    from sharehub.accounts.models import OrgKind, Role

    lab_a, lab_b = two_labs["lab"], two_labs["other"]
    regulator = make_user(make_org(kind=OrgKind.AUTHORITY, name="苏州市市场监督管理局"))
    scopes = ["metrics:read"]
    return {
        "lab_a": make_token(make_user(lab_a, role=Role.MANAGER), lab_a, scopes),
        "lab_b": make_token(make_user(lab_b, role=Role.MANAGER), lab_b, scopes),
        "member_a": make_token(make_user(lab_a, role=Role.MEMBER), lab_a, scopes),
        "firm": make_token(make_user(two_labs["e1"]), two_labs["e1"], scopes),
        "regulator": make_token(regulator, regulator.memberships[0].organisation, scopes),
        "no_scope": make_token(
            make_user(lab_a, role=Role.MANAGER), lab_a, ["usage:read", "invoices:read"]
        ),
    }
