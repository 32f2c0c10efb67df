"""Parsers for what visitors type or put in a URL: whole numbers and ids, amounts of money,
dates and times, and text lengths. Each checks bounds before any arithmetic, so an absurd
value (20 digits, 1e999990, NaN, the year 9999) is a clear ValidationError, never a 500 or
a worker busy for seconds."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from sharehub.core.errors import ValidationError

INT32_MAX = 2**31 - 1  # ids and counts held in INTEGER columns
INT64_MAX = 2**63 - 1  # BIGINT columns
MAX_PAGE = 10_000
MAX_YUAN = 100_000_000  # the largest amount accepted anywhere: one hundred million yuan
MAX_FEN = MAX_YUAN * 100
MIN_YEAR, MAX_YEAR = 2000, 2100

_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
_AMOUNT = re.compile(r"[+-]?(?:[0-9]{1,12}(?:\.[0-9]*)?|\.[0-9]+)")
_MAX_TEXT = 40  # longer than any number or date a person types

PRICE_TEXT = _l("A price is a number of yuan, e.g. 200 or 99.5.")
PRICE_LIMIT_TEXT = _l("An amount is at most %(n)s yuan.", n=f"{MAX_YUAN:,}")


def parse_int(
    raw, *, minimum: int = 0, maximum: int = INT32_MAX, message=None, field: str | None = None
) -> int | None:
    """A whole number between `minimum` and `maximum`; None when empty."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    if len(text) > _MAX_TEXT or not _INTEGER.fullmatch(text):
        raise ValidationError(
            message
            or _l("Enter a whole number between %(low)s and %(high)s.", low=minimum, high=maximum),
            field=field,
        )
    value = int(text)
    if not minimum <= value <= maximum:
        raise ValidationError(
            message
            or _l("Enter a whole number between %(low)s and %(high)s.", low=minimum, high=maximum),
            field=field,
        )
    return value


def parse_id(raw, field: str | None = None) -> int | None:
    """An id (a positive 32-bit integer); None when empty."""
    return parse_int(raw, minimum=1, maximum=INT32_MAX, field=field)


def parse_page(raw) -> int:
    return parse_int(raw, minimum=1, maximum=MAX_PAGE) or 1


def parse_fen(raw, *, negative: bool = False, field: str | None = None) -> int | None:
    """An amount of yuan (at most two decimals) as integer fen; None when empty. No
    exponents, NaN or Infinity, and the text is checked before Decimal ever sees it."""
    text = "" if raw is None else str(raw).strip().replace(",", "")
    if not text:
        return None
    if len(text) > _MAX_TEXT or not _AMOUNT.fullmatch(text):
        raise ValidationError(PRICE_TEXT, field=field)
    value = Decimal(text)
    exponent = value.as_tuple().exponent  # an int: the pattern lets no NaN or Infinity through
    if isinstance(exponent, int) and exponent < -2 and value != value.quantize(Decimal("0.01")):
        raise ValidationError(_l("An amount has at most two decimals (fen)."), field=field)
    fen = int(value * 100)
    if fen < 0 and not negative:
        raise ValidationError(PRICE_TEXT, field=field)
    if abs(fen) > MAX_FEN:
        raise ValidationError(PRICE_LIMIT_TEXT, field=field)
    return fen


DATE_RANGE_TEXT = _l("Dates are between the years 2000 and 2100.")


def check_date(value: date | datetime | None, field: str | None = None):
    """Refuse a date outside the years the platform keeps (2000–2100)."""
    if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValidationError(DATE_RANGE_TEXT, field=field)
    return value


def parse_date(raw, field: str | None = None) -> date | None:
    """YYYY-MM-DD in 2000–2100; None when empty."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None
    try:
        if len(text) > _MAX_TEXT:
            raise ValueError
        value = date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(_l("Dates are written as YYYY-MM-DD."), field=field) from exc
    return check_date(value, field)


def parse_datetime(raw, field: str | None = None) -> datetime | None:
    """An ISO date and time in 2000–2100; None when empty or not a date and time."""
    text = "" if raw is None else str(raw).strip()
    if not text or len(text) > _MAX_TEXT:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return check_date(value, field)


def check_length(text: str, limit: int, label, field: str | None = None) -> str:
    """Refuse text longer than its column instead of cutting it."""
    if text is not None and len(text) > limit:
        raise ValidationError(
            _l(
                "%(label)s may be at most %(n)s characters long (%(given)s given).",
                label=label,
                n=limit,
                given=len(text),
            ),
            field=field,
        )
    return text


# 商品和服务税收分类编码: 19 digits (the tax system's coding table pads every code to 19).
TAX_CODE = re.compile(r"[0-9]{19}")


def clean_tax_code(value: str | None, field: str = "tax_code") -> str:
    """A fapiao line's tax classification code as typed (spaces dropped), or "" for the
    default of its kind; anything but 19 digits is refused."""
    code = re.sub(r"\s+", "", value or "")
    if code and not TAX_CODE.fullmatch(code):
        raise ValidationError(
            _l("A tax classification code (税收分类编码) has 19 digits."), field=field
        )
    return code
