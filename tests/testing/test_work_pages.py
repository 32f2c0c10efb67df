"""The lab's work pages of an order through HTTP: scheduling and cancelling runs, the
statement from the order's lines, late orders; what the customer sees; and refusals for
everyone else with nothing changed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind, Role
from sharehub.core.models import AuditEntry
from tests.support import clock


@pytest.fixture
def chamber(make_listing, lab, salt_spray, db):
    listing = make_listing(lab, name="盐雾试验箱")
    salt_spray.units = [listing.units[0]]
    db.session.commit()
    return listing.units[0]


def _start_text(day) -> str:
    return f"{day.isoformat()}T17:00"


def _counts(db):
    from sharehub.billing.models import Invoice
    from sharehub.booking.models import Booking
    from sharehub.testing.work_models import TestRun

    return tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (TestRun, Booking, Invoice, AuditEntry)
    )


def test_the_lab_schedules_a_run_and_the_customer_sees_it(
    db, client, login, order, chamber, lab_manager
):
    login(lab_manager)
    page = client.get(f"/orders/{order.id}")
    assert 'id="run-form"' in page.text
    day = clock.workday()
    response = client.post(
        f"/orders/{order.id}/runs",
        data={
            "run-unit_id": chamber.id,
            "run-starts": _start_text(day),
            "run-hours": "96",
            "run-note": "96 h 中性盐雾",
        },
    )
    assert response.status_code == 302
    page = client.get(f"/orders/{order.id}")
    assert 'id="runs"' in page.text and "96 h 中性盐雾" in page.text
    client.post("/account/signout")
    login(order.created_by)
    page = client.get(f"/orders/{order.id}")
    assert 'id="runs"' in page.text and 'id="run-form"' not in page.text


@pytest.mark.parametrize(
    ("hours", "starts", "message"),
    [
        ("abc", "good", "whole number"),
        ("0", "good", "1"),
        ("2", "not a time", "date and time"),
        ("", "good", "how many hours"),
    ],
)
def test_bad_run_input_gets_a_message_and_stores_nothing(
    db, client, login, order, chamber, lab_manager, english, hours, starts, message
):
    login(lab_manager)
    before = _counts(db)
    response = client.post(
        f"/orders/{order.id}/runs",
        data={
            "run-unit_id": chamber.id,
            "run-starts": _start_text(clock.workday()) if starts == "good" else starts,
            "run-hours": hours,
        },
    )
    assert response.status_code == 400
    assert message in response.text
    assert _counts(db) == before


def test_a_run_over_another_booking_is_refused_with_the_form_kept(
    db, client, login, order, chamber, lab_manager, english
):
    from sharehub.testing import work

    day = clock.workday()
    start = clock.at(day, 17)
    work.schedule(lab_manager, order, chamber, start, start + timedelta(hours=4))
    db.session.commit()
    login(lab_manager)
    before = _counts(db)
    response = client.post(
        f"/orders/{order.id}/runs",
        data={"run-unit_id": chamber.id, "run-starts": _start_text(day), "run-hours": "2"},
    )
    assert response.status_code == 409
    assert "not free" in response.text and 'value="2"' in response.text
    assert _counts(db) == before


def test_billing_and_cancelling_a_run_through_the_pages(
    db, client, login, order, chamber, lab_manager
):
    from sharehub.booking.models import BookingStatus
    from sharehub.testing import work
    from sharehub.testing.models import Quote, QuoteLine, QuoteStatus

    quote = Quote(
        request=order, status=QuoteStatus.ACCEPTED, valid_until=clock.today(), turnaround_days=7
    )
    quote.lines = [
        QuoteLine(description="盐雾", quantity=1, unit_price_fen=80000, amount_fen=80000)
    ]
    db.session.add(quote)
    start = clock.at(clock.workday(), 17)
    run = work.schedule(lab_manager, order, chamber, start, start + timedelta(hours=2))
    db.session.commit()
    login(lab_manager)
    response = client.post(f"/orders/{order.id}/runs/{run.id}/cancel")
    assert response.status_code == 302
    db.session.refresh(run.booking)
    assert run.booking.status == BookingStatus.CANCELLED
    response = client.post(f"/orders/{order.id}/bill")
    assert response.status_code == 302 and "/invoices/" in response.location
    statement = work.live_statement(order)
    assert statement is not None and statement.net_total == 80000
    again = client.post(f"/orders/{order.id}/bill")
    assert again.status_code == 409
    assert 'id="statement"' in client.get(f"/orders/{order.id}").text


def test_late_orders_are_listed_for_the_lab_only(db, client, login, make_order, lab_manager):
    overdue = make_order()
    overdue.received_dt = datetime.combine(
        clock.today() - timedelta(days=30), datetime.min.time()
    ).replace(tzinfo=clock.suite_now().tzinfo)
    overdue.turnaround_days = 5
    fresh = make_order()
    fresh.received_dt = clock.suite_now()
    fresh.turnaround_days = 5
    db.session.commit()
    login(lab_manager)
    page = client.get("/testing/lab/late")
    assert overdue.reference in page.text and fresh.reference not in page.text
    client.post("/account/signout")
    login(overdue.created_by)
    assert client.get("/testing/lab/late").status_code == 403


@pytest.fixture
def outsiders(make_org, make_user):
    other_lab = make_org(kind=OrgKind.LAB, name="另一实验室")
    authority = make_org(kind=OrgKind.AUTHORITY, name="市场监管局")
    return {
        "other lab staff": make_user(other_lab, role=Role.MANAGER),
        "other enterprise": make_user(make_org(name="别家企业")),
        "regulator": make_user(authority, role=Role.OWNER),
        "lab member": None,
    }


@pytest.mark.parametrize(
    "who", ["other lab staff", "other enterprise", "regulator", "customer", "lab member", "anon"]
)
def test_nobody_else_schedules_cancels_or_bills(
    db, client, login, order, chamber, lab, lab_manager, make_user, outsiders, who
):
    from sharehub.testing import work

    start = clock.at(clock.workday(), 17)
    run = work.schedule(lab_manager, order, chamber, start, start + timedelta(hours=2))
    db.session.commit()
    before = _counts(db)
    user = {
        "customer": order.created_by,
        "lab member": make_user(lab, role=Role.MEMBER),
        "anon": None,
    }.get(who) or outsiders.get(who)
    if user is not None:
        login(user)
        before = _counts(db)
    posts = [
        client.post(
            f"/orders/{order.id}/runs",
            data={
                "run-unit_id": chamber.id,
                "run-starts": _start_text(clock.workday(offset_days=20)),
                "run-hours": "2",
            },
        ),
        client.post(f"/orders/{order.id}/runs/{run.id}/cancel"),
        client.post(f"/orders/{order.id}/bill"),
    ]
    for response in posts:
        if user is None:
            assert response.status_code == 302 and "/account/signin" in response.location
        else:
            assert response.status_code in (403, 404)
    assert _counts(db) == before
