"""The invariants checked after faults, load tests and restores, and the figures a
restored backup must reproduce."""

from datetime import date, timedelta

import sqlalchemy as sa

from sharehub.admin import consistency
from sharehub.billing import payments
from sharehub.billing import services as billing
from sharehub.billing.models import Invoice, Payment, PaymentMethod
from sharehub.booking import services as booking_services
from sharehub.booking.models import Booking, ServiceWay, UsageRecord
from tests.booking.test_booking_service import at, workday


def world(db, lab, lab_manager, make_org, make_user, make_listing):
    """Two bookings on two units, two issued invoices (one partly paid), a usage record."""
    firm = make_org(name="苏州精密制造有限公司")
    buyer = make_user(firm, email="buyer@example.cn")
    listing = make_listing(lab, units=2, approval_required=False, price_external=50000)
    day = workday()
    bookings = [
        booking_services.create_booking(
            buyer,
            firm,
            listing,
            booking_services.BookingRequest(
                starts_dt=at(day, 8, 30), ends_dt=at(day, 10, 30), unit_id=unit.id
            ),
        )
        for unit in listing.units
    ]
    invoices = []
    for booking in bookings:
        invoice = billing.invoice_from_booking(lab_manager, booking)
        billing.issue(lab_manager, invoice)
        invoices.append(invoice)
    payments.record_bank_transfer(lab_manager, invoices[0], 50000, date.today(), "转账 001")
    usage = UsageRecord(
        unit_id=listing.units[0].id,
        booking_id=bookings[0].id,
        user_org_id=firm.id,
        started_dt=at(day, 8, 30),
        ended_dt=at(day, 10, 25),
        prep_minutes=10,
        run_minutes=100,
        post_minutes=5,
        service_way=ServiceWay.ON_SITE,
    )
    db.session.add(usage)
    db.session.commit()
    return listing, bookings, invoices, usage


def test_a_consistent_database_has_no_violations_and_exact_figures(
    db, lab, lab_manager, make_org, make_user, make_listing
):
    listing, bookings, invoices, _ = world(db, lab, lab_manager, make_org, make_user, make_listing)
    assert consistency.violations() == {
        "overlapping_holding_bookings": [],
        "invoice_number_gaps": [],
        "payments_without_invoice": [],
        "payment_mismatches": [],
        "usage_without_valid_unit": [],
        "unrecorded_or_unrefunded_money": [],
    }
    figures = consistency.figures()
    # 2 h at 500.00 yuan, 6 % VAT: 1,060.00 yuan per booking and invoice.
    assert figures["bookings.confirmed"] == (2, 212000)
    assert figures["invoices.issued"] == (2, 212000)
    assert figures["payments.bank_transfer"] == (1, 50000)
    assert figures[f"usage_minutes.lab{lab.id}"] == (1, 115)
    assert figures["rows.booking"] == 2 and figures["rows.payment"] == 1
    year = invoices[0].year
    months = figures[f"revenue_by_month.lab{lab.id}.{year}"]
    month = invoices[0].issued_dt.astimezone(at(date.today(), 0).tzinfo).month
    row = months[month - 1]
    assert (row["external_invoiced"], row["external_paid"], row["outstanding"]) == (
        212000,
        50000,
        162000,
    )


def test_each_kind_of_damage_is_reported(db, lab, lab_manager, make_org, make_user, make_listing):
    listing, bookings, invoices, usage = world(
        db, lab, lab_manager, make_org, make_user, make_listing
    )
    first, second = invoices
    # A number taken but its invoice lost: sequence 2 renumbered to 3 (counter still at 2).
    db.session.execute(sa.update(Invoice).where(Invoice.id == second.id).values(sequence=3))
    # Money recorded against a draft, and more money than an invoice's total.
    draft = Invoice(lab_id=lab.id, customer_org_id=first.customer_org_id)
    db.session.add(draft)
    db.session.flush()
    stray = Payment(invoice_id=draft.id, method=PaymentMethod.BANK_TRANSFER, amount=100)
    extra = Payment(invoice_id=first.id, method=PaymentMethod.BANK_TRANSFER, amount=60000)
    db.session.add_all([stray, extra])
    # Usage that names the other unit than its booking's.
    usage.unit_id = listing.units[1].id
    db.session.flush()
    found = consistency.violations()
    assert found["overlapping_holding_bookings"] == []
    assert found["invoice_number_gaps"] == [
        {
            "lab_id": lab.id,
            "year": first.year,
            "invoices": 2,
            "first": 1,
            "last": 3,
            "counter": 2,
        }
    ]
    assert found["payments_without_invoice"] == [stray.id]
    assert found["payment_mismatches"] == [
        {"invoice_id": first.id, "status": "issued", "gross_total": 106000, "paid": 110000},
        {"invoice_id": draft.id, "status": "draft", "gross_total": 0, "paid": 100},
    ]
    assert found["usage_without_valid_unit"] == [usage.id]


def test_cancelled_bookings_may_overlap_holding_ones(
    db, lab, lab_manager, make_org, make_user, make_listing
):
    listing, bookings, _, _ = world(db, lab, lab_manager, make_org, make_user, make_listing)
    booking_services.cancel(lab_manager, bookings[0], "仪器故障")
    again = booking_services.create_booking(
        bookings[0].customer_user,
        bookings[0].customer_org,
        listing,
        booking_services.BookingRequest(
            starts_dt=bookings[0].starts_dt,
            ends_dt=bookings[0].ends_dt + timedelta(minutes=60),
            unit_id=bookings[0].unit_id,
        ),
    )
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 3
    assert again.is_holding and consistency.overlapping_bookings() == []


def test_check_consistency_command(app, db):
    result = app.test_cli_runner().invoke(args=["sharehub", "check-consistency"])
    assert result.exit_code == 0, result.output
    assert "overlapping_holding_bookings: 0" in result.output and "Consistent." in result.output


def test_money_recorded_nowhere_or_kept_beyond_what_is_owed_is_reported(
    db, lab, lab_manager, make_org, make_user, make_listing
):
    from sharehub.billing.models import GatewayEvent, Refund, RefundStatus

    _, _, invoices, _ = world(db, lab, lab_manager, make_org, make_user, make_listing)
    first, second = invoices
    assert consistency.unrecorded_or_unrefunded_money() == []
    # The gateway reported money taken, and no payment row holds it.
    db.session.add(
        GatewayEvent(
            id="evt_lost",
            type="payment_intent.succeeded",
            payload={},
            outcome="invoice paid",
            payment_ref="pi_lost",
        )
    )
    # An invoice paid twice: the excess put to refund is no violation, until the refund fails.
    payments.record_bank_transfer(lab_manager, second, 106000, date.today(), "转账 002")
    twice = Payment(invoice_id=second.id, method=PaymentMethod.CARD, amount=106000)
    db.session.add(twice)
    db.session.flush()
    assert consistency.unrecorded_or_unrefunded_money()[1:] == [
        {"invoice_id": second.id, "overpaid": 106000}
    ]
    refund = Refund(
        invoice_id=second.id, payment_id=twice.id, method=PaymentMethod.CARD, amount=106000
    )
    db.session.add(refund)
    db.session.flush()
    assert consistency.unrecorded_or_unrefunded_money() == [
        {"event": "evt_lost", "payment_ref": "pi_lost", "outcome": "invoice paid"}
    ]
    refund.status = RefundStatus.FAILED
    db.session.flush()
    found = consistency.violations()["unrecorded_or_unrefunded_money"]
    assert found == [
        {"event": "evt_lost", "payment_ref": "pi_lost", "outcome": "invoice paid"},
        {"invoice_id": second.id, "overpaid": 106000},
    ]
    # Once recorded, the gateway's payment is no longer reported.
    db.session.add(
        Payment(invoice_id=first.id, method=PaymentMethod.CARD, amount=1, provider_ref="pi_lost")
    )
    db.session.flush()
    assert consistency.unrecorded_or_unrefunded_money() == [
        {"invoice_id": second.id, "overpaid": 106000}
    ]
