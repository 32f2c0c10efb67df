"""Factories of the statistics tests (a pytest plugin, see tests/conftest.py): bookings,
usage records, invoices and ratings written straight to the database at given local times
(Asia/Shanghai), the hand-computed week of tests/stats/test_metrics.py, and CSV exports read
back as rows."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

SH = ZoneInfo("Asia/Shanghai")
_numbers = itertools.count(1)
WEEK = (date(2026, 3, 2), date(2026, 3, 9))  # the hand-computed week of test_metrics.py


def local(text: str) -> datetime:
    """'2026-03-02 09:00' in Asia/Shanghai as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def csv_rows(response) -> list[list[str]]:
    """The rows of a CSV export (written with a byte-order mark for spreadsheets)."""
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.fixture
def make_booking(db):
    from sharehub.booking.models import Booking, BookingStatus

    def factory(unit, customer_org, starts, ends, status=BookingStatus.COMPLETED, **fields):
        starts_dt, ends_dt = local(starts), local(ends)
        created = fields.pop("created", None)
        decided = fields.pop("decided", None)
        booking = Booking(
            uid=f"{uuid.uuid4()}@test",
            listing_id=unit.listing_id,
            unit_id=unit.id,
            customer_org_id=customer_org.id,
            starts_dt=starts_dt,
            ends_dt=ends_dt,
            blocked_until_dt=ends_dt,
            status=status,
            price_tier="external",
            net_amount=fields.pop("net_amount", 10000),
            vat_rate_bp=600,
            vat_amount=600,
            gross_amount=10600,
            created_dt=local(created) if created else starts_dt - timedelta(days=3),
            decided_dt=local(decided) if decided else None,
            **fields,
        )
        db.session.add(booking)
        db.session.commit()
        return booking

    return factory


@pytest.fixture
def make_usage(db):
    from sharehub.booking.models import UsageRecord

    def factory(unit, org, started, ended, run=0, prep=0, post=0, booking=None):
        record = UsageRecord(
            unit_id=unit.id,
            user_org_id=org.id,
            booking_id=booking.id if booking else None,
            started_dt=local(started),
            ended_dt=local(ended) if ended else None,
            prep_minutes=prep,
            run_minutes=run,
            post_minutes=post,
        )
        db.session.add(record)
        db.session.commit()
        return record

    return factory


@pytest.fixture
def make_invoice(db):
    from sharehub.billing.models import Invoice, InvoiceStatus

    def factory(lab, customer_org, net, issued, booking=None, status=InvoiceStatus.ISSUED, **kw):
        n = next(_numbers)
        issued_dt = local(issued) if issued else None
        invoice = Invoice(
            lab_id=lab.id,
            customer_org_id=customer_org.id,
            booking_id=booking.id if booking else None,
            status=status,
            year=issued_dt.year if issued_dt else None,
            sequence=n if issued_dt else None,
            number=f"T{lab.id}-{n:06d}" if issued_dt else None,
            net_total=net,
            vat_total=0,
            gross_total=net,
            issued_dt=issued_dt,
            **kw,
        )
        db.session.add(invoice)
        db.session.commit()
        return invoice

    return factory


@pytest.fixture
def make_rating(db):
    from sharehub.stats.models import Rating

    def factory(booking, score, created, comment=""):
        rating = Rating(
            booking_id=booking.id,
            listing_id=booking.listing_id,
            customer_org_id=booking.customer_org_id,
            score=score,
            comment=comment,
            created_dt=local(created),
        )
        db.session.add(rating)
        db.session.commit()
        return rating

    return factory


@pytest.fixture
def week(
    db,
    make_org,
    make_user,
    make_listing,
    cluster,
    make_booking,
    make_usage,
    make_invoice,
    make_rating,
):
    from sharehub.accounts.models import OrgKind
    from sharehub.billing.models import InvoiceStatus
    from sharehub.booking.models import BookingStatus as S
    from sharehub.catalog.models import Outage, OutageKind

    lab = make_org(kind=OrgKind.LAB, name="实验室甲", cluster=cluster)
    e1 = make_org(name="企业一", is_sme=True)
    e2 = make_org(name="企业二")
    user1, user2 = make_user(e1), make_user(e1)
    listing = make_listing(lab, units=2, original_value=100_000_000)
    u1, u2 = listing.units
    db.session.add(
        Outage(
            unit_id=u2.id,
            kind=OutageKind.BREAKDOWN,
            starts_dt=local("2026-03-03 10:00"),
            ends_dt=local("2026-03-03 15:00"),
        )
    )
    b1 = make_booking(
        u1,
        e1,
        "2026-03-02 09:00",
        "2026-03-02 12:00",
        S.COMPLETED,
        customer_user_id=user1.id,
        created="2026-03-02 08:00",
        decided="2026-03-02 08:30",
    )
    b4 = make_booking(
        u2,
        e1,
        "2026-03-08 23:30",
        "2026-03-09 00:30",
        S.COMPLETED,
        customer_user_id=user2.id,
        created="2026-03-04 08:00",
        decided="2026-03-04 09:30",
    )
    make_booking(u1, e2, "2026-03-05 09:00", "2026-03-05 11:00", S.CANCELLED)
    b6 = make_booking(
        u1,
        e2,
        "2026-03-06 14:00",
        "2026-03-06 16:00",
        S.NO_SHOW,
        created="2026-03-03 08:00",
        decided="2026-03-03 08:10",
    )
    make_booking(
        u2,
        e2,
        "2026-03-05 14:00",
        "2026-03-05 15:00",
        S.DECLINED,
        created="2026-03-03 08:00",
        decided="2026-03-03 12:00",
    )
    b8 = make_booking(
        u2,
        e1,
        "2026-03-06 09:00",
        "2026-03-06 10:00",
        S.CONFIRMED,
        created="2026-03-05 08:00",
        decided="2026-03-05 09:00",
    )
    b9 = make_booking(
        u1,
        e2,
        "2026-03-01 22:00",
        "2026-03-02 02:00",
        S.COMPLETED,
        created="2026-02-27 08:00",
        decided="2026-02-27 08:05",
    )

    make_usage(u1, e1, "2026-03-02 09:00", "2026-03-02 12:00", prep=30, run=150, booking=b1)
    make_usage(u1, lab, "2026-03-03 14:00", "2026-03-03 16:00", run=120)
    make_usage(u2, e2, "2026-03-01 23:00", "2026-03-02 01:00", run=120)
    make_usage(u2, e1, "2026-03-08 23:30", "2026-03-09 00:30", prep=10, run=50, booking=b4)
    make_usage(u1, e1, "2026-03-04 10:00", None)
    make_usage(u1, e2, "2026-03-04 10:00", "2026-03-04 10:00", post=45)
    make_usage(u1, e2, "2026-03-10 10:00", "2026-03-10 12:00", run=120)

    make_rating(b1, 5, "2026-03-03 10:00")
    make_rating(b9, 4, "2026-03-04 10:00")
    make_rating(b6, 1, "2026-03-10 10:00")

    make_invoice(lab, e1, 150_000, "2026-03-02 13:00", booking=b1)
    make_invoice(lab, lab, 20_000, "2026-03-04 10:00")
    voided = make_invoice(
        lab, e2, 200_000, "2026-03-03 10:00", booking=b9, status=InvoiceStatus.VOID
    )
    make_invoice(
        lab,
        e2,
        -200_000,
        "2026-03-05 10:00",
        booking=b9,
        is_credit_note=True,
        credit_for_id=voided.id,
    )
    make_invoice(lab, e2, 90_000, None, booking=b6, status=InvoiceStatus.DRAFT)
    make_invoice(lab, e1, 70_000, "2026-03-09 00:30", booking=b4)
    make_invoice(lab, e1, 50_000, "2026-03-08 23:30", booking=b8)  # one live invoice a booking
    db.session.commit()
    return {"lab": lab, "listing": listing, "u1": u1, "u2": u2, "e1": e1, "e2": e2}
