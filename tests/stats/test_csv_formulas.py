"""The statistics and national report CSVs neutralise names that spreadsheets would run
as formulas (see sharehub/core/csvfile.py)."""

from __future__ import annotations

import csv
import io

WEEK_ARGS = "period=range&from=2026-03-02&to=2026-03-08"
LAB_NAME = '=HYPERLINK("http://evil.example","实验室甲")'
LISTING_NAME = "+cmd|' /C calc'!A0"
ORG_NAME = "@SUM(A1:A9)"


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def hostile(db, week):
    week["lab"].name = week["lab"].name_en = LAB_NAME
    week["listing"].name = week["listing"].name_en = LISTING_NAME
    week["e1"].name = week["e1"].name_en = ORG_NAME
    db.session.commit()


def no_formula(rows):
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell


def test_statistics_and_national_csvs_escape_names(client, db, login, week, make_org, make_user):
    from sharehub.accounts.models import OrgKind

    hostile(db, week)
    regulator = make_user(make_org(kind=OrgKind.AUTHORITY, name="市场监督管理局"))
    login(regulator)
    table = rows_of(client.get(f"/stats/export.csv?{WEEK_ARGS}&level=lab&cluster="))
    assert ["'" + LAB_NAME] == [r[1] for r in table[1:] if "HYPERLINK" in r[1]]
    no_formula(table)
    national = rows_of(client.get("/stats/national.csv?year=2026"))
    assert any("'" + LISTING_NAME in row for row in national)
    no_formula(national)
    lab_id = week["lab"].id
    served = rows_of(client.get(f"/stats/labs/{lab_id}/served.csv?{WEEK_ARGS}"))
    no_formula(served)
    no_formula(rows_of(client.get(f"/stats/labs/{lab_id}/national.csv?year=2026")))
