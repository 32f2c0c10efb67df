# ruff: noqa: E501  (the table of cases reads best one case per line)
"""Hostile inputs against the public and signed-in routes: every one answers a clear 4xx
with a message at once, and changes nothing.

Each case is one row: who asks, the method, the path (with `{listing}`, `{invoice}` filled
in), the query or form, and a fragment of the English message the answer must carry. Add a
row to cover a new input."""

from __future__ import annotations

import io
import struct
import time
import zlib
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from sharehub.billing import services as billing_services
from sharehub.billing.models import Invoice, InvoiceLine
from sharehub.booking import services as booking_services
from sharehub.booking.models import Booking, UsageRecord
from sharehub.catalog.models import ListingFile, Outage
from tests.support.clock import at, workday

EN = {"Accept-Language": "en"}
HUGE = "99999999999999999999"


@dataclass(frozen=True)
class Case:
    who: str  # "anonymous", "customer" or "manager"
    method: str
    path: str
    values: dict = field(default_factory=dict)
    message: str = ""  # a fragment of the English message shown

    def __str__(self):
        shown = "&".join(f"{k}={str(v)[:24]}" for k, v in self.values.items())
        return f"{self.who} {self.method} {self.path}?{shown}"


def png_header(width: int, height: int) -> bytes:
    """A PNG that announces `width` × `height` pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def truncated_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.effect_noise((64, 64), 60).convert("RGB").save(buffer, "PNG")
    data = buffer.getvalue()
    return data[: len(data) // 2]


FREE_RANGE = "The free-time search"
DATE_RANGE = "between the years 2000 and 2100"
NUMBER = "whole number"
PRICE = "A price is a number of yuan"
AMOUNT_LIMIT = "at most 100,000,000 yuan"

# fmt: off
CASES = [
    # the catalogue page and its API twin
    Case("anonymous", "GET", "/catalog", {"from": "2019-08-06", "to": "4601-02-25", "hours": "187"}, FREE_RANGE),
    Case("anonymous", "GET", "/catalog", {"from": "{today}", "to": "{today+60}", "hours": "2"}, FREE_RANGE),
    Case("anonymous", "GET", "/catalog", {"from": "{today+400}", "hours": "2"}, FREE_RANGE),
    Case("anonymous", "GET", "/catalog", {"page": HUGE}, NUMBER),
    Case("anonymous", "GET", "/catalog", {"price_min": "1e999"}, PRICE),
    Case("anonymous", "GET", "/catalog", {"price_max": "1e999990"}, PRICE),
    Case("anonymous", "GET", "/catalog", {"price_min": "NaN"}, PRICE),
    Case("anonymous", "GET", "/catalog", {"price_max": "Infinity"}, PRICE),
    Case("anonymous", "GET", "/catalog", {"price_max": "1e30"}, PRICE),
    Case("anonymous", "GET", "/catalog", {"region": HUGE}, NUMBER),
    Case("anonymous", "GET", "/catalog", {"cluster": HUGE}, NUMBER),
    Case("anonymous", "GET", "/catalog", {"lab": HUGE}, NUMBER),
    Case("anonymous", "GET", "/catalog", {"from": "9999-12-31", "hours": "2"}, DATE_RANGE),
    Case("anonymous", "GET", "/catalog", {"from": "0001-01-01", "hours": "2"}, DATE_RANGE),
    Case("anonymous", "GET", "/api/v1/listings", {"from": "2019-08-06", "to": "4601-02-25", "hours": "187"}, DATE_RANGE),
    Case("anonymous", "GET", "/api/v1/listings", {"from": "{today}", "to": "{today+60}", "hours": "2"}, FREE_RANGE),
    Case("anonymous", "GET", "/api/v1/listings", {"from": "9999-12-31", "hours": "2"}, DATE_RANGE),
    Case("anonymous", "GET", "/api/v1/listings", {"price_min": "1e999"}, ""),
    Case("anonymous", "GET", "/api/v1/listings", {"page": HUGE}, ""),
    Case("anonymous", "GET", "/api/v1/listings", {"region": HUGE}, ""),
    # the availability API
    Case("anonymous", "GET", "/api/v1/listings/{listing}/availability", {"from": "9999-12-31"}, DATE_RANGE),
    Case("anonymous", "GET", "/api/v1/listings/{listing}/availability", {"from": "0001-01-01"}, DATE_RANGE),
    Case("anonymous", "GET", "/api/v1/listings/{listing}/availability", {"from": "{today+400}"}, FREE_RANGE),
    Case("anonymous", "GET", "/api/v1/listings/{listing}/availability", {"minutes": str(10**30)}, ""),
    # the booking calendar and review
    Case("customer", "GET", "/catalog/{listing}/book", {"week": "9999-12-31"}, DATE_RANGE),
    Case("customer", "GET", "/catalog/{listing}/book", {"week": "9999-12-31", "view": "month"}, DATE_RANGE),
    Case("customer", "GET", "/catalog/{listing}/book", {"week": "0001-01-01"}, DATE_RANGE),
    Case("customer", "GET", "/catalog/{listing}/book/review", {"start": "9999-12-31T23:00", "minutes": "60"}, DATE_RANGE),
    Case("customer", "GET", "/catalog/{listing}/book/review", {"start": "0001-01-01T00:00", "minutes": "60"}, DATE_RANGE),
    Case("customer", "GET", "/catalog/{listing}/book/review", {"start": "{slot}", "minutes": str(10**30)}, NUMBER),
    Case("customer", "POST", "/catalog/{listing}/book/review", {"start": "{slot}", "minutes": "60", "sample_count": str(10**25)}, NUMBER),
    Case("customer", "POST", "/catalog/{listing}/book/review", {"start": "9999-12-31T23:00", "minutes": "60"}, DATE_RANGE),
    Case("customer", "POST", "/catalog/{listing}/book/review", {"start": "{slot}", "minutes": "60", "purpose": "x" * 5001}, "at most 5000 characters"),
    Case("customer", "POST", "/catalog/{listing}/book/review", {"start": "{slot}", "minutes": "60", "contact_phone": "1" * 33}, "at most 32 characters"),
    # the statement and the reconciliation
    Case("customer", "GET", "/invoices/statement", {"month": "9999-12"}, DATE_RANGE),
    Case("customer", "GET", "/invoices/statement", {"month": "0001-01"}, DATE_RANGE),
    Case("manager", "GET", "/lab/reconciliation", {"month": "9999-12"}, DATE_RANGE),
    Case("manager", "GET", "/lab/reconciliation", {"month": "0001-01"}, DATE_RANGE),
    # outages, usage, invoice lines and photos
    Case("manager", "POST", "/lab/listings/{listing}/outages", {"unit_id": "{unit}", "kind": "maintenance", "starts": "9999-12-31T20:00", "ends": "9999-12-31T23:00"}, DATE_RANGE),
    Case("manager", "POST", "/lab/listings/{listing}/outages", {"unit_id": "{unit}", "kind": "maintenance", "starts": "0001-01-01T08:00", "ends": "0001-01-01T09:00"}, DATE_RANGE),
    Case("manager", "POST", "/lab/usage", {"unit_id": "{unit}", "started": "9999-12-31 20:00", "ended": "9999-12-31 23:00", "run_minutes": "60"}, DATE_RANGE),
    Case("manager", "POST", "/lab/usage", {"unit_id": "{unit}", "started": "{past} 09:00", "ended": "{past} 10:00", "run_minutes": str(10**30)}, NUMBER),
    Case("manager", "POST", "/lab/usage", {"unit_id": "{unit}", "started": "{past} 09:00", "ended": "{past} 10:00", "run_minutes": "60", "samples": str(10**25)}, NUMBER),
    Case("manager", "POST", "/lab/usage", {"unit_id": HUGE, "started": "{past} 09:00", "ended": "{past} 10:00", "run_minutes": "60"}, NUMBER),
    Case("manager", "POST", "/invoices/{invoice}/line", {"description": "x", "quantity": "1", "unit_price": "1e30"}, PRICE),
    Case("manager", "POST", "/invoices/{invoice}/line", {"description": "x", "quantity": "1", "unit_price": "100000000.01"}, AMOUNT_LIMIT),
    Case("manager", "POST", "/invoices/{invoice}/line", {"description": "x", "quantity": "1e999990", "unit_price": "1"}, "The quantity is a number"),
    Case("manager", "POST", "/invoices/{invoice}/line", {"description": "x", "quantity": "NaN", "unit_price": "1"}, "The quantity is a number"),
    Case("manager", "POST", "/invoices/{invoice}/payments", {"amount": "1e999990", "paid_date": "{past}"}, "YYYY-MM-DD"),
    Case("manager", "POST", "/invoices/{invoice}/payments", {"amount": "10", "paid_date": "9999-12-31"}, DATE_RANGE),
    Case("manager", "POST", "/invoices/{invoice}/line", {"description": "x", "quantity": "1", "unit_price": "Infinity"}, PRICE),
    Case("manager", "POST", "/invoices/{invoice}/line", {"description": "x", "quantity": "1", "unit_price": "NaN"}, PRICE),
    Case("manager", "POST", "/invoices/{invoice}/line", {"description": "x", "quantity": "1", "unit_price": "1e999990"}, PRICE),
    Case("manager", "POST", "/invoices/{invoice}/line", {"description": "x" * 301, "quantity": "1", "unit_price": "10"}, "at most 300 characters"),
    Case("manager", "POST", "/lab/listings/{listing}/files", {"role": "photo", "file": "bomb"}, "too many pixels"),
    Case("manager", "POST", "/lab/listings/{listing}/files", {"role": "photo", "file": "truncated"}, "incomplete or damaged"),
]
# fmt: on

FILES = {"bomb": lambda: png_header(30000, 30000), "truncated": truncated_png}


@pytest.fixture
def world(db, lab, lab_manager, make_listing, make_org, make_user):
    customer = make_org(name="苏州精密制造有限公司")
    buyer = make_user(customer, email="buyer@example.cn")
    listing = make_listing(lab, approval_required=False)
    booking = booking_services.create_booking(
        buyer,
        customer,
        listing,
        booking_services.BookingRequest(
            starts_dt=at(workday(), 8, 30), ends_dt=at(workday(), 10, 30)
        ),
    )
    db.session.flush()
    invoice = billing_services.invoice_from_booking(lab_manager, booking)
    db.session.commit()
    return {"listing": listing, "invoice": invoice, "customer": buyer, "manager": lab_manager}


def fill(text: str, world) -> str:
    from datetime import timedelta

    from tests.support import clock

    today = clock.today()
    return (
        text.replace("{listing}", str(world["listing"].id))
        .replace("{invoice}", str(world["invoice"].id))
        .replace("{unit}", str(world["listing"].units[0].id))
        .replace("{today+400}", (today + timedelta(days=400)).isoformat())
        .replace("{today+60}", (today + timedelta(days=60)).isoformat())
        .replace("{today}", today.isoformat())
        .replace("{past}", (today - timedelta(days=3)).isoformat())
        .replace("{slot}", at(workday(2), 8, 30).strftime("%Y-%m-%dT%H:%M"))
    )


def snapshot(db) -> dict:
    return {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Booking, InvoiceLine, Invoice, Outage, UsageRecord, ListingFile)
    }


@pytest.mark.parametrize("case", CASES, ids=str)
def test_hostile_input_is_refused_with_a_message(client, db, login, world, case):
    if case.who != "anonymous":
        login(world[case.who])
    before = snapshot(db)
    path = fill(case.path, world)
    values = {k: fill(v, world) for k, v in case.values.items()}
    started = time.monotonic()
    if case.method == "GET":
        response = client.get(path, query_string=values, headers=EN)
    else:
        if "file" in values:
            values["file"] = (io.BytesIO(FILES[values["file"]]()), "photo.png")
        response = client.post(path, data=values, headers=EN)
    elapsed = time.monotonic() - started
    body = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, (response.status_code, body[:2000])
    assert elapsed < 5, elapsed
    if case.message:
        assert case.message in body.replace("&#39;", "'"), body[:3000]
    db.session.rollback()
    assert snapshot(db) == before


def test_a_calendar_repeating_every_minute_is_refused_at_once(db):
    from datetime import UTC, datetime

    from sharehub.calendar.imports import parse_busy
    from sharehub.core.errors import ValidationError

    ics = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a\r\n"
        b"DTSTART:20260101T000000Z\r\nDTEND:20260101T000030Z\r\nRRULE:FREQ=MINUTELY\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    started = time.monotonic()
    with pytest.raises(ValidationError):
        parse_busy(ics, now=datetime(2026, 6, 1, tzinfo=UTC))
    assert time.monotonic() - started < 2


def test_a_claim_document_bomb_is_refused(db):
    from sharehub.core.errors import ValidationError
    from sharehub.core.uploads import sniff_document

    for data in (png_header(30000, 30000), truncated_png()):
        with pytest.raises(ValidationError):
            sniff_document(data)
