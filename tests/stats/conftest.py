"""Factories for the statistics tests: bookings, usage records, invoices and ratings
written straight to the database at given local times (Asia/Shanghai)."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

SH = ZoneInfo("Asia/Shanghai")
_numbers = itertools.count(1)


def local(text: str) -> datetime:
    """'2026-03-02 09:00' in Asia/Shanghai as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=SH)


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
