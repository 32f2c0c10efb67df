"""Exports of the statistics tables as CSV (a generator: rows leave as they are made) and
XLSX (xlsxwriter in constant-memory mode, into a temporary file sent then removed), and
the national report: per instrument, its yearly effective hours, external service hours,
external income and users served (科研仪器 annual reporting)."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
import xlsxwriter
from flask_babel import lazy_gettext as _l

from sharehub.accounts.models import Organisation
from sharehub.catalog.models import Listing, Unit
from sharehub.core import csvfile
from sharehub.extensions import db
from sharehub.stats.figures import shown
from sharehub.stats.metrics import metrics
from sharehub.stats.queries import COLUMNS, lab_ids
from sharehub.stats.sql import Filters, Period
from sharehub.stats.testing import orders_per_unit

Column = tuple[str, object]  # (key, heading)


def table_columns(level_heading) -> list[Column]:
    return [("key", _l("Id")), ("name", level_heading)] + [
        (key, heading) for key, heading, _fmt in COLUMNS
    ]


NATIONAL_COLUMNS: list[Column] = [
    ("instrument_number", _l("Instrument number")),
    ("category_code", _l("Category code")),
    ("name", _l("Name")),
    ("name_en", _l("English name")),
    ("unit", _l("Unit")),
    ("serial_number", _l("Serial number")),
    ("model", _l("Model / specification")),
    ("lab", _l("Laboratory")),
    ("original_value_wan", _l("Original value (10,000 CNY)")),
    ("effective_hours", _l("Effective hours")),
    ("external_hours", _l("External service hours")),
    ("external_income_yuan", _l("External income (CNY)")),
    ("orgs_served", _l("Organisations served")),
    ("users_served", _l("Users served")),
    ("testing_orders", _l("Testing orders served")),
]


def _cell(value):
    """A value as written: figures come rounded once (sharehub.stats.figures) as
    Decimals, which CSV writes digit for digit (27.25, 2.00) as the pages show them."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float | Decimal):
        return value
    return str(value)


def csv_stream(columns: list[Column], rows: Iterable[dict]) -> Iterator[str]:
    """CSV with a BOM (so spreadsheet programs read the Chinese), one row at a time."""
    buffer = io.StringIO()
    writer = csvfile.writer(buffer)
    writer.writerow([str(heading) for _key, heading in columns])
    yield "\ufeff" + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_cell(row.get(key)) for key, _heading in columns])
        yield buffer.getvalue()


def xlsx_file(columns: list[Column], rows: Iterable[dict], sheet: str = "ShareHub") -> str:
    """Write the rows to a temporary .xlsx file and return its path (the caller removes
    it). constant_memory keeps one row in memory at a time."""
    handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="sharehub-")
    os.close(handle)
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "in_memory": False})
    try:
        worksheet = workbook.add_worksheet(sheet[:31])
        bold = workbook.add_format({"bold": True})
        # A Decimal keeps its decimals as the cell's number format (27.25, 2.00).
        formats: dict[int, object] = {}
        for col, (_key, heading) in enumerate(columns):
            worksheet.write_string(0, col, str(heading), bold)
        for number, row in enumerate(rows, start=1):
            for col, (key, _heading) in enumerate(columns):
                value = _cell(row.get(key))
                if isinstance(value, str):
                    worksheet.write_string(number, col, value)
                elif isinstance(value, Decimal):
                    places = max(0, -int(value.as_tuple().exponent))
                    if places not in formats:
                        pattern = "0." + "0" * places if places else "0"
                        formats[places] = workbook.add_format({"num_format": pattern})
                    worksheet.write_number(number, col, float(value), formats[places])
                else:
                    worksheet.write_number(number, col, value)
    finally:
        workbook.close()
    return path


def national_rows(year: int, filters: Filters | None = None, chunk: int = 50) -> Iterator[dict]:
    """One row per instrument (unit of an equipment listing) for the calendar year, a chunk
    of laboratories at a time."""
    from sharehub.catalog.models import ListingKind

    filters = filters or Filters()
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    ids = lab_ids(filters)
    for n in range(0, len(ids), chunk):
        part = Filters(**{**filters.__dict__, "lab_ids": ids[n : n + chunk]})
        figures = {k: shown(v) for k, v in metrics(start, end, "unit", part).items()}
        orders = orders_per_unit(Period(start, end), list(figures))
        units = db.session.execute(
            sa.select(
                Unit.id,
                Unit.name.label("unit_name"),
                Unit.serial_number,
                Listing.instrument_number,
                Listing.category_code,
                Listing.name.label("listing_name"),
                Listing.name_en,
                Listing.model,
                Listing.original_value,
                Organisation.name.label("lab"),
            )
            .join(Listing, Listing.id == Unit.listing_id)
            .join(Organisation, Organisation.id == Listing.lab_id)
            .where(Listing.lab_id.in_(part.lab_ids), Listing.kind == ListingKind.EQUIPMENT)
            .order_by(Listing.lab_id, Listing.id, Unit.id)
        )
        for u in units:
            f = figures.get(u.id)
            if f is None:
                continue
            yield {
                "instrument_number": u.instrument_number,
                "category_code": u.category_code or "",
                "name": u.listing_name,
                "name_en": u.name_en,
                "unit": u.unit_name,
                "serial_number": u.serial_number,
                "model": u.model,
                "lab": u.lab,
                "original_value_wan": Decimal(u.original_value or 0) / 1_000_000,
                "effective_hours": f["effective_hours"],
                "external_hours": f["external_hours"],
                "external_income_yuan": Decimal(f["revenue_external_fen"]).scaleb(-2),
                "orgs_served": f["orgs_served"],
                "users_served": f["users_served"],
                "testing_orders": orders.get(u.id, 0),
            }
