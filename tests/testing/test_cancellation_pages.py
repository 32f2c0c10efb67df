"""Cancelling and stopping testing orders through HTTP: the customer sees the fee before
cancelling and the statement after; the lab stops with a reason; everyone else (another
firm, another lab's staff, the lab's own non-managers for a stop, anonymous visitors,
regulators) is refused and nothing changes. The service page and form carry the policy."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sharehub.core.models import OutboxMessage
from sharehub.testing.models import RequestStatus, SampleEvent, TestingService
from sharehub.testing.work_models import OrderStatement
from tests.support import clock


@pytest.fixture
def priced(lab, make_service):
    return make_service(lab, price_external=80001, cancel_fee_fen=1234, cancel_fee_percent=33)


@pytest.fixture
def received(db, priced, firm, firm_user, make_request, lab_manager):
    return make_request(firm_user, firm, [priced], state="received", lab_user=lab_manager)


@pytest.fixture
def strangers(make_org, make_user, lab):
    from sharehub.accounts.models import OrgKind, Role

    other_lab = make_org(kind=OrgKind.LAB)
    return {
        "other_lab_manager": make_user(other_lab, role=Role.MANAGER),
        "other_lab_staff": make_user(other_lab, role=Role.MEMBER),
        "other_firm": make_user(make_org()),
        "regulator": make_user(make_org(kind=OrgKind.AUTHORITY, name="苏州市市场监督管理局")),
        "lab_member": make_user(lab, role=Role.MEMBER),
    }


def _unchanged(db, order):
    db.session.expire_all()
    assert order.status == RequestStatus.RECEIVED and order.cancel_fee_charged_fen is None
    assert (
        db.session.scalars(
            sa.select(OrderStatement).where(OrderStatement.order_id == order.id)
        ).all()
        == []
    )
    assert db.session.scalars(
        sa.select(SampleEvent.kind).where(SampleEvent.request_id == order.id)
    ).all() == ["shipped", "received", "received"]
    told = sa.or_(
        OutboxMessage.subject.contains("cancelled"), OutboxMessage.subject.contains("stopped")
    )
    assert db.session.query(OutboxMessage).filter(told).count() == 0


@pytest.mark.parametrize(
    "who",
    ["anonymous", "other_lab_manager", "other_lab_staff", "other_firm", "regulator", "lab_member"],
)
def test_strangers_neither_cancel_nor_stop(db, client, login, received, strangers, who):
    if who != "anonymous":
        login(strangers[who])
    for action in ("cancel", "stop"):
        response = client.post(f"/orders/{received.id}/{action}", data={"reason": "捣乱"})
        if who == "anonymous":
            assert response.status_code == 302 and "/account/signin" in response.location
        else:
            assert response.status_code in (403, 404), (action, response.status_code)
    _unchanged(db, received)


def test_the_lab_does_not_cancel_for_the_customer_nor_the_customer_stop(
    db, client, login, received, lab_manager, firm_user
):
    login(lab_manager)
    assert client.post(f"/orders/{received.id}/cancel", data={"reason": "x"}).status_code == 403
    client.post("/account/signout")
    login(firm_user)
    assert client.post(f"/orders/{received.id}/stop", data={"reason": "x"}).status_code == 403
    _unchanged(db, received)


def test_the_customer_sees_the_fee_then_cancels_and_gets_its_statement(
    db, client, login, received, firm_user
):
    login(firm_user)
    page = client.get(f"/orders/{received.id}").get_data(as_text=True)
    assert 'id="cancel-fee"' in page and "¥540.35" in page  # 12.34 + 33 % of 1,600.02
    assert page.count("¥540.35") == 2  # the warning and the agreement's terms
    response = client.post(f"/orders/{received.id}/cancel", data={"reason": "项目取消"})
    assert response.status_code == 302
    db.session.expire_all()
    assert received.status == RequestStatus.CANCELLED
    statement = db.session.scalars(
        sa.select(OrderStatement).where(OrderStatement.order_id == received.id)
    ).one()
    assert statement.invoice.net_total == 54035 and len(statement.invoice.lines) == 1
    page = client.get(f"/orders/{received.id}").get_data(as_text=True)
    assert 'id="cancel-charged"' in page and 'id="cancel-button"' not in page
    again = client.post(f"/orders/{received.id}/cancel", data={"reason": "再点一次"})
    assert again.status_code == 409
    assert db.session.query(OrderStatement).count() == 1


def test_after_the_first_check_in_the_customer_is_told_to_ask_the_lab(
    db, client, login, make_order, make_listing, lab, salt_spray, lab_manager
):
    from sharehub.booking import usage
    from sharehub.testing import work

    listing = make_listing(lab, name="盐雾试验箱")
    salt_spray.units = [listing.units[0]]
    order = make_order()
    day = clock.workday()
    run = work.schedule(lab_manager, order, listing.units[0], clock.at(day, 9), clock.at(day, 12))
    with clock.travel(clock.at(day, 9)):
        usage.check_in(lab_manager, run.booking)
    db.session.commit()
    login(order.created_by)
    assert 'id="cancel-button"' not in client.get(f"/orders/{order.id}").get_data(as_text=True)
    response = client.post(f"/orders/{order.id}/cancel", data={"reason": "太晚"})
    assert response.status_code == 409
    assert "testing of this order has started" in response.get_data(as_text=True)
    db.session.expire_all()
    assert order.status == RequestStatus.IN_TESTING


def test_the_lab_stops_with_a_reason(db, client, login, received, lab_manager):
    login(lab_manager)
    page = client.get(f"/orders/{received.id}").get_data(as_text=True)
    assert 'id="stop-button"' in page
    bad = client.post(f"/orders/{received.id}/stop", data={"reason": "  "})
    assert bad.status_code == 400
    _unchanged(db, received)
    assert (
        client.post(f"/orders/{received.id}/stop", data={"reason": "设备故障"}).status_code == 302
    )
    db.session.expire_all()
    assert received.status == RequestStatus.CANCELLED and received.cancelled_by == "lab"
    assert received.status_reason == "设备故障" and received.cancel_fee_charged_fen == 0


def test_the_service_page_and_form_carry_the_policy(db, client, login, lab, lab_manager, priced):
    page = client.get(f"/testing/services/{priced.id}").get_data(as_text=True)
    assert "¥12.34" in page and "33 %" in page
    login(lab_manager)
    form = client.get(f"/testing/lab/services/{priced.id}/edit").get_data(as_text=True)
    assert 'value="12.34"' in form
    data = {
        "name": "锂离子电池安全试验",
        "standard_code": "GB 31241-2022",
        "field": "energy_electronics",
        "sample_quantity": "5",
        "standard_days": "15",
        "price_basis": "sample",
        "price_external": "4500",
        "price_internal": "3000",
        "cancel_fee_fen": "200.50",
        "cancel_fee_percent": "150",
    }
    assert client.post("/testing/lab/services/new", data=data).status_code == 400
    assert db.session.query(TestingService).count() == 1
    data["cancel_fee_percent"] = "20"
    assert client.post("/testing/lab/services/new", data=data).status_code == 302
    service = db.session.scalars(
        sa.select(TestingService).where(TestingService.id != priced.id)
    ).one()
    assert (service.cancel_fee_fen, service.cancel_fee_percent) == (20050, 20)
