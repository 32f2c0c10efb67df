"""Money is integer fen everywhere; this is where it becomes text."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import format_currency


def format_fen(fen: int | None) -> str:
    """¥1,234.50 in either language (Babel formats with the page locale); "—" for none."""
    if fen is None:
        return "—"
    return format_currency(Decimal(fen) / 100, "CNY")
