"""Mail of testing requests and orders, delivered after the commit through the outbox to
the loopback mailbox, in each reader's language: the lab's staff on a new request, an
accepted quote and a customer's cancellation; the customer on the lab's quote, the
receipt of the samples (those refused, with the reason) and a stopped order."""

from __future__ import annotations

import pytest
from babel.dates import format_skeleton

from sharehub.core.tx import commit
from sharehub.testing import cancellation, orders, samples
from sharehub.testing.orders import LineInput, SampleInput
from tests.support import clock


def en_day(day):
    """A day as English pages and mail write it (Babel's medium date)."""
    return format_skeleton("yMMMd", day, locale="en")


@pytest.fixture
def technician(make_user, lab):
    """A member of the lab's staff who reads Chinese."""
    from sharehub.accounts.models import Role

    return make_user(lab, role=Role.MEMBER, locale="zh_CN", email="tech@lab.cn")


def _request(firm_user, firm, service, n=2):
    return orders.create_request(
        firm_user, firm, [service.id], [SampleInput(name=f"样品{i}") for i in range(n)]
    )


def test_the_labs_staff_hear_of_a_new_request_and_of_the_order(
    db, lab, make_service, firm, firm_user, lab_manager, technician, mailbox
):
    service = make_service(lab)
    order = _request(firm_user, firm, service)
    orders.submit(firm_user, order)
    commit()
    english = mailbox.last_to(lab_manager.email)
    assert english["Subject"] == f"New testing request {order.reference} from {firm.name}"
    assert f"/orders/{order.id}" in mailbox.body(english)
    chinese = mailbox.last_to(technician.email)
    assert chinese["Subject"] == f"新的委托检测申请 {order.reference}（{firm.name}）"
    assert mailbox.to(firm_user.email) == []  # the customer priced it: no quote mail
    orders.accept(firm_user, order)
    commit()
    assert mailbox.last_to(lab_manager.email)["Subject"] == (
        f"Testing order {order.reference} placed by {firm.name}"
    )
    assert mailbox.last_to(technician.email)["Subject"] == (
        f"{firm.name} 已下达检测委托 {order.reference}"
    )
    assert "¥1,600.00" in mailbox.body(mailbox.last_to(lab_manager.email))


def test_the_customer_hears_of_the_labs_quote(
    db, lab, make_service, firm, firm_user, lab_manager, mailbox
):
    service = make_service(lab, quote_required=True)
    order = _request(firm_user, firm, service)
    orders.submit(firm_user, order)
    commit()
    orders.quote(
        lab_manager,
        order,
        [LineInput("非标盐雾", 2, 12345, service_id=service.id)],
        valid_until=clock.today(),
        turnaround_days=9,
    )
    commit()
    mail = mailbox.last_to(firm_user.email)
    assert mail["Subject"] == f"Quote for your testing request {order.reference}"
    body = mailbox.body(mail)
    assert "¥246.90" in body and en_day(clock.today()) in body


def test_the_customer_hears_which_samples_were_received_and_refused(
    db, lab, make_service, firm, make_user, lab_manager, mailbox
):
    buyer = make_user(firm, locale="zh_CN", email="buyer@firm.cn")
    order = _request(buyer, firm, make_service(lab), n=3)
    orders.submit(buyer, order)
    orders.accept(buyer, order)
    samples.ship(buyer, order, delivery="drop_off")
    commit()
    first, second, third = order.samples
    samples.receive(
        lab_manager,
        order,
        [
            samples.ReceiptInput(sample_id=first.id, accepted=True),
            samples.ReceiptInput(sample_id=second.id, accepted=False, refusal_reason="包装破损"),
            samples.ReceiptInput(sample_id=third.id, accepted=True),
        ],
    )
    commit()
    mail = mailbox.last_to(buyer.email)
    assert mail["Subject"] == f"您的检测委托 {order.reference} 的样品已接收"
    body = mailbox.body(mail)
    refused = [line for line in body.splitlines() if "包装破损" in line]
    assert refused == [f"  接收时拒收: {second.name} — 包装破损"]
    assert f"已接收: {first.name} ({first.code})" in body and third.code in body


def test_each_side_hears_of_the_others_cancellation(
    db, lab, make_service, firm, firm_user, lab_manager, mailbox
):
    service = make_service(lab)
    order = _request(firm_user, firm, service)
    orders.submit(firm_user, order)
    orders.accept(firm_user, order)
    commit()
    mailbox.clear()
    cancellation.cancel(firm_user, order, "预算取消")
    commit()
    mail = mailbox.last_to(lab_manager.email)
    assert mail["Subject"] == f"Testing order {order.reference} cancelled by the customer"
    assert "预算取消" in mailbox.body(mail)
    assert mailbox.to(firm_user.email) == []

    other = _request(firm_user, firm, service)
    orders.submit(firm_user, other)
    orders.accept(firm_user, other)
    commit()
    mailbox.clear()
    cancellation.stop(lab_manager, other, "设备故障")
    commit()
    mail = mailbox.last_to(firm_user.email)
    assert mail["Subject"] == f"Testing order {other.reference} stopped by the laboratory"
    assert "设备故障" in mailbox.body(mail)
