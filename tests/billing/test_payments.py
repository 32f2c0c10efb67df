"""Bank transfers recorded against invoices, and the lab's revenue by month."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.billing import payments, services
from sharehub.billing.models import Invoice, InvoiceStatus, Payment
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from tests.support import clock

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def issued(db, booked, lab_manager):
    invoice = services.invoice_from_booking(lab_manager, booked)
    services.issue(lab_manager, invoice)
    db.session.commit()
    return invoice


def test_partial_then_full_transfer_pays_the_invoice(db, issued, lab_manager):
    assert issued.outstanding == 105998
    payments.record_bank_transfer(
        lab_manager, issued, 50000, clock.today(), issued.payment_reference
    )
    assert issued.status == InvoiceStatus.ISSUED and issued.outstanding == 55998
    with pytest.raises(ValidationError, match="more than"):
        payments.record_bank_transfer(lab_manager, issued, 60000, clock.today(), "")
    payments.record_bank_transfer(lab_manager, issued, 55998, clock.today(), "")
    assert issued.status == InvoiceStatus.PAID and issued.outstanding == 0
    with pytest.raises(Conflict):
        payments.record_bank_transfer(lab_manager, issued, 1, clock.today(), "")


def test_bad_payment_input_changes_nothing(db, issued, lab_manager, booked):
    with pytest.raises(ValidationError):
        payments.record_bank_transfer(lab_manager, issued, 0, clock.today(), "")
    with pytest.raises(ValidationError, match="future"):
        payments.record_bank_transfer(
            lab_manager, issued, 100, clock.today() + timedelta(days=2), ""
        )
    with pytest.raises(PermissionDenied):
        payments.record_bank_transfer(booked.customer_user, issued, 100, clock.today(), "")
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0


def test_pages_record_a_transfer_and_show_revenue(
    client, db, issued, lab, lab_manager, login, booked, mailbox
):
    login(booked.customer_user)
    page = client.get(f"/invoices/{issued.id}").get_data(as_text=True)
    assert issued.payment_reference in page and "record-payment" not in page
    assert (
        client.post(
            f"/invoices/{issued.id}/payments",
            data={"amount": "10", "paid_date": clock.today().isoformat()},
        ).status_code
        == 403  # the customer may not record a transfer: refused, nothing recorded
    )
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0  # customers cannot
    client.post("/account/signout")
    login(lab_manager)
    response = client.post(
        f"/invoices/{issued.id}/payments",
        follow_redirects=True,
        data={"amount": "abc", "paid_date": "yesterday"},
    )
    assert "YYYY-MM-DD" in response.get_data(as_text=True)
    client.post(
        f"/invoices/{issued.id}/payments",
        data={
            "amount": "1059.98",
            "paid_date": clock.today().isoformat(),
            "payer_reference": issued.payment_reference,
        },
    )
    db.session.expire_all()
    assert db.session.get(Invoice, issued.id).status == InvoiceStatus.PAID
    assert "paid in full" in mailbox.body(mailbox.last_to("buyer@example.cn"))
    html = client.get(f"/lab/revenue?year={issued.year}").get_data(as_text=True)
    assert html.count("1,059.98") >= 2  # invoiced and paid, external


def test_revenue_separates_internal_and_external_and_nets_credit_notes(
    db, issued, lab, lab_manager
):
    rows = {r["month"]: r for r in payments.revenue_by_month(lab.id, issued.year)}
    month = issued.issued_dt.astimezone(clock.at(clock.today(), 0).tzinfo).month  # Beijing
    assert rows[month]["external_invoiced"] == 105998 and rows[month]["internal_invoiced"] == 0
    services.void(lab_manager, issued, "重开")
    rows = {r["month"]: r for r in payments.revenue_by_month(lab.id, issued.year)}
    assert rows[month]["external_invoiced"] == 0


def test_a_receipt_dated_today_in_beijing_is_accepted_before_dawn(db, issued, lab_manager):
    """At 05:54 Beijing time the server's UTC date is still yesterday: the receipt's
    date is compared with the Beijing day, so today's receipt is not "in the future"."""
    with clock.travel(clock.at(clock.today(), 5, 54)):
        beijing_today = clock.today()
        payment = payments.record_bank_transfer(
            lab_manager, issued, 50000, beijing_today, "清晨到账"
        )
        assert payment.paid_date == beijing_today
        with pytest.raises(ValidationError, match="future"):
            payments.record_bank_transfer(
                lab_manager, issued, 100, beijing_today + timedelta(days=1), ""
            )


def test_a_transfer_typed_against_what_was_open_is_recorded_after_an_online_payment(
    client, db, issued, lab_manager, login, booked
):
    """The lab types a transfer it received while the customer pays online: the invoice is
    paid by the time the form arrives. The transfer is real money: it is recorded and the
    excess listed to refund by bank transfer; a typed amount beyond what the page showed
    open is still refused as a mistake."""
    from sharehub.billing.models import PaymentMethod, RefundStatus

    login(lab_manager)
    page = client.get(f"/invoices/{issued.id}").get_data(as_text=True)
    assert f'name="seen_outstanding" value="{issued.outstanding}"' in page
    payments.apply_payment(
        issued, PaymentMethod.CARD, issued.gross_total, provider_ref="pi_1", arrived=True
    )
    db.session.commit()
    form = {
        "amount": "1059.98",
        "paid_date": clock.today().isoformat(),
        "payer_reference": issued.payment_reference,
        "seen_outstanding": "105998",
    }
    too_much = dict(form, amount="1060.00")
    response = client.post(f"/invoices/{issued.id}/payments", data=too_much, follow_redirects=True)
    assert "Only an issued, unpaid statement takes payments." in response.get_data(as_text=True)
    response = client.post(f"/invoices/{issued.id}/payments", data=form, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "1,059.98 received beyond what is owed is to be refunded" in html
    assert "To be refunded" in html
    db.session.expire_all()
    invoice = db.session.get(Invoice, issued.id)
    assert [(p.method, p.amount) for p in invoice.payments] == [
        (PaymentMethod.CARD, 105998),
        (PaymentMethod.BANK_TRANSFER, 105998),
    ]
    (refund,) = invoice.refunds
    assert refund.reason in html
    assert (refund.method, refund.amount, refund.status, refund.payment_id) == (
        PaymentMethod.BANK_TRANSFER,
        105998,
        RefundStatus.REQUESTED,
        invoice.payments[1].id,
    )
    assert (invoice.status, invoice.paid_amount, invoice.overpaid) == (
        InvoiceStatus.PAID,
        105998,
        0,
    )
    # Without what the page showed, an amount beyond what is open is a typing mistake.
    with pytest.raises(Conflict):
        payments.record_bank_transfer(lab_manager, invoice, 100, clock.today(), "")


def test_revenue_and_reconciliation_read_open_invoices_in_a_fixed_number_of_statements(
    client, db, lab, lab_manager, login, make_org, make_invoice
):
    """What each open invoice still owes (payments, refunds, credit notes) is read for all
    the invoices at once: the pages run as many statements for six invoices as for two."""
    from sharehub.extensions import db as _db

    firm = make_org()
    day = clock.today().isoformat()
    for n in range(2):
        make_invoice(lab, firm, 10000 + n, f"{day} 10:00")
    login(lab_manager)
    statements = []

    def count(*_args):
        statements.append(1)

    def statements_of(url):
        assert client.get(url).status_code == 200  # the signed-in user loaded again
        statements.clear()
        sa.event.listen(_db.engine, "before_cursor_execute", count)
        try:
            assert client.get(url).status_code == 200
        finally:
            sa.event.remove(_db.engine, "before_cursor_execute", count)
        return len(statements)

    before = {url: statements_of(url) for url in ("/lab/revenue", "/lab/reconciliation")}
    for n in range(4):
        invoice = make_invoice(lab, firm, 20000 + n, f"{day} 11:00")
        payments.record_bank_transfer(lab_manager, invoice, 5000, clock.today(), "")
        make_invoice(lab, firm, -1000, f"{day} 12:00", is_credit_note=True, credit_for=invoice)
    db.session.commit()
    after = {url: statements_of(url) for url in ("/lab/revenue", "/lab/reconciliation")}
    assert after == before
