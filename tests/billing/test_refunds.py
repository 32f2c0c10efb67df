"""Refunds on cancellation follow the listing's policy: the fee is kept, the rest is credited
with a credit note and what was paid beyond the fee goes back the way it came; the lab
cancelling refunds everything. Figures are exact fen."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from sharehub.billing import payments, refunds, services
from sharehub.billing.models import Invoice, InvoiceStatus, PaymentMethod, Refund, RefundStatus
from sharehub.booking import services as booking_services
from sharehub.core.db import utcnow
from tests.support import clock
from tests.support.billing import signed


@pytest.fixture
def paid(db, booked, lab_manager):
    """The booking's invoice, issued and paid in full by bank transfer."""
    invoice = services.invoice_from_booking(lab_manager, booked)
    services.issue(lab_manager, invoice)
    payments.record_bank_transfer(
        lab_manager, invoice, invoice.gross_total, clock.today(), "苏州精密 转账"
    )
    db.session.commit()
    return invoice


def customer_of(booking):
    return booking.customer_user


def test_the_booking_figures_the_refund_tests_rely_on(paid):
    # 2 h at 499.99 CNY external, 6 % VAT: net 999.98, VAT 60.00, total 1,059.98.
    assert (paid.net_total, paid.vat_total, paid.gross_total) == (99998, 6000, 105998)
    assert paid.status == InvoiceStatus.PAID


def test_free_cancellation_credits_everything_and_refunds_the_transfer(
    db, booked, paid, lab_manager, mailbox
):
    fee = booking_services.cancel(customer_of(booked), booked, "计划变更")
    db.session.commit()
    assert fee == 0
    db.session.expire_all()
    invoice = db.session.get(Invoice, paid.id)
    assert invoice.status == InvoiceStatus.VOID
    (credit_note,) = invoice.credit_notes
    assert (credit_note.net_total, credit_note.vat_total, credit_note.gross_total) == (
        -99998,
        -6000,
        -105998,
    )
    assert credit_note.number.endswith("-000002") and credit_note.status == InvoiceStatus.ISSUED
    (refund,) = invoice.refunds
    assert (refund.method, refund.amount, refund.status) == (
        PaymentMethod.BANK_TRANSFER,
        105998,
        RefundStatus.REQUESTED,
    )
    assert (invoice.paid_amount, invoice.outstanding, invoice.overpaid) == (0, 0, 0)

    refunds.record_refund_sent(lab_manager, refund, clock.today(), "中国银行 退款 0091")
    db.session.commit()
    assert refund.status == RefundStatus.SUCCEEDED
    month = payments.revenue_by_month(invoice.lab_id, invoice.year)[invoice.issued_dt.month - 1]
    assert (month["external_invoiced"], month["external_paid"], month["outstanding"]) == (0, 0, 0)


def test_late_cancellation_keeps_the_fee_and_refunds_the_rest(db, booked, paid):
    listing = booked.listing
    listing.free_cancel_hours, listing.cancel_fee_percent = 24 * 365, 30
    db.session.commit()
    fee = booking_services.cancel(customer_of(booked), booked, "")
    db.session.commit()
    # 30 % of 1,059.98 = 317.994 → 317.99 kept; 742.00 credited and refunded (sign ignored).
    assert fee == 31799
    invoice = db.session.get(Invoice, paid.id)
    assert invoice.status == InvoiceStatus.PAID
    (credit_note,) = invoice.credit_notes
    # 741.99 gross at 6 %: net 699.99 (741.99 / 1.06 = 699.9906), VAT 42.00.
    assert (credit_note.net_total, credit_note.vat_total, credit_note.gross_total) == (
        -69999,
        -4200,
        -74199,
    )
    assert invoice.effective_total == 31799
    (refund,) = invoice.refunds
    assert refund.amount == 74199
    assert (invoice.paid_amount, invoice.outstanding) == (31799, 0)


def test_the_lab_cancelling_refunds_fully_even_late(db, booked, paid, lab_manager):
    listing = booked.listing
    listing.free_cancel_hours, listing.cancel_fee_percent = 24 * 365, 100
    db.session.commit()
    assert booking_services.cancel(lab_manager, booked, "设备故障") == 0
    db.session.commit()
    invoice = db.session.get(Invoice, paid.id)
    assert invoice.status == InvoiceStatus.VOID
    assert sum(r.amount for r in invoice.refunds) == 105998


def test_an_unpaid_invoice_keeps_only_the_fee_open(db, booked, lab_manager):
    invoice = services.invoice_from_booking(lab_manager, booked)
    services.issue(lab_manager, invoice)
    booked.listing.free_cancel_hours, booked.listing.cancel_fee_percent = 24 * 365, 50
    db.session.commit()
    booking_services.cancel(customer_of(booked), booked, "")
    db.session.commit()
    assert invoice.refunds == []
    assert (invoice.status, invoice.effective_total, invoice.outstanding) == (
        InvoiceStatus.ISSUED,
        52999,
        52999,
    )


def test_a_draft_invoice_is_discarded_on_cancellation(db, booked, lab_manager):
    draft = services.invoice_from_booking(lab_manager, booked)
    db.session.commit()
    draft_id = draft.id
    booking_services.cancel(customer_of(booked), booked, "")
    db.session.commit()
    assert db.session.get(Invoice, draft_id) is None


def test_voiding_a_partly_paid_invoice_refunds_what_was_received(db, booked, lab_manager):
    invoice = services.invoice_from_booking(lab_manager, booked)
    services.issue(lab_manager, invoice)
    payments.record_bank_transfer(lab_manager, invoice, 50000, clock.today(), "first half")
    db.session.commit()
    services.void(lab_manager, invoice, "开票信息有误")
    db.session.commit()
    assert invoice.status == InvoiceStatus.VOID
    assert [(r.method, r.amount) for r in invoice.refunds] == [(PaymentMethod.BANK_TRANSFER, 50000)]


def test_only_the_lab_records_a_bank_refund_and_only_once(
    db, booked, paid, lab_manager, make_user, make_org
):
    booking_services.cancel(customer_of(booked), booked, "")
    db.session.commit()
    (refund,) = paid.refunds
    stranger = make_user(make_org(name="别家实验室"), email="other@example.cn")
    with pytest.raises(refunds.PermissionDenied):
        refunds.record_refund_sent(stranger, refund, clock.today(), "x")
    with pytest.raises(refunds.ValidationError):
        refunds.record_refund_sent(lab_manager, refund, clock.today() + timedelta(days=1), "x")
    with pytest.raises(refunds.ValidationError):
        refunds.record_refund_sent(lab_manager, refund, clock.today(), "  ")
    refunds.record_refund_sent(lab_manager, refund, clock.today(), "ref 1")
    with pytest.raises(refunds.Conflict):
        refunds.record_refund_sent(lab_manager, refund, clock.today(), "ref 2")


def test_a_refund_sent_today_in_beijing_is_accepted_before_dawn(db, booked, paid, lab_manager):
    """At 00:30 Beijing time the server's UTC date is yesterday; the refund's date is
    compared with the Beijing day."""
    booking_services.cancel(customer_of(booked), booked, "")
    db.session.commit()
    (refund,) = paid.refunds
    with clock.travel(clock.at(clock.today(), 0, 30)):
        refunds.record_refund_sent(lab_manager, refund, clock.today(), "凌晨退款 0001")
    assert refund.status.value == "succeeded"


def test_the_lab_records_a_bank_refund_through_the_invoice_page(
    client, db, booked, paid, lab_manager, login, english
):
    booking_services.cancel(customer_of(booked), booked, "")
    db.session.commit()
    (refund,) = paid.refunds
    login(lab_manager)
    page = client.get(f"/invoices/{paid.id}").get_data(as_text=True)
    assert "To be refunded" in page and "1,059.98" in page
    bad = client.post(
        f"/refunds/{refund.id}/sent",
        data={"sent_date": "someday", "reference": "ref"},
        follow_redirects=True,
    )
    assert "YYYY-MM-DD" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).status == RefundStatus.REQUESTED
    client.post(
        f"/refunds/{refund.id}/sent",
        data={"sent_date": clock.today().isoformat(), "reference": "中国银行 退款 0091"},
    )
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).status == RefundStatus.SUCCEEDED


def card_paid(db, booked, lab_manager, intent="pi_card_1"):
    invoice = services.invoice_from_booking(lab_manager, booked)
    services.issue(lab_manager, invoice)
    payments.apply_payment(
        invoice,
        PaymentMethod.CARD,
        invoice.gross_total,
        provider_ref=intent,
        payer_reference=intent,
    )
    db.session.commit()
    return invoice


def refund_event(event_id, refund_id, status, metadata=None, amount=105998, intent="pi_card_1"):
    return {
        "id": event_id,
        "type": "refund.updated",
        "data": {
            "object": {
                "id": refund_id,
                "object": "refund",
                "amount": amount,
                "payment_intent": intent,
                "status": status,
                "failure_reason": "expired_or_canceled_card" if status == "failed" else None,
                "metadata": metadata or {},
            }
        },
    }


def test_refund_webhooks_settle_a_submitted_refund_once(
    client,
    db,
    booked,
    lab_manager,
    stripe_keys,
):
    invoice = card_paid(db, booked, lab_manager)
    booking_services.cancel(customer_of(booked), booked, "")
    db.session.commit()
    (refund,) = invoice.refunds
    assert (refund.method, refund.status) == (PaymentMethod.CARD, RefundStatus.REQUESTED)
    # The gateway accepted it and reports "pending" first (as it does for Alipay).
    refund.status, refund.provider_ref = RefundStatus.SUBMITTED, "re_1"
    db.session.commit()

    body, headers = signed(refund_event("evt_r1", "re_1", "succeeded"))
    assert client.post("/webhooks/stripe", data=body, headers=headers).get_json()["outcome"] == (
        "refund succeeded"
    )
    late, late_headers = signed(refund_event("evt_r0", "re_1", "failed"))
    assert client.post("/webhooks/stripe", data=late, headers=late_headers).get_json()[
        "outcome"
    ] == ("refund already succeeded")
    assert client.post("/webhooks/stripe", data=body, headers=headers).get_json()["outcome"] == (
        "duplicate"
    )
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).status == RefundStatus.SUCCEEDED


def test_a_failed_refund_leaves_the_money_counted_as_received(
    client,
    db,
    booked,
    lab_manager,
    stripe_keys,
):
    invoice = card_paid(db, booked, lab_manager)
    booking_services.cancel(customer_of(booked), booked, "")
    (refund,) = invoice.refunds
    refund.status, refund.provider_ref = RefundStatus.SUBMITTED, "re_2"
    db.session.commit()
    body, headers = signed(refund_event("evt_f", "re_2", "failed"))
    client.post("/webhooks/stripe", data=body, headers=headers)
    db.session.expire_all()
    refund = db.session.get(Refund, refund.id)
    assert (refund.status, refund.failure) == (RefundStatus.FAILED, "expired_or_canceled_card")
    assert refund.invoice.overpaid == 105998  # still owed back: the lab sees it


def test_a_refund_made_at_the_provider_is_recorded_against_its_payment(
    client,
    db,
    booked,
    lab_manager,
    stripe_keys,
):
    invoice = card_paid(db, booked, lab_manager)
    body, headers = signed(refund_event("evt_d", "re_dash", "succeeded", amount=10000))
    assert client.post("/webhooks/stripe", data=body, headers=headers).get_json()["outcome"] == (
        "refund recorded"
    )
    too_much, headers = signed(refund_event("evt_e", "re_dash2", "succeeded", amount=999999))
    assert client.post("/webhooks/stripe", data=too_much, headers=headers).get_json()[
        "outcome"
    ] == ("unknown refund")
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice.id)
    assert [(r.provider_ref, r.amount) for r in invoice.refunds] == [("re_dash", 10000)]
    assert (invoice.paid_amount, invoice.outstanding, invoice.status) == (
        95998,
        10000,
        InvoiceStatus.ISSUED,
    )


def test_requested_refunds_are_not_sent_without_a_gateway(db, booked, lab_manager):
    invoice = card_paid(db, booked, lab_manager)
    booking_services.cancel(customer_of(booked), booked, "")
    db.session.commit()
    assert refunds.submit_refunds() == 0
    assert invoice.refunds[0].status == RefundStatus.REQUESTED
    assert db.session.scalar(sa.select(sa.func.count(Refund.id))) == 1
    assert invoice.refunds[0].created_dt <= utcnow()
