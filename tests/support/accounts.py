"""Factories of organisations and users (a pytest plugin, see tests/conftest.py), the
password every factory user has, unified social credit codes and sign-up form data."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

_counter = iter(range(1, 10_000_000))


def make_credit_code(seed: int) -> str:
    from sharehub.core.codes import make_credit_code as complete

    return complete(f"91320500MA{seed:07d}")


@pytest.fixture
def city(db):
    from sharehub.accounts.models import Region

    return db.session.scalar(sa.select(Region).where(Region.code == "320500"))


@pytest.fixture
def cluster(db, city):
    from sharehub.accounts.models import Cluster

    cluster = Cluster(name=f"测试产业集群{next(_counter)}", name_en="Test cluster", region=city)
    db.session.add(cluster)
    db.session.commit()
    return cluster


@pytest.fixture
def make_org(db, city):
    from sharehub.accounts.models import Organisation, OrgKind, OrgStatus

    def factory(kind=OrgKind.ENTERPRISE, status=OrgStatus.ACTIVE, **fields):
        n = next(_counter)
        org = Organisation(
            kind=kind,
            status=status,
            name=fields.pop("name", f"测试机构{n}"),
            name_en=fields.pop("name_en", f"Test organisation {n}"),
            credit_code=fields.pop("credit_code", make_credit_code(n)),
            region=city,
            contact_name="张三",
            contact_phone="0512-12345678",
            **fields,
        )
        db.session.add(org)
        db.session.commit()
        return org

    return factory


PASSWORD = "correct horse battery"


@pytest.fixture
def make_user(db):
    from sharehub.accounts.models import Membership, Role, User
    from sharehub.core.db import utcnow

    hashed = {}

    def factory(org=None, role=Role.OWNER, verified=True, **fields):
        n = next(_counter)
        fields.setdefault("locale", "en")  # assertions read English; zh_CN has its own tests
        user = User(
            email=fields.pop("email", f"user{n}@example.cn"),
            name=fields.pop("name", f"用户{n}"),
            **fields,
        )
        if "pw" not in hashed:
            user.set_password(PASSWORD)
            hashed["pw"] = user.password_hash
        user.password_hash = hashed["pw"]
        if verified:
            user.email_verified_dt = utcnow()
        db.session.add(user)
        if org is not None:
            db.session.add(Membership(user=user, organisation=org, role=role))
        db.session.commit()
        return user

    return factory


@pytest.fixture
def platform_admin(make_org, make_user):
    from sharehub.accounts.models import OrgKind

    return make_user(make_org(kind=OrgKind.PLATFORM, name="平台运营"), email="admin@example.cn")


@pytest.fixture
def login(client):
    def do(user, password: str = PASSWORD):
        response = client.post("/account/signin", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    return do


def signup_data(city, cluster=None, **overrides):
    data = {
        "kind": "enterprise",
        "org_name": "苏州精测材料科技有限公司",
        "org_name_en": "Suzhou Precision Materials Co., Ltd.",
        "credit_code": make_credit_code(424242),
        "region_id": str(city.id),
        "cluster_id": str(cluster.id) if cluster else "",
        "contact_name": "李娜",
        "contact_phone": "0512-66889900",
        "name": "李娜",
        "email": "Li.Na@Example.cn",
        "phone": "13800000000",
        "password": "a-long-enough-secret",
        "password2": "a-long-enough-secret",
    }
    data.update(overrides)
    return data
