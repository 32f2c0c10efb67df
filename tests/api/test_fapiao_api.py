"""Fapiao through /api/v1: the enterprise lists its invoice profiles and its fapiao requests
and asks for the fapiao of a statement with a profile; the lab lists the requests made to
it; both download the issued fapiao. Other labs, other enterprises, anonymous callers and
read-only tokens are refused and change nothing; bad bodies store nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind, Role
from sharehub.fapiao import services
from sharehub.fapiao.models import FapiaoKind, FapiaoRequest
from tests.support.accounts import make_credit_code
from tests.support.billing import issued_for
from tests.support.clock import today
from tests.support.fapiao import NUMBER, fapiao_pdf

pytestmark = pytest.mark.usefixtures("english")

OUTSIDERS = ("other lab", "other enterprise", "regulator", "anonymous", "read only")


@pytest.fixture
def world(db, booked, lab, lab_manager, make_org, make_user, make_token):
    customer = booked.customer_user
    statement = issued_for(lab_manager, booked)
    profile = services.save_profile(
        customer,
        booked.customer_org,
        services.ProfileData(
            kind=FapiaoKind.NORMAL,
            title="苏州精密制造有限公司",
            tax_id=make_credit_code(5151),
            email="fapiao@example.cn",
        ),
    )
    other_lab = make_org(kind=OrgKind.LAB, name="另一实验室")
    rival = make_org(name="别家企业")
    rival_user = make_user(rival)
    rival_profile = services.save_profile(
        rival_user,
        rival,
        services.ProfileData(kind=FapiaoKind.NORMAL, title="别家企业", tax_id=make_credit_code(77)),
    )
    authority = make_org(kind=OrgKind.AUTHORITY, name="市场监管局")
    db.session.commit()
    return {
        "regulator": make_token(make_user(authority), authority),
        "no fapiao scope": make_token(customer, booked.customer_org, ["invoices:read"]),
        "statement": statement,
        "profile": profile,
        "rival profile": rival_profile,
        "customer": make_token(customer, booked.customer_org),
        "lab": make_token(lab_manager, lab),
        "other lab": make_token(make_user(other_lab, role=Role.MANAGER), other_lab),
        "other enterprise": make_token(rival_user, rival),
        "anonymous": "",
        "read only": make_token(
            customer, booked.customer_org, ["fapiao:read", "invoices:read", "orders:read"]
        ),
        "lab member": make_token(make_user(lab, role=Role.MEMBER), lab),
    }


def ask(api, world, token, profile=None, statement=None):
    body = {
        "statement_id": (statement or world["statement"]).id,
        "profile_id": (profile or world["profile"]).id,
    }
    return api.post("/api/v1/fapiao-requests", json=body, token=token)


def requests(db) -> list[tuple]:
    db.session.expire_all()
    return [
        (r.id, r.status.value)
        for r in db.session.scalars(sa.select(FapiaoRequest).order_by(FapiaoRequest.id))
    ]


def refused(response, who: str) -> None:
    expected = {"anonymous": 401, "read only": 403}.get(who, 404)
    assert response.status_code == expected, (who, response.get_json())
    assert response.mimetype == "application/problem+json"


def test_the_enterprise_asks_and_both_sides_read(api, db, world, lab_manager, storage_dir):
    profiles = api.get("/api/v1/invoice-profiles", token=world["customer"])
    assert profiles.status_code == 200
    assert [p["id"] for p in profiles.json["items"]] == [world["profile"].id]
    assert profiles.json["items"][0]["is_default"] is True

    asked = ask(api, world, world["customer"])
    assert asked.status_code == 201, asked.json
    body = asked.json
    assert body["status"] == "requested" and body["statement_id"] == world["statement"].id
    assert body["amount_fen"] == world["statement"].effective_total
    assert body["buyer"]["tax_id"] == world["profile"].tax_id and body["fapiao"] == []
    twice = ask(api, world, world["customer"])
    assert twice.status_code == 409 and len(requests(db)) == 1

    mine = api.get("/api/v1/fapiao-requests", token=world["customer"]).json
    theirs = api.get("/api/v1/fapiao-requests?side=lab", token=world["lab"]).json
    assert [r["id"] for r in mine["items"]] == [r["id"] for r in theirs["items"]] == [body["id"]]
    assert (
        api.get("/api/v1/fapiao-requests?status=issued", token=world["lab"]).json["items"] == []
    )  # the lab's own asks (none): side=customer is the default

    request = db.session.get(FapiaoRequest, body["id"])
    issued = services.attach_fapiao(lab_manager, request, fapiao_pdf(), "f.pdf", NUMBER, today())
    db.session.commit()
    listed = api.get("/api/v1/fapiao-requests?status=issued", token=world["customer"]).json
    assert listed["items"][0]["fapiao"][0]["number"] == NUMBER
    for who in ("customer", "lab"):
        download = api.get(f"/api/v1/fapiao/{issued.id}/file", token=world[who])
        assert download.status_code == 200 and download.mimetype == "application/pdf"
        assert download.data == fapiao_pdf()
        download.close()
    # A plain member of the lab does not handle its fapiao (as on the pages).
    member = api.get(f"/api/v1/fapiao/{issued.id}/file", token=world["lab member"])
    assert member.status_code == 404
    for path in (f"/api/v1/fapiao/{issued.id}/file", "/api/v1/fapiao-requests"):
        no_scope = api.get(path, token=world["no fapiao scope"])
        assert no_scope.status_code == 403, path
    assert api.get("/api/v1/invoice-profiles", token=world["no fapiao scope"]).status_code == 403


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_neither_ask_nor_see(api, db, world, booked, lab_manager, storage_dir, who):
    token = world[who]
    answer = ask(api, world, token)
    refused(answer, who)  # another's statement: 404
    assert requests(db) == []

    request = services.request_fapiao(booked.customer_user, world["statement"], world["profile"])
    issued = services.attach_fapiao(lab_manager, request, fapiao_pdf(), "f.pdf", NUMBER, today())
    db.session.commit()
    download = api.get(f"/api/v1/fapiao/{issued.id}/file", token=token)
    if who == "read only":
        assert download.status_code == 200  # reading is what the token may do
        download.close()
    else:
        refused(download, who)
        lab_side = api.get("/api/v1/fapiao-requests?side=lab", token=token)
        listed = api.get("/api/v1/fapiao-requests", token=token)
        if who == "anonymous":
            refused(lab_side, who)
            refused(listed, who)
        else:
            assert lab_side.status_code == (200 if who == "other lab" else 403)
            assert lab_side.status_code == 403 or lab_side.json["items"] == []
            assert listed.json["items"] == []
    profiles = api.get("/api/v1/invoice-profiles", token=token)
    if who == "anonymous":
        refused(profiles, who)
    else:
        ids = [p["id"] for p in profiles.json["items"]]
        assert world["profile"].id not in ids or who == "read only"
    assert requests(db) == [(request.id, "issued")]


def test_the_lab_neither_asks_nor_reads_the_enterprise_s_side(api, db, world):
    assert ask(api, world, world["lab"]).status_code == 403
    assert api.get("/api/v1/invoice-profiles", token=world["lab"]).json["items"] == []
    member = api.get("/api/v1/fapiao-requests?side=lab", token=world["lab member"])
    assert member.status_code == 403  # a plain member does not handle the lab's fapiao
    assert requests(db) == []


def test_bad_asks_store_nothing(api, db, world, lab_manager, booked):
    token = world["customer"]
    for body, status in (
        ({}, 422),
        ({"statement_id": world["statement"].id}, 422),
        ({"statement_id": world["statement"].id, "profile_id": "x"}, 422),
        ({"statement_id": world["statement"].id, "profile_id": 0}, 422),
        ({"statement_id": world["statement"].id, "profile_id": 1, "note": "x"}, 422),
        ({"statement_id": world["statement"].id, "profile_id": world["rival profile"].id}, 404),
        ({"statement_id": 2147483647, "profile_id": world["profile"].id}, 404),
    ):
        answer = api.post("/api/v1/fapiao-requests", json=body, token=token)
        assert answer.status_code == status, (body, answer.get_json())
        assert answer.mimetype == "application/problem+json" and answer.get_json()["detail"]
    from sharehub.billing import services as billing

    draft = billing.draft_invoice(  # not issued: not the firm's to see yet
        lab_manager, booked.listing.lab, booked.customer_org, [("咨询", "1", 10000, 10000, {})]
    )
    db.session.commit()
    assert ask(api, world, token, statement=draft).status_code == 404
    for bad in ("side=both", "status=paid", "per_page=500"):
        assert api.get(f"/api/v1/fapiao-requests?{bad}", token=token).status_code == 422
    assert api.get("/api/v1/fapiao/2147483647/file", token=token).status_code == 404
    assert requests(db) == []
