"""Identifiers of the field: the unified social credit code (GB 32100-2015)."""

from __future__ import annotations

import re

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_PATTERN = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def credit_code_check_char(first17: str) -> str:
    """The 18th character: 31 - (weighted sum mod 31), mapped back into the alphabet."""
    total = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    value = (31 - total % 31) % 31
    return CREDIT_CODE_ALPHABET[value]


def normalize_credit_code(code: str) -> str:
    return (code or "").strip().upper().replace(" ", "")


def is_valid_credit_code(code: str) -> bool:
    code = normalize_credit_code(code)
    if not _PATTERN.match(code):
        return False
    return credit_code_check_char(code[:17]) == code[17]


def make_credit_code(first17: str) -> str:
    """Complete 17 characters with their check character (demo data and tests)."""
    return first17 + credit_code_check_char(first17)
