"""The invoice pages read what they are sent through their forms: an amount, a quantity
or a date out of bounds is a 400 with its message on the invoice page, nothing is written,
and a post without its CSRF token is refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sharehub.billing import services
from sharehub.billing.models import Invoice, InvoiceLine, Payment
from tests.support import clock

EN = {"Accept-Language": "en"}
UNREADABLE = "Give the amount in yuan and the date as YYYY-MM-DD."


@pytest.fixture
def draft(db, booked, lab_manager):
    invoice = services.invoice_from_booking(lab_manager, booked)
    db.session.commit()
    return invoice


@pytest.fixture
def issued(db, draft, lab_manager):
    services.issue(lab_manager, draft)
    db.session.commit()
    return draft


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"unit_price": ""}, "A price is a number of yuan"),
        ({"unit_price": "12.345"}, "at most two decimals"),
        ({"unit_price": "-1"}, "A price is a number of yuan"),
        ({"unit_price": "100000000.01"}, "at most 100,000,000 yuan"),
        ({"quantity": "many"}, "The quantity is a number"),
    ],
)
def test_an_invoice_line_out_of_bounds_is_a_400_on_the_invoice_page(
    client, db, login, lab_manager, draft, values, message
):
    login(lab_manager)
    before = count(db, InvoiceLine)
    data = {"description": "额外制样", "quantity": "1", "unit_price": "10", **values}
    answer = client.post(f"/invoices/{draft.id}/line", data=data, headers=EN)
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert message in page.replace("&#39;", "'")
    assert f"/invoices/{draft.id}/issue" in page  # the invoice page, not a bare error
    assert count(db, InvoiceLine) == before


def test_a_valid_invoice_line_is_added(client, db, login, lab_manager, draft):
    login(lab_manager)
    before = count(db, InvoiceLine)
    data = {"description": "额外制样", "quantity": "2", "unit_price": "10.50"}
    answer = client.post(f"/invoices/{draft.id}/line", data=data)
    assert answer.status_code == 302
    assert count(db, InvoiceLine) == before + 1
    line = db.session.scalar(sa.select(InvoiceLine).where(InvoiceLine.description == "额外制样"))
    assert line.unit_price == 1050


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"amount": ""}, UNREADABLE),
        ({"amount": "ten"}, UNREADABLE),
        ({"amount": "1e3"}, UNREADABLE),
        ({"paid_date": "yesterday"}, UNREADABLE),
        ({"paid_date": ""}, UNREADABLE),
        ({"amount": "100000001"}, "at most 100,000,000 yuan"),
        ({"paid_date": "1999-12-31"}, "between the years 2000 and 2100"),
    ],
)
def test_a_payment_out_of_bounds_is_a_400_with_one_message(
    client, db, login, lab_manager, issued, values, message
):
    login(lab_manager)
    data = {"amount": "10", "paid_date": clock.today().isoformat(), "payer_reference": "x"}
    answer = client.post(f"/invoices/{issued.id}/payments", data={**data, **values}, headers=EN)
    assert answer.status_code == 400
    assert answer.get_data(as_text=True).count(message) == 1
    assert count(db, Payment) == 0


def test_online_payment_needs_a_known_method(client, db, login, booked, issued):
    login(booked.customer_user)
    answer = client.post(f"/invoices/{issued.id}/pay", data={"method": "barter"}, headers=EN)
    assert answer.status_code == 400
    assert "Choose card, Alipay or WeChat Pay." in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/invoices/{invoice}/line", {"description": "x", "quantity": "1", "unit_price": "1"}),
        ("/invoices/{invoice}/void", {"reason": "错开"}),
        ("/invoices/{invoice}/payments", {"amount": "10", "paid_date": "{today}"}),
    ],
)
def test_a_post_with_a_wrong_csrf_token_is_a_400(
    app, client, db, login, lab_manager, issued, path, data
):
    login(lab_manager)
    lines = count(db, InvoiceLine)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        data = {k: v.replace("{today}", clock.today().isoformat()) for k, v in data.items()}
        answer = client.post(
            path.format(invoice=issued.id), data={**data, "csrf_token": "forged"}, headers=EN
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert answer.status_code == 400
    db.session.expire_all()
    assert db.session.get(Invoice, issued.id).status.value == "issued"
    assert count(db, InvoiceLine) == lines
    assert count(db, Payment) == 0


def test_a_payment_typed_in_yuan_is_kept_in_fen(client, db, login, lab_manager, issued):
    login(lab_manager)
    answer = client.post(
        f"/invoices/{issued.id}/payments",
        data={"amount": "1,000.50", "paid_date": clock.today().isoformat(), "payer_reference": "x"},
    )
    assert answer.status_code == 302
    assert db.session.scalar(sa.select(Payment.amount)) == 100050
