"""The invariants checked after faults, load tests and restores, and the figures a
restored backup must reproduce."""

from datetime import date, timedelta

import sqlalchemy as sa

from sharehub.accounts.models import OrgKind
from sharehub.admin import consistency
from sharehub.billing import payments
from sharehub.billing import services as billing
from sharehub.billing.models import Invoice, InvoiceLine, InvoiceStatus, Payment, PaymentMethod
from sharehub.booking import chain
from sharehub.booking import services as booking_services
from sharehub.booking.models import Booking, ServiceWay, UsageRecord
from sharehub.vouchers.models import VoucherProgramme, VoucherQuota, VoucherUse
from tests.support import clock
from tests.support.clock import at, workday


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
    payments.record_bank_transfer(lab_manager, invoices[0], 50000, clock.today(), "转账 001")
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
    chain.seal(usage)
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
        "invoice_lines_not_adding_up": [],
        "bookings_with_several_live_invoices": [],
        "credit_notes_beyond_invoice": [],
        "negative_invoices_marked_paid": [],
        "voucher_uses_above_share": [],
        "unrecorded_or_unrefunded_money": [],
        "bookings_of_blocked_unfit_units": [],
        "certificate_dates_disordered": [],
        "online_payments_without_their_payment": [],
        "gateway_payments_without_event": [],
        "unauthorised_self_operated_bookings": [],
        "usage_chain_breaks": [],
        "usage_outside_chain": [],
        "statements_with_several_open_fapiao_requests": [],
        "fapiao_amounts_off_statement": [],
        "fapiao_lines_without_tax_code": [],
        "order_statements": [],
        "cancellation_fees_off_statement": [],
        "report_number_gaps": [],
        "issued_reports_changed": [],
        "sample_id_gaps": [],
        "order_totals_not_adding_up": [],
        "revocations_not_ending_the_authorisation": [],
        "funding_accounts_over_budget": [],
        "orders_and_reports_disagree": [],
        "outbox_events_not_told": [],
        "usage_rollup_days_differ": [],
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
    month = invoices[0].issued_dt.astimezone(at(clock.today(), 0).tzinfo).month
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
    # Usage that names the other unit than its booking's (changed behind the application's
    # back: a sealed record is never updated through it), which also breaks its lab's chain.
    db.session.execute(
        sa.update(UsageRecord).where(UsageRecord.id == usage.id).values(unit_id=listing.units[1].id)
    )
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
    [broken] = found["usage_chain_breaks"]
    assert broken.startswith(f"lab {lab.id}, record {usage.id} (position 1): ")


def test_each_kind_of_damage_to_the_money_chain_is_reported(
    db, lab, lab_manager, make_org, make_user, make_listing
):
    listing, bookings, invoices, _ = world(db, lab, lab_manager, make_org, make_user, make_listing)
    first, second = invoices
    # A line changed by hand: the lines no longer add up to the totals.
    db.session.execute(
        sa.update(InvoiceLine).where(InvoiceLine.invoice_id == first.id).values(net=99000)
    )
    # The booking invoiced a second time (past the index that normally refuses it).
    db.session.execute(sa.text("DROP INDEX uq_invoice_live_booking"))
    again = Invoice(lab_id=lab.id, customer_org_id=first.customer_org_id, booking=bookings[0])
    # Two credit notes of the second invoice that together take back more than its total,
    # and the invoice, below zero, marked paid.
    credit_notes = [
        Invoice(
            lab_id=lab.id,
            customer_org_id=second.customer_org_id,
            credit_for_id=second.id,
            is_credit_note=True,
            status=InvoiceStatus.ISSUED,
            net_total=-100000,
            vat_total=-6000,
            gross_total=-106000,
            lines=[
                InvoiceLine(
                    description="红字", unit_price=100000, net=-100000, vat_rate_bp=600, vat=-6000
                )
            ],
        )
        for _ in range(2)
    ]
    db.session.add_all([again, *credit_notes])
    second.status = InvoiceStatus.PAID
    # A voucher use that paid more than the programme's half of the first invoice.
    authority = make_org(kind=OrgKind.AUTHORITY)
    programme = VoucherProgramme(
        authority=authority,
        name="创新券",
        subsidy_bp=5000,
        yearly_cap=10_000_00,
        order_cap=10_000_00,
        valid_from=date(2026, 1, 1),
        valid_to=date(2026, 12, 31),
    )
    quota = VoucherQuota(
        programme=programme,
        firm_id=first.customer_org_id,
        year=2026,
        requested_amount=10_000_00,
        granted_amount=10_000_00,
        used_amount=80000,
        status="granted",
    )
    use = VoucherUse(quota=quota, invoice_id=first.id, amount=80000)
    db.session.add_all([programme, quota, use])
    db.session.flush()
    found = consistency.violations()
    assert found["invoice_lines_not_adding_up"] == [
        {
            "invoice_id": first.id,
            "net_total": 100000,
            "vat_total": 6000,
            "lines_net": 99000,
            "lines_vat": 6000,
        }
    ]
    assert found["bookings_with_several_live_invoices"] == [
        {"booking_id": bookings[0].id, "live_invoices": 2}
    ]
    assert found["credit_notes_beyond_invoice"] == [
        {"invoice_id": second.id, "gross_total": 106000, "credit_notes": 2, "credited": 212000}
    ]
    assert found["negative_invoices_marked_paid"] == [
        {"invoice_id": second.id, "credit_note": False, "net": -100000}
    ]
    assert found["voucher_uses_above_share"] == [
        {"invoice_id": first.id, "uses": 1, "paid": 80000, "share": 53000}
    ]


def test_demo_invoices_are_consistent_and_can_be_voided(
    db, lab, lab_manager, make_org, make_user, make_listing
):
    """The demo's year of history goes through the billing service's lines: the checks find
    nothing, and voiding a demo invoice credits all of it."""
    from sharehub.demo.activity import seed_demo_activity

    firm = make_org(name="苏州精密制造有限公司")
    make_user(firm)
    make_listing(lab, units=2, price_external=49999)
    assert seed_demo_activity(today=date(2026, 6, 15)) > 0
    db.session.commit()
    invoices = db.session.scalars(sa.select(Invoice).order_by(Invoice.id)).all()
    assert len(invoices) > 20
    assert all(i.lines and i.gross_total == sum(x.net + x.vat for x in i.lines) for i in invoices)
    assert not any(consistency.violations().values()), consistency.violations()
    demo = invoices[0]
    credit_note = billing.void(lab_manager, demo, "开票有误")
    assert credit_note.gross_total == -demo.gross_total != 0
    assert demo.status == InvoiceStatus.VOID
    assert not any(consistency.violations().values()), consistency.violations()


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
    payments.record_bank_transfer(lab_manager, second, 106000, clock.today(), "转账 002")
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
