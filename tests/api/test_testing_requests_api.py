"""Commissioned testing written through /api/v1: the public search of testing services; an
enterprise's request (委托单), priced at once or quoted by the lab; the lab's quote, the
customer's acceptance and the lab's receipt of the samples with their chain of custody;
a report's PDF. Other labs, other enterprises, anonymous callers and read-only tokens are
refused and change nothing; bad bodies are refused with a problem and store nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind, Role
from sharehub.testing.models import (
    Quote,
    RequestStatus,
    Sample,
    SampleEvent,
    SampleStatus,
    TestingRequest,
    TestingService,
)
from tests.support import clock
from tests.support.reports import issued_report

pytestmark = pytest.mark.usefixtures("english")

OUTSIDERS = ("other lab", "other enterprise", "regulator", "anonymous", "read only")


@pytest.fixture
def people(db, lab, lab_manager, make_org, make_user, make_token):
    firm = make_org(name="委托企业", name_en="Customer Co")
    buyer = make_user(firm)
    other_lab = make_org(kind=OrgKind.LAB, name="另一实验室")
    rival = make_org(name="别家企业")
    authority = make_org(kind=OrgKind.AUTHORITY, name="市场监管局")
    return {
        "regulator": make_token(make_user(authority), authority),
        "firm": firm,
        "buyer": buyer,
        "customer": make_token(buyer, firm),
        "lab": make_token(lab_manager, lab),
        "other lab": make_token(make_user(other_lab, role=Role.MANAGER), other_lab),
        "other enterprise": make_token(make_user(rival), rival),
        "anonymous": "",
        "read only": None,  # filled per side by `read_only`
        "make_token": make_token,
    }


def read_only(people, side: str, lab, lab_manager) -> str:
    """A token of the right side with every scope but the writing ones."""
    scopes = ["orders:read", "reports:read", "invoices:read"]
    if side == "lab":
        return people["make_token"](lab_manager, lab, scopes)
    return people["make_token"](people["buyer"], people["firm"], scopes)


def refused(response, who: str) -> None:
    expected = {"anonymous": 401, "read only": 403}.get(who, 404)
    assert response.status_code == expected, (who, response.get_json())
    assert response.mimetype == "application/problem+json"


def new_request(api, token, service_ids, samples=("涂层钢板A", "涂层钢板B"), **extra):
    body = {"service_ids": service_ids, "samples": [{"name": n} for n in samples], **extra}
    return api.post("/api/v1/orders", json=body, token=token)


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- services --------------------------------------------------------------------------


def test_services_are_found_by_standard_number_and_name(api, db, salt_spray, cma):
    from sharehub.testing.services import index_service

    index_service(salt_spray)  # as saving a service does
    db.session.commit()
    for q in ("10125", "GB/T 10125-2021", "gbt10125", "盐雾"):
        found = api.get("/api/v1/testing-services", query_string={"q": q})
        assert found.status_code == 200, q
        assert [s["id"] for s in found.json["items"]] == [salt_spray.id], q
    item = found.json["items"][0]
    assert item["standard"] == "GB/T 10125-2021" and item["marks"] == ["cma"]
    assert item["price"] == {
        "basis": "sample",
        "external_fen": 80000,
        "cluster_fen": None,
        "currency": "CNY",
    }
    assert [p["name"] for p in item["parameters"]] == ["腐蚀速率", "外观"]
    assert api.get("/api/v1/testing-services?accr=cnas").json["items"] == []
    assert api.get("/api/v1/testing-services?q=ISO+9227").json["meta"]["total"] == 0
    for bad in ("per_page=0", "days=0", "price_max=1e3", "colour=red"):
        answer = api.get(f"/api/v1/testing-services?{bad}")
        assert answer.status_code == 422, bad
        assert answer.mimetype == "application/problem+json"


# --- a request priced at once; accepted; samples received ---------------------------------


def test_a_standard_request_is_priced_accepted_and_received(api, db, people, salt_spray, lab):
    created = new_request(api, people["customer"], [salt_spray.id])
    assert created.status_code == 201, created.json
    order = created.json
    assert order["status"] == "quoted" and order["customer_org_id"] == people["firm"].id
    quote = order["quotes"][0]
    assert quote["is_automatic"] and quote["total_fen"] == 2 * 80000
    accepted = api.post(
        f"/api/v1/orders/{order['id']}/accept",
        json={"quote_id": quote["id"]},
        token=people["customer"],
    )
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"

    first, second = (s["id"] for s in order["samples"])
    receipt = api.post(
        f"/api/v1/orders/{order['id']}/receipt",
        json={
            "samples": [
                {"sample_id": first, "accepted": True, "storage_place": "样品间 A-3"},
                {"sample_id": second, "accepted": False, "refusal_reason": "包装破损"},
            ]
        },
        token=people["lab"],
    )
    assert receipt.status_code == 200, receipt.json
    assert receipt.json["status"] == "received"
    kept, refused_sample = receipt.json["items"]
    assert kept["status"] == "received" and kept["code"].startswith(f"S{lab.id:04d}-")
    assert kept["storage_place"] == "样品间 A-3"
    assert kept["retain_until"] == (clock.today() + timedelta(days=90)).isoformat()
    assert refused_sample["status"] == "refused" and refused_sample["code"] is None
    assert refused_sample["refusal_reason"] == "包装破损"

    seen = api.get(f"/api/v1/orders/{order['id']}/samples", token=people["customer"]).json
    assert [(e["sample_id"], e["kind"]) for e in seen["custody"]] == [
        (first, "received"),
        (second, "refused"),
    ]
    assert seen["custody"][0]["to_party"] == lab.name
    again = api.post(
        f"/api/v1/orders/{order['id']}/receipt",
        json={"samples": [{"sample_id": second, "accepted": True}]},
        token=people["lab"],
    )
    assert again.status_code == 409


def test_a_request_for_quote_is_quoted_by_the_lab(api, db, people, salt_spray, lab):
    salt_spray.quote_required = True
    db.session.commit()
    order = new_request(api, people["customer"], [salt_spray.id], samples=("样件",)).json
    assert order["status"] == "submitted" and order["quotes"] == []
    valid = (clock.today() + timedelta(days=14)).isoformat()
    body = {
        "lines": [
            {"description": "盐雾 720 h", "quantity": 1, "unit_price_fen": 150000},
            {
                "description": "外观评级",
                "quantity": 2,
                "unit_price_fen": 2000,
                "service_id": salt_spray.id,
            },
        ],
        "turnaround_days": 35,
        "valid_until": valid,
        "note": "含报告费",
    }
    for who in ("customer", "other lab", "other enterprise", "anonymous"):
        answer = api.post(f"/api/v1/orders/{order['id']}/quotes", json=body, token=people[who])
        if who == "customer":
            assert answer.status_code == 403  # only the laboratory quotes
        else:
            refused(answer, who)
    assert count(db, Quote) == 0
    quoted = api.post(f"/api/v1/orders/{order['id']}/quotes", json=body, token=people["lab"])
    assert quoted.status_code == 201, quoted.json
    assert quoted.json["total_fen"] == 154000 and quoted.json["turnaround_days"] == 35
    assert quoted.json["valid_until"] == valid and not quoted.json["is_automatic"]
    db.session.expire_all()
    row = db.session.get(TestingRequest, order["id"])
    assert row.status == RequestStatus.QUOTED and row.open_quote.total_fen == 154000
    accepted = api.post(f"/api/v1/orders/{order['id']}/accept", token=people["customer"])
    assert accepted.status_code == 200 and accepted.json["total_fen"] == 154000


# --- refusals that change nothing ---------------------------------------------------------


@pytest.fixture
def waiting(make_order, people):
    """An accepted order of the firm whose two samples the lab has not received."""
    order = make_order(
        customer=people["firm"],
        buyer=people["buyer"],
        samples=("样品一", "样品二"),
        status=RequestStatus.ACCEPTED,
    )
    for sample in order.samples:
        sample.status, sample.code, sample.sequence, sample.year = (
            SampleStatus.EXPECTED,
            None,
            None,
            None,
        )
    from sharehub.extensions import db

    db.session.commit()
    return order


def _sample_state(db, order):
    db.session.expire_all()
    return sorted(
        (s.id, s.status.value, s.code)
        for s in db.session.scalars(sa.select(Sample).where(Sample.request_id == order.id))
    )


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_neither_receive_nor_read_samples(
    api, db, people, waiting, lab, lab_manager, who
):
    token = read_only(people, "lab", lab, lab_manager) if who == "read only" else people[who]
    before = _sample_state(db, waiting)
    body = {"samples": [{"sample_id": s.id, "accepted": True} for s in waiting.samples]}
    refused(api.post(f"/api/v1/orders/{waiting.id}/receipt", json=body, token=token), who)
    quote = {
        "lines": [{"description": "x", "quantity": 1, "unit_price_fen": 1}],
        "turnaround_days": 5,
        "valid_until": clock.today().isoformat(),
    }
    refused(api.post(f"/api/v1/orders/{waiting.id}/quotes", json=quote, token=token), who)
    seen = api.get(f"/api/v1/orders/{waiting.id}/samples", token=token)
    if who == "read only":
        assert seen.status_code == 200  # reading is what the token may do
    else:
        refused(seen, who)
    assert _sample_state(db, waiting) == before
    assert count(db, SampleEvent) == 0 and count(db, Quote) == 0
    assert db.session.get(TestingRequest, waiting.id).status == RequestStatus.ACCEPTED


def test_the_customer_does_not_receive_its_own_samples(api, db, people, waiting):
    before = _sample_state(db, waiting)
    body = {"samples": [{"sample_id": s.id, "accepted": True} for s in waiting.samples]}
    answer = api.post(f"/api/v1/orders/{waiting.id}/receipt", json=body, token=people["customer"])
    assert answer.status_code == 403 and answer.mimetype == "application/problem+json"
    assert _sample_state(db, waiting) == before


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_neither_request_nor_accept(api, db, people, salt_spray, lab, lab_manager, who):
    token = read_only(people, "customer", lab, lab_manager) if who == "read only" else people[who]
    answer = new_request(api, token, [salt_spray.id])
    if who in ("other lab", "regulator"):
        assert answer.status_code == 403  # only an enterprise requests testing
    elif who == "other enterprise":
        assert answer.status_code == 201  # its own request, to the lab
    else:
        refused(answer, who)
    requests_before = count(db, TestingRequest)
    order = new_request(api, people["customer"], [salt_spray.id]).json
    accept = api.post(f"/api/v1/orders/{order['id']}/accept", token=token)
    refused(accept, who)
    db.session.expire_all()
    assert db.session.get(TestingRequest, order["id"]).status == RequestStatus.QUOTED
    assert count(db, TestingRequest) == requests_before + 1


def test_a_lab_does_not_request_testing(api, db, people, salt_spray):
    answer = new_request(api, people["lab"], [salt_spray.id])
    assert answer.status_code == 403 and count(db, TestingRequest) == 0


# --- bad bodies ---------------------------------------------------------------------------


def test_bad_requests_store_nothing(api, db, people, salt_spray, make_org):
    other_lab = make_org(kind=OrgKind.LAB, name="别的实验室")
    elsewhere = TestingService(
        lab=other_lab,
        status=salt_spray.status,
        name="拉伸试验",
        standard_code="GB/T 228.1-2021",
        standard_key="gbt228.12021",
        field=salt_spray.field,
        price_internal=1,
        price_external=1,
    )
    db.session.add(elsewhere)
    db.session.commit()
    token = people["customer"]
    cases = [
        ({}, 422),
        ({"service_ids": [salt_spray.id], "samples": []}, 422),
        ({"service_ids": [salt_spray.id], "samples": [{"name": "   "}]}, 422),
        ({"service_ids": [salt_spray.id], "samples": [{"name": "a", "quantity": 0}]}, 422),
        ({"service_ids": [salt_spray.id], "samples": [{"name": "a"}], "colour": "red"}, 422),
        ({"service_ids": [salt_spray.id], "samples": [{"name": "a\x00"}]}, 422),
        ({"service_ids": ["x"], "samples": [{"name": "a"}]}, 422),
        ({"service_ids": [salt_spray.id, elsewhere.id], "samples": [{"name": "a"}]}, 409),
        ({"service_ids": [salt_spray.id], "samples": [{"name": "a"}], "expedited": True}, 409),
        ({"service_ids": [2147483647], "samples": [{"name": "a"}]}, 404),
    ]
    for body, status in cases:
        answer = api.post("/api/v1/orders", json=body, token=token)
        assert answer.status_code == status, (body, answer.get_json())
        problem = answer.get_json()
        assert answer.mimetype == "application/problem+json" and problem["detail"], body
    not_json = api.client.post(
        "/api/v1/orders",
        data="samples=1",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
    )
    assert 400 <= not_json.status_code < 500
    assert count(db, TestingRequest) == 0 and count(db, Sample) == 0


def test_bad_quotes_and_receipts_store_nothing(api, db, people, waiting, salt_spray):
    lab = people["lab"]
    past = (clock.today() - timedelta(days=1)).isoformat()
    submitted = new_request(api, people["customer"], [salt_spray.id]).json  # quoted at once
    line = {"description": "x", "quantity": 1, "unit_price_fen": 100}
    for body, status in (
        ({"lines": [], "turnaround_days": 5, "valid_until": past}, 422),
        ({"lines": [line], "turnaround_days": 0, "valid_until": past}, 422),
        ({"lines": [{**line, "unit_price_fen": -1}], "turnaround_days": 5}, 422),
        ({"lines": [line], "turnaround_days": 5, "valid_until": past}, 400),
        (
            {
                "lines": [{**line, "service_id": 2147483647}],
                "turnaround_days": 5,
                "valid_until": clock.today().isoformat(),
            },
            400,
        ),
    ):
        answer = api.post(f"/api/v1/orders/{submitted['id']}/quotes", json=body, token=lab)
        assert answer.status_code == status, (body, answer.get_json())
        assert answer.mimetype == "application/problem+json"
    assert count(db, Quote) == 1  # the automatic one

    before = _sample_state(db, waiting)
    first, second = (s.id for s in waiting.samples)
    for body, status in (
        ({"samples": [{"sample_id": first, "accepted": True}]}, 400),  # the second is missing
        (
            {
                "samples": [
                    {"sample_id": first, "accepted": True},
                    {"sample_id": second, "accepted": False, "refusal_reason": " "},
                ]
            },
            400,
        ),
        (
            {
                "samples": [
                    {"sample_id": first, "accepted": True, "retain_until": past},
                    {"sample_id": second, "accepted": True},
                ]
            },
            400,
        ),
        ({"samples": [{"sample_id": first, "accepted": "maybe"}]}, 422),
        ({"samples": [{"sample_id": first}]}, 422),
    ):
        answer = api.post(f"/api/v1/orders/{waiting.id}/receipt", json=body, token=lab)
        assert answer.status_code == status, (body, answer.get_json())
        assert answer.mimetype == "application/problem+json" and answer.get_json()["detail"]
    assert _sample_state(db, waiting) == before and count(db, SampleEvent) == 0


def test_a_request_is_sent_once_per_idempotency_key(api, db, people, salt_spray):
    body = {"service_ids": [salt_spray.id], "samples": [{"name": "钢板"}]}
    headers = {
        "Authorization": f"Bearer {people['customer']}",
        "Idempotency-Key": "req-0001",
    }
    first = api.client.post("/api/v1/orders", json=body, headers=headers)
    second = api.client.post("/api/v1/orders", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json["id"] == first.json["id"] and count(db, TestingRequest) == 1


# --- the report's PDF ----------------------------------------------------------------------


def test_report_pdf_with_the_page_s_checks(api, db, order, signers, lab, make_token, people):
    from sharehub.testing import reports

    report = issued_report(db, order, signers)
    customer = make_token(order.created_by, order.customer_org)
    for token in (customer, make_token(signers[0], lab)):
        answer = api.get(f"/api/v1/reports/{report.id}/pdf", token=token)
        assert answer.status_code == 200 and answer.mimetype == "application/pdf"
        assert answer.data.startswith(b"%PDF-")
        answer.close()
    for who in ("other lab", "other enterprise", "regulator", "anonymous"):
        refused(api.get(f"/api/v1/reports/{report.id}/pdf", token=people[who]), who)
    no_scope = make_token(order.created_by, order.customer_org, ["orders:read"])
    assert api.get(f"/api/v1/reports/{report.id}/pdf", token=no_scope).status_code == 403
    # A draft amendment (no PDF of its own yet) is nobody's to download.
    draft = reports.amend(signers[0], report, "更正")
    db.session.commit()
    assert api.get(f"/api/v1/reports/{draft.id}/pdf", token=customer).status_code == 404
    assert api.get("/api/v1/reports/2147483647/pdf", token=customer).status_code == 404
