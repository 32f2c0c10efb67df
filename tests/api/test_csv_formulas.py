"""The API's national report CSV neutralises names that spreadsheets would run as formulas."""

from __future__ import annotations

import csv
import io

import pytest

LISTING_NAME = '=HYPERLINK("http://evil.example","ICP")'


@pytest.mark.parametrize("who", ["lab_a", "regulator"])
def test_national_report_csv_escapes_formulas(api, db, two_labs, tokens, who):
    from sharehub.catalog.models import Listing

    for listing in db.session.query(Listing).filter_by(lab_id=two_labs["lab"].id):
        listing.name = LISTING_NAME
    db.session.commit()
    response = api.get("/api/v1/metrics/national-report?year=2026&format=csv", token=tokens[who])
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert any("'" + LISTING_NAME in row for row in rows)
    assert not any(cell.startswith("=") for row in rows for cell in row)
