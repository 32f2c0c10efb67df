"""Usage records and statements of charges through the API (at /statements and at the
deprecated /invoices), and what other organisations' tokens get."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind, Role
from sharehub.billing import services as billing
from sharehub.booking import services as booking_services
from sharehub.booking.models import UsageRecord
from tests.support.clock import at, workday

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def listing(lab, make_listing):
    return make_listing(lab, approval_required=False, price_external=49999, units=2)


@pytest.fixture
def rival_lab(make_org, make_user):
    org = make_org(kind=OrgKind.LAB, name="另一家实验室", name_en="Other Lab")
    return org, make_user(org, role=Role.MANAGER, email="otherlab@example.cn")


def usage_body(unit, day, **extra):
    return {
        "unit_id": unit.id,
        "started_at": at(day, 9).isoformat(),
        "ended_at": at(day, 12).isoformat(),
        "prep_minutes": 20,
        "run_minutes": 120,
        "post_minutes": 10,
        "samples": 6,
        **extra,
    }


def test_lab_logs_and_lists_usage(api, db, lab, lab_manager, listing, firm, make_token):
    token = make_token(lab_manager, lab, scopes=["usage:read", "usage:write"])
    day = workday(-20)
    created = api.post(
        "/api/v1/usage-records",
        usage_body(listing.units[1], day, user_org_id=firm[0].id, service_way="samples_sent"),
        token=token,
    )
    assert created.status_code == 201, created.get_json()
    record = created.get_json()
    assert record["effective_minutes"] == 150
    assert (record["user_org_id"], record["service_way"]) == (firm[0].id, "samples_sent")
    internal = api.post(
        "/api/v1/usage-records", usage_body(listing.units[0], workday(-40)), token=token
    ).get_json()
    assert internal["user_org_id"] == lab.id  # internal use by default

    everything = api.get("/api/v1/usage-records", token=token).get_json()
    assert [r["id"] for r in everything["items"]] == [record["id"], internal["id"]]
    one_day = api.get(f"/api/v1/usage-records?from={day}&to={day}", token=token).get_json()
    assert [r["id"] for r in one_day["items"]] == [record["id"]]
    by_unit = api.get(f"/api/v1/usage-records?unit_id={listing.units[0].id}", token=token)
    assert [r["id"] for r in by_unit.get_json()["items"]] == [internal["id"]]
    assert datetime.fromisoformat(record["started_at"]) == at(day, 9)

    bad = api.post(
        "/api/v1/usage-records",
        usage_body(listing.units[0], day, ended_at=at(day, 8).isoformat()),
        token=token,
    )
    assert bad.status_code == 400 and bad.get_json()["field"] == "ended"


def test_usage_bounds_are_the_documents(client, api, db, lab, lab_manager, listing, make_token):
    """The minutes of one use go up to a month (as the service keeps them), and an unknown
    organisation served is an unknown id: 404, as for an unknown unit."""
    token = make_token(lab_manager, lab, scopes=["usage:read", "usage:write"])
    spec = client.get("/api/v1/openapi.json").get_json()
    body = spec["components"]["schemas"]["UsageCreate"]["properties"]
    month = 60 * 24 * 31
    assert {body[k]["maximum"] for k in ("prep_minutes", "run_minutes", "post_minutes")} == {month}
    assert "plus 1,440" in body["run_minutes"]["description"]
    day = workday(-60)
    over = api.post(
        "/api/v1/usage-records",
        usage_body(listing.units[0], day, run_minutes=month + 1),
        token=token,
    )
    assert over.status_code == 422 and "run_minutes" in over.get_json()["errors"]
    nobody = api.post(
        "/api/v1/usage-records",
        usage_body(listing.units[0], day, user_org_id=2147483647),
        token=token,
    )
    assert nobody.status_code == 404
    assert nobody.get_json()["type"] == "urn:sharehub:problem:not-found"


def test_usage_is_for_the_labs_own_managers_only(
    api, db, lab, lab_manager, listing, firm, rival_lab, make_token
):
    make_token(lab_manager, lab)
    api.post(
        "/api/v1/usage-records",
        usage_body(listing.units[0], workday(-20)),
        token=make_token(lab_manager, lab),
    )
    count = db.session.scalar(sa.select(sa.func.count(UsageRecord.id)))
    enterprise = make_token(*reversed(firm))
    assert api.get("/api/v1/usage-records", token=enterprise).status_code == 403
    assert (
        api.post(
            "/api/v1/usage-records", usage_body(listing.units[0], workday(-20)), token=enterprise
        ).status_code
        == 403
    )
    other_lab = make_token(rival_lab[1], rival_lab[0])
    assert api.get("/api/v1/usage-records", token=other_lab).get_json()["items"] == []
    answer = api.post(
        "/api/v1/usage-records", usage_body(listing.units[0], workday(-20)), token=other_lab
    )
    assert answer.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(UsageRecord.id))) == count


@pytest.fixture
def invoice(db, lab, lab_manager, listing, firm):
    org, user = firm
    booking = booking_services.create_booking(
        user,
        org,
        listing,
        booking_services.BookingRequest(
            starts_dt=at(workday(), 8, 30), ends_dt=at(workday(), 10, 30)
        ),
    )
    invoice = billing.invoice_from_booking(lab_manager, booking)
    db.session.commit()
    return invoice


@pytest.mark.parametrize("path", ["statements", "invoices"])
def test_customer_reads_issued_statements_and_pdf(
    api, db, invoice, lab, lab_manager, firm, make_token, path
):
    customer = make_token(*reversed(firm), scopes=["invoices:read"])
    lab_token = make_token(lab_manager, lab, scopes=["invoices:read"])
    assert api.get(f"/api/v1/{path}/{invoice.id}", token=customer).status_code == 404  # draft
    assert api.get(f"/api/v1/{path}", token=customer).get_json()["items"] == []
    assert api.get(f"/api/v1/{path}/{invoice.id}", token=lab_token).get_json()["status"] == (
        "draft"
    )
    billing.issue(lab_manager, invoice)
    db.session.commit()

    body = api.get(f"/api/v1/{path}/{invoice.id}", token=customer).get_json()
    assert body["number"] == f"SH{lab.id:04d}-{invoice.year}-000001"
    assert (body["net_total_fen"], body["vat_total_fen"], body["gross_total_fen"]) == (
        99998,
        6000,
        105998,
    )
    assert (body["paid_fen"], body["outstanding_fen"]) == (0, 105998)
    assert body["lines"][0]["quantity"] == "2 h"
    assert body["lines"][0]["tax_code"] == "3040101000000000000"
    assert body["lines"][0]["unit"] == "小时"
    listed = api.get(f"/api/v1/{path}", token=customer).get_json()
    assert [i["id"] for i in listed["items"]] == [invoice.id]
    assert api.get(f"/api/v1/{path}?side=lab", token=customer).status_code == 403
    issued = api.get(f"/api/v1/{path}?side=lab&status=issued", token=lab_token).get_json()
    assert [i["id"] for i in issued["items"]] == [invoice.id]

    pdf = api.get(f"/api/v1/{path}/{invoice.id}/pdf?lang=en", token=customer)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    assert body["number"] in pdf.headers["Content-Disposition"]


@pytest.mark.parametrize("path", ["statements", "invoices"])
def test_other_organisations_get_404_for_statements(
    api, db, invoice, lab_manager, rival, rival_lab, make_token, path
):
    billing.issue(lab_manager, invoice)
    db.session.commit()
    for token in (make_token(*reversed(rival)), make_token(rival_lab[1], rival_lab[0])):
        assert api.get(f"/api/v1/{path}/{invoice.id}", token=token).status_code == 404
        assert api.get(f"/api/v1/{path}/{invoice.id}/pdf", token=token).status_code == 404
        assert api.get(f"/api/v1/{path}", token=token).get_json()["items"] == []
    lab_side = api.get(f"/api/v1/{path}?side=lab", token=make_token(rival_lab[1], rival_lab[0]))
    assert lab_side.get_json()["items"] == []


def test_the_invoices_paths_are_documented_as_deprecated_aliases(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for old, new in (
        ("/api/v1/invoices", "/api/v1/statements"),
        ("/api/v1/invoices/{invoice_id}", "/api/v1/statements/{invoice_id}"),
        ("/api/v1/invoices/{invoice_id}/pdf", "/api/v1/statements/{invoice_id}/pdf"),
    ):
        assert paths[old]["get"]["deprecated"] is True
        assert not paths[new]["get"].get("deprecated")
        assert paths[old]["get"]["responses"]["200"] == paths[new]["get"]["responses"]["200"]
