"""The enterprise statement CSV neutralises a listing name a spreadsheet would run."""

from __future__ import annotations

import csv
import io

from sharehub.booking.availability import LAB_TZ
from tests.support.billing import issued_for

NAME = "=cmd|' /C calc'!A0"


def test_statement_csv_escapes_formulas(client, db, booked, lab_manager, login):
    booked.listing.name = NAME
    issued_for(lab_manager, booked)
    db.session.commit()
    day = booked.starts_dt.astimezone(LAB_TZ).date()
    login(booked.customer_user)
    text = client.get(f"/invoices/statement?month={day.year}-{day.month:02d}&format=csv")
    rows = list(csv.reader(io.StringIO(text.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 2
    assert any(cell == "'" + NAME for cell in rows[1])
    assert not any(cell.startswith("=") for cell in rows[1])
