"""Testing orders and reports through /api/v1: the customer's and the lab's tokens see
their own orders and reports, nobody else's; the customer accepts a quote; anyone checks
a report number and code; order.* and report.issued reach webhooks."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind, Role
from sharehub.api.models import WebhookDelivery, WebhookEndpoint
from sharehub.testing.models import Quote, QuoteLine, QuoteStatus, RequestStatus
from sharehub.testing.report_models import Report
from tests.support import clock
from tests.support.reports import issued_report

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def world(db, order, signers, make_token, make_org, make_user, lab):
    """An issued report of `order` and tokens of each side and of outsiders."""
    report = issued_report(db, order, signers)
    other_lab = make_org(kind=OrgKind.LAB, name="另一实验室")
    rival = make_org(name="别家企业")
    regulator = make_org(kind=OrgKind.AUTHORITY, name="市场监管局")
    return {
        "report": report,
        "order": order,
        "customer": make_token(order.created_by, order.customer_org),
        "lab": make_token(signers[2], lab),
        "other lab": make_token(make_user(other_lab, role=Role.MANAGER), other_lab),
        "other enterprise": make_token(make_user(rival), rival),
        "regulator": make_token(make_user(regulator), regulator),
    }


def test_customer_and_lab_read_orders_and_reports(api, world):
    order, report = world["order"], world["report"]
    for who, side in (("customer", "customer"), ("lab", "lab")):
        listing = api.get(f"/api/v1/orders?side={side}", token=world[who])
        assert listing.status_code == 200
        assert [o["id"] for o in listing.json["items"]] == [order.id]
        one = api.get(f"/api/v1/orders/{order.id}", token=world[who]).json
        assert one["status"] == "reported" and one["samples"][0]["status"] == "received"
        found = api.get(f"/api/v1/orders/{order.id}/reports", token=world[who]).json["items"]
        assert [r["number"] for r in found] == [report.number]
        detail = api.get(f"/api/v1/reports/{report.id}", token=world[who]).json
        assert detail["overall_verdict"] == "pass" and len(detail["results"]) == 2
        assert detail["content_sha256"] == report.content_hash


def test_a_draft_is_the_lab_s_alone(api, db, world, signers):
    from sharehub.testing import reports

    draft = reports.amend(signers[0], world["report"], "更正")
    db.session.commit()
    assert api.get(f"/api/v1/reports/{draft.id}", token=world["lab"]).status_code == 200
    assert api.get(f"/api/v1/reports/{draft.id}", token=world["customer"]).status_code == 404
    listed = api.get(f"/api/v1/orders/{world['order'].id}/reports", token=world["customer"])
    assert [r["id"] for r in listed.json["items"]] == [world["report"].id]


@pytest.mark.parametrize("who", ["other lab", "other enterprise", "regulator", "anonymous"])
def test_outsiders_get_nothing(api, db, world, who):
    order, report = world["order"], world["report"]
    token = "" if who == "anonymous" else world[who]
    for path in (
        f"/api/v1/orders/{order.id}",
        f"/api/v1/orders/{order.id}/reports",
        f"/api/v1/reports/{report.id}",
    ):
        response = api.get(path, token=token)
        assert response.status_code == (401 if who == "anonymous" else 404), path
        assert report.number not in response.get_data(as_text=True)
    listing = api.get("/api/v1/orders", token=token)
    if who == "anonymous":
        assert listing.status_code == 401
    else:
        assert listing.json["items"] == []
    accept = api.post(f"/api/v1/orders/{order.id}/accept", token=token)
    assert accept.status_code == (401 if who == "anonymous" else 404)
    db.session.expire_all()
    assert db.session.get(Report, report.id).status.value == "issued"


def test_the_lab_does_not_list_as_a_lab_what_it_ordered_and_a_firm_has_no_lab_side(api, world):
    response = api.get("/api/v1/orders?side=lab", token=world["customer"])
    assert response.status_code == 403


def test_customer_accepts_the_open_quote(api, db, make_order, make_token, salt_spray):
    order = make_order(status=RequestStatus.QUOTED)
    quote = Quote(
        request=order,
        valid_until=clock.today() + timedelta(days=10),
        turnaround_days=7,
        total_fen=80000,
        lines=[QuoteLine(description="盐雾", quantity=1, unit_price_fen=80000, amount_fen=80000)],
    )
    db.session.add(quote)
    db.session.commit()
    token = make_token(order.created_by, order.customer_org)
    wrong = api.post(f"/api/v1/orders/{order.id}/accept", json={"quote_id": 999}, token=token)
    assert wrong.status_code == 409
    response = api.post(
        f"/api/v1/orders/{order.id}/accept", json={"quote_id": quote.id}, token=token
    )
    assert response.status_code == 200 and response.json["status"] == "accepted"
    db.session.expire_all()
    assert db.session.get(Quote, quote.id).status == QuoteStatus.ACCEPTED
    again = api.post(f"/api/v1/orders/{order.id}/accept", token=token)
    assert again.status_code == 409


def test_public_verification(api, world):
    report = world["report"]
    ok = api.get(
        "/api/v1/reports/verify",
        query_string={"no": report.number, "code": report.verification_code},
    )
    assert ok.status_code == 200
    assert ok.json == {
        "number": report.number,
        "version": 1,
        "status": "issued",
        "superseded_by": None,
        "lab_name": "测试实验室",
        "issue_date": report.issue_date.isoformat(),
        "samples": ["涂层钢板A"],
        "overall_verdict": "pass",
    }
    wrong = api.get(
        "/api/v1/reports/verify", query_string={"no": report.number, "code": "AAAAAAAAAA"}
    )
    assert wrong.status_code == 404 and report.number not in wrong.get_data(as_text=True)


def test_order_and_report_events_are_queued_for_both_sides(db, order, signers, lab, make_user):

    for org in (lab, order.customer_org):
        db.session.add(
            WebhookEndpoint(
                organisation_id=org.id,
                url="http://127.0.0.1:9/hook",
                secret="whsec_test",
                events=["order.in_testing", "order.reported", "report.issued"],
                is_active=True,
            )
        )
    db.session.commit()
    issued_report(db, order, signers)
    kinds = sorted(
        (d.endpoint.organisation_id, d.event_type)
        for d in db.session.scalars(sa.select(WebhookDelivery))
    )
    expected = sorted(
        (org.id, event)
        for org in (lab, order.customer_org)
        for event in ("order.in_testing", "order.reported", "report.issued")
    )
    assert kinds == expected
    payload = next(
        d.payload
        for d in db.session.scalars(sa.select(WebhookDelivery))
        if d.event_type == "report.issued"
    )
    assert payload["data"]["overall_verdict"] == "pass"
