"""Helpers of the fapiao tests: buyer details, the files a tax system issues, a 20-digit
number."""

from __future__ import annotations

import io
import zipfile

from tests.support.accounts import make_credit_code

NUMBER = "26322000000012345678"
RED_NUMBER = "26322000000087654321"


def buyer_form(seed: int = 4242, **overrides) -> dict:
    data = {
        "kind": "normal",
        "title": "苏州精密制造有限公司",
        "tax_id": make_credit_code(seed),
        "address": "",
        "phone": "",
        "bank_name": "",
        "bank_account": "",
        "email": "fapiao@example.cn",
    }
    data.update(overrides)
    return data


def special_form(seed: int = 4243, **overrides) -> dict:
    details = {
        "kind": "special",
        "address": "苏州工业园区星湖街 328 号",
        "phone": "0512-62880000",
        "bank_name": "中国工商银行苏州工业园区支行",
        "bank_account": "1102020309000123456",
    }
    return buyer_form(seed, **(details | overrides))


def fapiao_pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def fapiao_ofd() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        # Fixed timestamps: the same bytes on every call.
        for name, body in (
            ("OFD.xml", '<?xml version="1.0" encoding="UTF-8"?><ofd:OFD/>'),
            ("Doc_0/Document.xml", "<ofd:Document/>"),
        ):
            package.writestr(zipfile.ZipInfo(name, (2026, 12, 1, 0, 0, 0)), body)
    return buffer.getvalue()


def fapiao_xml() -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?><EInvoice><Header/></EInvoice>'


def wrong_check_character(code: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return code[:17] + alphabet[(alphabet.index(code[17]) + 1) % 31]
