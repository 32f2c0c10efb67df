"""Invariants of the stored data, and the figures a backup must reproduce.

`violations()` is what must hold whatever happened to the machines (a killed worker, a
restarted database, a load test): no two holding bookings of a unit overlap, invoice
numbers run without gaps per lab and year, every payment belongs to an issued invoice it
does not exceed, every usage record is tied to a real unit, an invoice's lines add up to
its totals, a booking has one live invoice, credit notes never exceed their invoice, no
invoice below zero is marked paid, a voucher pays at most its programme's share, a
statement has at most one open fapiao request, an issued fapiao (less its red ones)
is for its statement's total less credit notes, and a statement waiting for its fapiao
has a 19-digit tax classification code on every line, and no stored event waits untold
for over an hour.
`figures()` gathers the counts and sums that must come out equal after a pg_dump is
restored into an empty database.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so

from sharehub.billing.models import (
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    InvoiceStatus,
    Payment,
)
from sharehub.booking import chain, funding
from sharehub.booking.models import HOLDING, Booking, BookingStatus, UsageRecord
from sharehub.catalog.models import Listing, Unit
from sharehub.competence.models import Authorisation, Level, Requirement, requirement_listing
from sharehub.core.clock import utcnow
from sharehub.core.mail import MAX_ATTEMPTS
from sharehub.core.models import OutboxEvent
from sharehub.extensions import db
from sharehub.fapiao import queries as fapiao_queries
from sharehub.stats.models import UsageDay
from sharehub.testing.models import (
    Quote,
    QuoteLine,
    QuoteStatus,
    Sample,
    SampleCounter,
    TestingRequest,
)
from sharehub.vouchers.models import VoucherProgramme, VoucherQuota, VoucherUse


def overlapping_bookings() -> list[tuple[int, int]]:
    """Pairs of holding bookings of one unit whose blocked times overlap."""
    a, b = so.aliased(Booking), so.aliased(Booking)
    rows = db.session.execute(
        sa.select(a.id, b.id)
        .join(b, sa.and_(b.unit_id == a.unit_id, b.id > a.id))
        .where(
            a.status.in_(HOLDING),
            b.status.in_(HOLDING),
            a.starts_dt < b.blocked_until_dt,
            b.starts_dt < a.blocked_until_dt,
        )
        .order_by(a.id, b.id)
    ).all()
    return [tuple(row) for row in rows]


def invoice_number_gaps() -> list[dict]:
    """Labs and years whose numbered invoices are not exactly 1..n with the counter at n."""
    numbered = (
        sa.select(
            Invoice.lab_id,
            Invoice.year,
            sa.func.count().label("n"),
            sa.func.count(sa.distinct(Invoice.sequence)).label("distinct"),
            sa.func.min(Invoice.sequence).label("first"),
            sa.func.max(Invoice.sequence).label("last"),
        )
        .where(Invoice.sequence.is_not(None))
        .group_by(Invoice.lab_id, Invoice.year)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(
            sa.func.coalesce(numbered.c.lab_id, InvoiceCounter.lab_id),
            sa.func.coalesce(numbered.c.year, InvoiceCounter.year),
            numbered.c.n,
            numbered.c.distinct,
            numbered.c.first,
            numbered.c.last,
            InvoiceCounter.last_number,
        ).join(
            InvoiceCounter,
            sa.and_(
                InvoiceCounter.lab_id == numbered.c.lab_id,
                InvoiceCounter.year == numbered.c.year,
            ),
            full=True,
        )
    ).all()
    gaps = []
    for lab_id, year, n, distinct, first, last, counter in rows:
        n = n or 0
        ok = n == (distinct or 0) == (last or 0) == (counter or 0) and (n == 0 or first == 1)
        if not ok:
            gaps.append(
                {
                    "lab_id": lab_id,
                    "year": year,
                    "invoices": n,
                    "first": first,
                    "last": last,
                    "counter": counter,
                }
            )
    return gaps


def payments_without_invoice() -> list[int]:
    """Payments whose invoice is missing, still a draft, or a credit note."""
    return list(
        db.session.scalars(
            sa.select(Payment.id)
            .outerjoin(Invoice, Invoice.id == Payment.invoice_id)
            .where(
                sa.or_(
                    Invoice.id.is_(None),
                    Invoice.status == InvoiceStatus.DRAFT,
                    Invoice.is_credit_note.is_(True),
                )
            )
            .order_by(Payment.id)
        )
    )


def online_payments_without_their_payment() -> list[dict]:
    """Paid merchant-account attempts without exactly one payment of their amount (and
    payments that are not paid attempts' own)."""
    from sharehub.billing.models import OnlinePayment, OnlinePaymentStatus

    rows = db.session.execute(
        sa.select(OnlinePayment.id, OnlinePayment.status, OnlinePayment.amount_fen, Payment.amount)
        .outerjoin(Payment, Payment.id == OnlinePayment.payment_id)
        .where(
            sa.or_(
                sa.and_(
                    OnlinePayment.status == OnlinePaymentStatus.PAID,
                    sa.or_(Payment.id.is_(None), Payment.amount != OnlinePayment.amount_fen),
                ),
                sa.and_(
                    OnlinePayment.status != OnlinePaymentStatus.PAID,
                    OnlinePayment.payment_id.is_not(None),
                ),
            )
        )
        .order_by(OnlinePayment.id)
    ).all()
    return [
        {"online_payment_id": i, "status": str(s), "amount": a, "payment_amount": p}
        for i, s, a, p in rows
    ]


def gateway_payments_without_event() -> list[int]:
    """Payments a gateway reported (they carry its reference) without the verified event
    that recorded them."""
    from sharehub.billing.models import GatewayEvent

    return list(
        db.session.scalars(
            sa.select(Payment.id)
            .where(
                Payment.provider_ref.is_not(None),
                ~sa.exists().where(GatewayEvent.payment_ref == Payment.provider_ref),
            )
            .order_by(Payment.id)
        )
    )


def payment_mismatches() -> list[dict]:
    """Invoices that keep more than they are owed, or marked paid without being paid in
    full. Kept is payments less refunds not failed; owed is the total with its credit
    notes, so an overpayment on its way back is no mismatch."""
    joined, kept, owed = _kept_and_owed()
    rows = db.session.execute(
        joined.with_only_columns(Invoice.id, Invoice.status, Invoice.gross_total, kept)
        .where(
            Invoice.is_credit_note.is_(False),
            sa.or_(kept > owed, sa.and_(Invoice.status == InvoiceStatus.PAID, kept != owed)),
        )
        .order_by(Invoice.id)
    ).all()
    return [
        {"invoice_id": i, "status": str(s), "gross_total": g, "paid": int(p or 0)}
        for i, s, g, p in rows
    ]


def usage_without_valid_unit() -> list[int]:
    """Usage records whose unit is gone, or that differ from the unit of their booking."""
    return list(
        db.session.scalars(
            sa.select(UsageRecord.id)
            .outerjoin(Unit, Unit.id == UsageRecord.unit_id)
            .outerjoin(Booking, Booking.id == UsageRecord.booking_id)
            .where(
                sa.or_(
                    Unit.id.is_(None),
                    sa.and_(
                        UsageRecord.booking_id.is_not(None),
                        sa.or_(Booking.id.is_(None), Booking.unit_id != UsageRecord.unit_id),
                    ),
                )
            )
            .order_by(UsageRecord.id)
        )
    )


def invoice_lines_not_adding_up() -> list[dict]:
    """Invoices and credit notes whose lines do not sum to their net and VAT totals (an
    invoice without lines counts as lines summing to zero)."""
    lines = (
        sa.select(
            InvoiceLine.invoice_id,
            sa.func.sum(InvoiceLine.net).label("net"),
            sa.func.sum(InvoiceLine.vat).label("vat"),
        )
        .group_by(InvoiceLine.invoice_id)
        .subquery()
    )
    net = sa.func.coalesce(lines.c.net, 0)
    vat = sa.func.coalesce(lines.c.vat, 0)
    rows = db.session.execute(
        sa.select(Invoice.id, Invoice.net_total, Invoice.vat_total, net, vat)
        .outerjoin(lines, lines.c.invoice_id == Invoice.id)
        .where(sa.or_(net != Invoice.net_total, vat != Invoice.vat_total))
        .order_by(Invoice.id)
    ).all()
    return [
        {
            "invoice_id": i,
            "net_total": n,
            "vat_total": v,
            "lines_net": int(ln),
            "lines_vat": int(lv),
        }
        for i, n, v, ln, lv in rows
    ]


def _live():
    return sa.and_(
        Invoice.booking_id.is_not(None),
        Invoice.is_credit_note.is_(False),
        Invoice.status != InvoiceStatus.VOID,
    )


def bookings_with_several_live_invoices() -> list[dict]:
    """Bookings invoiced more than once: more than one invoice (draft, issued or paid) that
    is neither void nor a credit note."""
    rows = db.session.execute(
        sa.select(Invoice.booking_id, sa.func.count())
        .where(_live())
        .group_by(Invoice.booking_id)
        .having(sa.func.count() > 1)
        .order_by(Invoice.booking_id)
    ).all()
    return [{"booking_id": b, "live_invoices": int(n)} for b, n in rows]


def _credited():
    """Per invoice, the sums of its credit notes (negative amounts)."""
    return (
        sa.select(
            Invoice.credit_for_id.label("invoice_id"),
            sa.func.count().label("n"),
            sa.func.sum(Invoice.net_total).label("net"),
            sa.func.sum(Invoice.gross_total).label("gross"),
        )
        .where(Invoice.is_credit_note.is_(True), Invoice.credit_for_id.is_not(None))
        .group_by(Invoice.credit_for_id)
        .subquery()
    )


def credit_notes_beyond_invoice() -> list[dict]:
    """Invoices whose credit notes together take back more than the invoice's total."""
    credited = _credited()
    rows = db.session.execute(
        sa.select(Invoice.id, Invoice.gross_total, credited.c.n, credited.c.gross)
        .join(credited, credited.c.invoice_id == Invoice.id)
        .where(Invoice.gross_total + credited.c.gross < 0)
        .order_by(Invoice.id)
    ).all()
    return [
        {"invoice_id": i, "gross_total": g, "credit_notes": int(n), "credited": int(-c)}
        for i, g, n, c in rows
    ]


def negative_invoices_marked_paid() -> list[dict]:
    """Invoices marked paid whose net amount after credit notes is below zero, and credit
    notes marked paid (a credit note is never paid)."""
    credited = _credited()
    net = Invoice.net_total + sa.func.coalesce(credited.c.net, 0)
    rows = db.session.execute(
        sa.select(Invoice.id, Invoice.is_credit_note, net)
        .outerjoin(credited, credited.c.invoice_id == Invoice.id)
        .where(Invoice.status == InvoiceStatus.PAID, sa.or_(net < 0, Invoice.is_credit_note))
        .order_by(Invoice.id)
    ).all()
    return [{"invoice_id": i, "credit_note": bool(c), "net": int(n)} for i, c, n in rows]


def voucher_uses_above_share() -> list[dict]:
    """Invoices on which the vouchers in force of a programme paid more than the
    programme's share of the invoice's amount (rounded half up to the fen)."""
    rows = db.session.execute(
        sa.select(
            VoucherUse.invoice_id,
            Invoice.gross_total,
            VoucherProgramme.subsidy_bp,
            sa.func.count(),
            sa.func.sum(VoucherUse.amount),
        )
        .join(Invoice, Invoice.id == VoucherUse.invoice_id)
        .join(VoucherQuota, VoucherQuota.id == VoucherUse.quota_id)
        .join(VoucherProgramme, VoucherProgramme.id == VoucherQuota.programme_id)
        .where(VoucherUse.status == "applied")
        .group_by(VoucherUse.invoice_id, Invoice.gross_total, VoucherProgramme.subsidy_bp)
        .order_by(VoucherUse.invoice_id)
    ).all()
    found = []
    for invoice_id, gross, subsidy_bp, uses, paid in rows:
        share = (gross * subsidy_bp + 5000) // 10000
        if int(paid) > share:
            found.append(
                {"invoice_id": invoice_id, "uses": int(uses), "paid": int(paid), "share": share}
            )
    return found


def _kept_and_owed():
    """Per invoice: money kept (payments less refunds that did not fail) and what it is
    owed (its total with its credit notes), as subqueries."""
    from sharehub.billing.models import Refund, RefundStatus

    paid = (
        sa.select(Payment.invoice_id, sa.func.sum(Payment.amount).label("paid"))
        .group_by(Payment.invoice_id)
        .subquery()
    )
    refunded = (
        sa.select(Refund.invoice_id, sa.func.sum(Refund.amount).label("refunded"))
        .where(Refund.status != RefundStatus.FAILED)
        .group_by(Refund.invoice_id)
        .subquery()
    )
    credit = so.aliased(Invoice)
    credited = (
        sa.select(credit.credit_for_id, sa.func.sum(credit.gross_total).label("credited"))
        .where(credit.credit_for_id.is_not(None))
        .group_by(credit.credit_for_id)
        .subquery()
    )
    kept = sa.func.coalesce(paid.c.paid, 0) - sa.func.coalesce(refunded.c.refunded, 0)
    owed = Invoice.gross_total + sa.func.coalesce(credited.c.credited, 0)
    joined = (
        sa.select(Invoice)
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .outerjoin(refunded, refunded.c.invoice_id == Invoice.id)
        .outerjoin(credited, credited.c.credit_for_id == Invoice.id)
    )
    return joined, kept, owed


def unrecorded_or_unrefunded_money() -> list[dict]:
    """Money that came in and is neither in the books nor on its way back: a payment the
    gateway reported with no payment row, and an invoice that keeps more than it is owed
    with no refund requested for the excess (a failed refund puts it back here)."""
    from sharehub.billing.models import GatewayEvent

    found: list[dict] = [
        {"event": event_id, "payment_ref": ref, "outcome": outcome}
        for event_id, ref, outcome in db.session.execute(
            sa.select(GatewayEvent.id, GatewayEvent.payment_ref, GatewayEvent.outcome)
            .outerjoin(Payment, Payment.provider_ref == GatewayEvent.payment_ref)
            .where(
                GatewayEvent.type.in_(("payment_intent.succeeded", "checkout.session.completed")),
                GatewayEvent.payment_ref.is_not(None),
                Payment.id.is_(None),
            )
            .order_by(GatewayEvent.received_dt, GatewayEvent.id)
        )
    ]
    joined, kept, owed = _kept_and_owed()
    found += [
        {"invoice_id": invoice_id, "overpaid": int(excess)}
        for invoice_id, excess in db.session.execute(
            joined.with_only_columns(Invoice.id, kept - owed)
            .where(
                Invoice.status != InvoiceStatus.DRAFT,
                Invoice.is_credit_note.is_(False),
                kept > owed,
            )
            .order_by(Invoice.id)
        )
    ]
    return found


def bookings_of_blocked_unfit_units() -> list[int]:
    """Bookings made on a listing that blocks unfit units, since it blocks them, that start
    while their unit's certificate (as recorded when the booking was made) was overdue or
    failed: the booking service refuses them, so each is a hole in that rule."""
    from sharehub.calibration.models import CalibrationPolicy
    from sharehub.calibration.queries import certificates_of, unfit_intervals

    rows = db.session.execute(
        sa.select(Booking)
        .join(CalibrationPolicy, CalibrationPolicy.listing_id == Booking.listing_id)
        .where(
            CalibrationPolicy.blocks_unfit.is_(True),
            CalibrationPolicy.blocked_since_dt.is_not(None),
            Booking.created_dt >= CalibrationPolicy.blocked_since_dt,
        )
        .order_by(Booking.id)
    ).scalars()
    found = []
    for booking in rows:
        known = certificates_of(booking.unit_id, recorded_before=booking.created_dt)
        if any(a <= booking.starts_dt < b for a, b in unfit_intervals(booking.unit, known)):
            found.append(booking.id)
    return found


def certificate_dates_disordered() -> list[int]:
    """Certificates due before they were issued (the table refuses them; a restore or a
    hand edit might not)."""
    from sharehub.calibration.models import Certificate

    return list(
        db.session.scalars(
            sa.select(Certificate.id)
            .where(Certificate.due_date < Certificate.issued_date)
            .order_by(Certificate.id)
        )
    )


def unauthorised_self_operated_bookings() -> list[int]:
    """Bookings operated by their customer (not assisted) of a listing that requires an
    authorisation, made after the listing came under the rule, whose customer held no
    authorisation to operate alone valid at the booking's start."""
    valid = (
        sa.select(Authorisation.id)
        .where(
            Authorisation.requirement_id == Requirement.id,
            Authorisation.user_id == Booking.customer_user_id,
            Authorisation.level.in_((Level.INDEPENDENT, Level.TRAINER)),
            Authorisation.starts_dt <= Booking.starts_dt,
            Authorisation.expires_dt > Booking.starts_dt,
        )
        .exists()
    )
    return list(
        db.session.scalars(
            sa.select(Booking.id)
            .join(requirement_listing, requirement_listing.c.listing_id == Booking.listing_id)
            .join(Requirement, Requirement.id == requirement_listing.c.requirement_id)
            .where(
                Booking.assisted.is_(False),
                Booking.assists_booking_id.is_(None),
                Booking.created_dt >= Requirement.created_dt,
                Booking.status.in_((*HOLDING, BookingStatus.COMPLETED)),
                ~valid,
            )
            .order_by(Booking.id)
        )
    )


def revocations_not_ending_the_authorisation() -> list[int]:
    """A revoked authorisation ends at its revocation (superseded then, so it allows
    nothing after) and carries the reason its holder was told."""
    return list(
        db.session.scalars(
            sa.select(Authorisation.id)
            .where(
                Authorisation.revoked_dt.is_not(None),
                sa.or_(
                    Authorisation.superseded_dt.is_(None),
                    Authorisation.superseded_dt > Authorisation.revoked_dt,
                    sa.func.coalesce(Authorisation.revoke_reason, "") == "",
                ),
            )
            .order_by(Authorisation.id)
        )
    )


def sample_id_gaps() -> list[dict]:
    """Labs and years whose numbered samples are not exactly 1..n with the counter at n
    (sample IDs are gapless per lab and year, as invoice numbers)."""
    numbered = (
        sa.select(
            Sample.lab_id,
            Sample.year,
            sa.func.count().label("n"),
            sa.func.count(sa.distinct(Sample.sequence)).label("distinct"),
            sa.func.min(Sample.sequence).label("first"),
            sa.func.max(Sample.sequence).label("last"),
        )
        .where(Sample.sequence.is_not(None))
        .group_by(Sample.lab_id, Sample.year)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(
            sa.func.coalesce(numbered.c.lab_id, SampleCounter.lab_id),
            sa.func.coalesce(numbered.c.year, SampleCounter.year),
            numbered.c.n,
            numbered.c.distinct,
            numbered.c.first,
            numbered.c.last,
            SampleCounter.last_number,
        ).join(
            SampleCounter,
            sa.and_(
                SampleCounter.lab_id == numbered.c.lab_id,
                SampleCounter.year == numbered.c.year,
            ),
            full=True,
        )
    ).all()
    gaps = []
    for lab_id, year, n, distinct, first, last, counter in rows:
        n = n or 0
        if n != (distinct or 0) or (n and (first != 1 or last != n)) or (counter or 0) != n:
            gaps.append({"lab_id": lab_id, "year": year, "samples": n, "counter": counter})
    return gaps


def order_totals_not_adding_up() -> list[dict]:
    """Quotes whose total is not the sum of their lines, and orders whose total is not
    their accepted quote's (hence its lines')."""
    line_sums = (
        sa.select(QuoteLine.quote_id, sa.func.sum(QuoteLine.amount_fen).label("lines"))
        .group_by(QuoteLine.quote_id)
        .subquery()
    )
    found = [
        {"quote_id": quote_id, "total": total, "lines": int(lines or 0)}
        for quote_id, total, lines in db.session.execute(
            sa.select(Quote.id, Quote.total_fen, line_sums.c.lines)
            .outerjoin(line_sums, line_sums.c.quote_id == Quote.id)
            .where(Quote.total_fen != sa.func.coalesce(line_sums.c.lines, 0))
            .order_by(Quote.id)
        )
    ]
    accepted = (
        sa.select(Quote.request_id, Quote.total_fen)
        .where(Quote.status == QuoteStatus.ACCEPTED)
        .subquery()
    )
    found += [
        {"request_id": request_id, "total": total, "accepted_quote": quoted}
        for request_id, total, quoted in db.session.execute(
            sa.select(TestingRequest.id, TestingRequest.total_fen, accepted.c.total_fen)
            .outerjoin(accepted, accepted.c.request_id == TestingRequest.id)
            .where(
                sa.or_(
                    sa.and_(TestingRequest.total_fen.is_not(None), accepted.c.total_fen.is_(None)),
                    TestingRequest.total_fen != accepted.c.total_fen,
                )
            )
            .order_by(TestingRequest.id)
        )
    ]
    return found


def violations() -> dict[str, list]:
    """Every invariant by name with what breaks it; all lists empty means consistent."""
    return {
        "overlapping_holding_bookings": overlapping_bookings(),
        "invoice_number_gaps": invoice_number_gaps(),
        "payments_without_invoice": payments_without_invoice(),
        "payment_mismatches": payment_mismatches(),
        "usage_without_valid_unit": usage_without_valid_unit(),
        "invoice_lines_not_adding_up": invoice_lines_not_adding_up(),
        "bookings_with_several_live_invoices": bookings_with_several_live_invoices(),
        "credit_notes_beyond_invoice": credit_notes_beyond_invoice(),
        "negative_invoices_marked_paid": negative_invoices_marked_paid(),
        "voucher_uses_above_share": voucher_uses_above_share(),
        "unrecorded_or_unrefunded_money": unrecorded_or_unrefunded_money(),
        "unauthorised_self_operated_bookings": unauthorised_self_operated_bookings(),
        "bookings_of_blocked_unfit_units": bookings_of_blocked_unfit_units(),
        "certificate_dates_disordered": certificate_dates_disordered(),
        "online_payments_without_their_payment": online_payments_without_their_payment(),
        "gateway_payments_without_event": gateway_payments_without_event(),
        "usage_chain_breaks": usage_chain_breaks(),
        "usage_outside_chain": chain.unsealed_closed(),
        "statements_with_several_open_fapiao_requests": (
            fapiao_queries.statements_with_several_open_requests()
        ),
        "fapiao_amounts_off_statement": fapiao_queries.fapiao_amounts_off_statement(),
        "fapiao_lines_without_tax_code": fapiao_queries.requests_with_lines_without_tax_code(),
        "order_statements": order_statements(),
        "cancellation_fees_off_statement": cancellation_fees_off_statement(),
        "report_number_gaps": report_number_gaps(),
        "issued_reports_changed": issued_reports_changed(),
        "sample_id_gaps": sample_id_gaps(),
        "order_totals_not_adding_up": order_totals_not_adding_up(),
        "revocations_not_ending_the_authorisation": revocations_not_ending_the_authorisation(),
        "funding_accounts_over_budget": funding.overspent_accounts(),
        "orders_and_reports_disagree": orders_and_reports_disagree(),
        "outbox_events_not_told": outbox_events_not_told(),
        "usage_rollup_days_differ": usage_rollup_days_differ(),
    }


def orders_and_reports_disagree() -> list[dict]:
    """A testing order cancelled or refused has no issued report, and one reported or
    completed has one: an order ends either way, never both."""
    from sharehub.testing.models import RequestStatus, TestingRequest
    from sharehub.testing.report_models import Report, ReportStatus

    issued = (
        sa.select(Report.order_id, sa.func.count().label("n"))
        .where(Report.status != ReportStatus.DRAFT)
        .group_by(Report.order_id)
        .subquery()
    )
    ended = (RequestStatus.CANCELLED, RequestStatus.REFUSED)
    reported = (RequestStatus.REPORTED, RequestStatus.COMPLETED)
    rows = db.session.execute(
        sa.select(TestingRequest.id, TestingRequest.status, sa.func.coalesce(issued.c.n, 0))
        .outerjoin(issued, issued.c.order_id == TestingRequest.id)
        .where(
            sa.or_(
                sa.and_(TestingRequest.status.in_(ended), issued.c.n > 0),
                sa.and_(TestingRequest.status.in_(reported), issued.c.n.is_(None)),
            )
        )
        .order_by(TestingRequest.id)
    ).all()
    return [{"order_id": o, "status": str(st), "issued_reports": int(n)} for o, st, n in rows]


# The outbox worker (send-mail) runs every minute and retries a failing event at its next
# run: an event still untold an hour on means the worker is not running or the event keeps
# failing, and people are not hearing of their bookings.
EVENT_TOLD_WITHIN = timedelta(hours=1)


def outbox_events_not_told() -> list[dict]:
    """Stored events (core/mail.py `defer_event`) left untold for over an hour, or given up
    after MAX_ATTEMPTS failures: nobody got the mail, in-app message or webhook they owe."""
    rows = db.session.scalars(
        sa.select(OutboxEvent)
        .where(
            OutboxEvent.done_dt.is_(None),
            sa.or_(
                OutboxEvent.created_dt < utcnow() - EVENT_TOLD_WITHIN,
                OutboxEvent.attempts >= MAX_ATTEMPTS,
            ),
        )
        .order_by(OutboxEvent.id)
    )
    return [
        {
            "event": row.id,
            "kind": row.kind,
            "object": row.object_id,
            "what": row.event,
            "attempts": row.attempts,
        }
        for row in rows
    ]


def usage_rollup_days_differ(days: int = 400) -> list[str]:
    """Local days whose daily usage rollup (stats/rollups.py) differs from the usage
    records, over the last `days` days of recorded use (`flask sharehub refresh-rollups
    --from … --to …` rebuilds them)."""
    from datetime import timedelta

    from sharehub.stats import rollups

    conn = db.session.connection()
    bounds = rollups.record_bounds(conn)
    if bounds is None:
        stray = conn.execute(sa.select(sa.func.min(UsageDay.day))).scalar()
        return [] if stray is None else [str(stray)]
    start, end = bounds
    return [str(d) for d in rollups.differences(conn, max(start, end - timedelta(days=days)), end)]


def usage_chain_breaks() -> list[str]:
    """The first broken link of each lab's chain of usage records (booking/chain.py)."""
    return [str(found) for found in chain.verify_all()]


def order_statements() -> list[dict]:
    """A testing order has at most one live statement, and the booking of its test run is
    never invoiced on its own (the order's statement bills the work)."""
    from sharehub.testing.work_models import OrderStatement, TestRun

    several = db.session.execute(
        sa.select(OrderStatement.order_id, sa.func.count())
        .join(Invoice, Invoice.id == OrderStatement.invoice_id)
        .where(Invoice.is_credit_note.is_(False), Invoice.status != InvoiceStatus.VOID)
        .group_by(OrderStatement.order_id)
        .having(sa.func.count() > 1)
        .order_by(OrderStatement.order_id)
    ).all()
    invoiced_runs = db.session.execute(
        sa.select(TestRun.order_id, Invoice.booking_id)
        .join(Invoice, Invoice.booking_id == TestRun.booking_id)
        .where(Invoice.status != InvoiceStatus.VOID)
        .order_by(TestRun.order_id)
    ).all()
    return [{"order_id": o, "live_statements": int(n)} for o, n in several] + [
        {"order_id": o, "invoiced_run_booking": b} for o, b in invoiced_runs
    ]


def cancellation_fees_off_statement() -> list[dict]:
    """A testing order cancelled with a fee has exactly one statement (not a credit
    note), of one line, whose net is the fee; one cancelled free has none."""
    from sharehub.testing.models import RequestStatus, TestingRequest
    from sharehub.testing.work_models import OrderStatement

    statements = (
        sa.select(
            OrderStatement.order_id.label("order_id"),
            sa.func.count().label("n"),
            sa.func.sum(Invoice.net_total).label("net"),
        )
        .join(Invoice, Invoice.id == OrderStatement.invoice_id)
        .where(Invoice.is_credit_note.is_(False))
        .group_by(OrderStatement.order_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(
            TestingRequest.id,
            TestingRequest.cancel_fee_charged_fen,
            sa.func.coalesce(statements.c.n, 0),
            statements.c.net,
        )
        .outerjoin(statements, statements.c.order_id == TestingRequest.id)
        .where(
            TestingRequest.status == RequestStatus.CANCELLED,
            TestingRequest.cancel_fee_charged_fen.is_not(None),
        )
        .order_by(TestingRequest.id)
    ).all()
    found = []
    for order_id, fee, n, net in rows:
        expected = (1, fee) if fee else (0, None)
        if (int(n), None if net is None else int(net)) != expected:
            found.append({"order_id": order_id, "fee": fee, "statements": int(n), "net": net})
    return found


def report_number_gaps() -> list[dict]:
    """Labs and years whose issued reports are not numbered exactly 1..n with the
    counter at n (test reports, as invoices)."""
    from sharehub.testing.report_models import Report, ReportCounter

    numbered = (
        sa.select(
            Report.lab_id,
            Report.year,
            sa.func.count().label("n"),
            sa.func.count(sa.distinct(Report.sequence)).label("distinct"),
            sa.func.min(Report.sequence).label("first"),
            sa.func.max(Report.sequence).label("last"),
        )
        .where(Report.sequence.is_not(None))
        .group_by(Report.lab_id, Report.year)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(
            sa.func.coalesce(numbered.c.lab_id, ReportCounter.lab_id),
            sa.func.coalesce(numbered.c.year, ReportCounter.year),
            numbered.c.n,
            numbered.c.distinct,
            numbered.c.first,
            numbered.c.last,
            ReportCounter.last_number,
        ).join(
            ReportCounter,
            sa.and_(
                ReportCounter.lab_id == numbered.c.lab_id,
                ReportCounter.year == numbered.c.year,
            ),
            full=True,
        )
    ).all()
    gaps = []
    for lab_id, year, n, distinct, first, last, counter in rows:
        n = n or 0
        if not (n == (distinct or 0) == (last or 0) == (counter or 0) and (n == 0 or first == 1)):
            gaps.append(
                {"lab_id": lab_id, "year": year, "reports": n, "last": last, "counter": counter}
            )
    return gaps


def issued_reports_changed() -> list[dict]:
    """Issued reports whose PDF is missing or no longer has the hash taken at issue."""
    import hashlib

    from sharehub.core.uploads import stored_path
    from sharehub.testing.report_models import Report, ReportDocument

    rows = db.session.execute(
        sa.select(Report.id, Report.number, Report.content_hash, ReportDocument.stored_name)
        .outerjoin(
            ReportDocument,
            sa.and_(ReportDocument.report_id == Report.id, ReportDocument.purpose == "issued"),
        )
        .where(Report.sequence.is_not(None))
        .order_by(Report.id)
    ).all()
    changed = []
    for report_id, number, content_hash, stored_name in rows:
        try:
            data = stored_path(stored_name).read_bytes() if stored_name else None
        except OSError:
            data = None
        actual = hashlib.sha256(data).hexdigest() if data is not None else None
        if content_hash is None or actual != content_hash:
            changed.append({"report_id": report_id, "number": number, "hash": actual})
    return changed


def figures() -> dict:
    """Counts and sums that a restored backup must reproduce exactly. One function, so
    further metrics (the sharing statistics) are added in one place."""
    from sharehub.billing.payments import revenue_by_month

    result: dict = {}
    for table in db.metadata.sorted_tables:
        if table.name == "alembic_version":
            continue
        result[f"rows.{table.name}"] = db.session.scalar(
            sa.select(sa.func.count()).select_from(table)
        )
    for status, count, gross in db.session.execute(
        sa.select(Invoice.status, sa.func.count(), sa.func.sum(Invoice.gross_total))
        .group_by(Invoice.status)
        .order_by(Invoice.status)
    ):
        result[f"invoices.{status}"] = (count, int(gross or 0))
    for method, count, amount in db.session.execute(
        sa.select(Payment.method, sa.func.count(), sa.func.sum(Payment.amount))
        .group_by(Payment.method)
        .order_by(Payment.method)
    ):
        result[f"payments.{method}"] = (count, int(amount or 0))
    for status, count, gross in db.session.execute(
        sa.select(Booking.status, sa.func.count(), sa.func.sum(Booking.gross_amount))
        .group_by(Booking.status)
        .order_by(Booking.status)
    ):
        result[f"bookings.{status}"] = (count, int(gross or 0))
    minutes = UsageRecord.prep_minutes + UsageRecord.run_minutes + UsageRecord.post_minutes
    for lab_id, count, total in db.session.execute(
        sa.select(Listing.lab_id, sa.func.count(), sa.func.sum(minutes))
        .select_from(UsageRecord)
        .join(Unit, Unit.id == UsageRecord.unit_id)
        .join(Listing, Listing.id == Unit.listing_id)
        .group_by(Listing.lab_id)
        .order_by(Listing.lab_id)
    ):
        result[f"usage_minutes.lab{lab_id}"] = (count, int(total or 0))
    lab_years = db.session.execute(
        sa.select(Invoice.lab_id, Invoice.year)
        .where(Invoice.year.is_not(None))
        .distinct()
        .order_by(Invoice.lab_id, Invoice.year)
    ).all()
    for lab_id, year in lab_years:
        result[f"revenue_by_month.lab{lab_id}.{year}"] = revenue_by_month(lab_id, year)
    # The sharing statistics of every lab for every year that has usage records.
    from datetime import date

    from sharehub.stats.metrics import lab_metrics

    years = db.session.scalars(
        sa.select(sa.extract("year", UsageRecord.started_dt).label("year"))
        .distinct()
        .order_by("year")
    ).all()
    for year in years:
        year = int(year)
        result[f"metrics.{year}"] = _plain(lab_metrics(date(year, 1, 1), date(year + 1, 1, 1)))
    return result


def _plain(value):
    """The exact figures as JSON can carry them: fractions as "n/d" strings, so a restored
    database is compared without any rounding."""
    from decimal import Decimal
    from fractions import Fraction

    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Fraction | Decimal):
        return str(value)
    return value
