"""The one CSV writer every export uses: cells that a spreadsheet would run as a formula
are neutralised.

A name typed by a lab or a firm ("=HYPERLINK(...)", "+cmd|...", "@SUM(...)") reaches other
people's spreadsheets through the exports; Excel, LibreOffice and Numbers evaluate a cell
that starts with = + - @ (or a tab or carriage return before one). As OWASP's CSV
injection advice says, such a cell is prefixed with a single quote, which spreadsheets
show as text. Plain numbers ("-12.50", a credit note) stay numbers: they cannot be
formulas.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
BOM = "\ufeff"  # spreadsheet programs read UTF-8 Chinese text correctly with it


def safe_cell(value):
    """The value as a spreadsheet will not evaluate it."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        if PLAIN_NUMBER.fullmatch(value):
            return value
        return "'" + value
    return value


class SafeWriter:
    """csv.writer with every cell passed through safe_cell."""

    def __init__(self, buffer, **kwargs):
        self._writer = csv.writer(buffer, **kwargs)

    def writerow(self, row: Iterable):
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)


def writer(buffer, **kwargs) -> SafeWriter:
    return SafeWriter(buffer, **kwargs)


def csv_text(header: Iterable, rows: Iterable[Iterable], bom: bool = True) -> str:
    """A whole CSV file as text (for exports small enough to build at once)."""
    buffer = io.StringIO()
    if bom:
        buffer.write(BOM)
    out = writer(buffer)
    out.writerow(header)
    out.writerows(rows)
    return buffer.getvalue()
