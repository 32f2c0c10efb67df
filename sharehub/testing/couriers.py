"""Couriers and the shape of their tracking numbers (运单号), checked before a shipment
is recorded so a mistyped number is caught while the customer is still on the page."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from sharehub.core.errors import ValidationError


@dataclass(frozen=True)
class Courier:
    code: str
    name: object  # a lazy translated string
    pattern: re.Pattern
    shape: object  # the format as told to the user


COURIERS: dict[str, Courier] = {
    c.code: c
    for c in (
        Courier(
            "sf",
            _l("SF Express"),
            re.compile(r"SF\d{12,15}"),
            _l("SF followed by 12 to 15 digits, e.g. SF1234567890123"),
        ),
        Courier(
            "ems",
            _l("EMS"),
            re.compile(r"[A-Z]{2}\d{9}[A-Z]{2}|\d{13}"),
            _l("13 digits, or 2 letters, 9 digits and 2 letters, e.g. EA123456789CN"),
        ),
        Courier(
            "jd",
            _l("JD Logistics"),
            re.compile(r"JD[A-Z]{0,2}\d{11,13}"),
            _l("JD, up to two letters and 11 to 13 digits, e.g. JDVA12345678901"),
        ),
        Courier(
            "zto",
            _l("ZTO Express"),
            re.compile(r"\d{12}|7\d{13}"),
            _l("12 digits, or 14 digits starting with 7, e.g. 78123456789012"),
        ),
        Courier(
            "yto",
            _l("YTO Express"),
            re.compile(r"YT\d{13}"),
            _l("YT followed by 13 digits, e.g. YT1234567890123"),
        ),
        Courier(
            "sto",
            _l("STO Express"),
            re.compile(r"\d{12,13}"),
            _l("12 or 13 digits, e.g. 773123456789"),
        ),
        Courier(
            "yunda",
            _l("Yunda Express"),
            re.compile(r"\d{13}|\d{15}"),
            _l("13 or 15 digits, e.g. 4312345678901"),
        ),
        Courier(
            "deppon",
            _l("Deppon"),
            re.compile(r"DPK\d{12}"),
            _l("DPK followed by 12 digits, e.g. DPK123456789012"),
        ),
        Courier(
            "other",
            _l("Other courier"),
            re.compile(r"[A-Z0-9\-]{6,40}"),
            _l("6 to 40 letters, digits or dashes"),
        ),
    )
}


def check_tracking(courier_code: str, number: str) -> tuple[str, str]:
    """The courier's code and the tracking number as stored (upper case, no spaces), or
    a ValidationError that says what the courier's numbers look like."""
    courier = COURIERS.get((courier_code or "").strip().lower())
    if courier is None:
        raise ValidationError(_l("Choose the courier."), field="courier")
    cleaned = (
        re.sub(r"[\s\-]", "", number or "").upper()
        if courier.code != "other"
        else (re.sub(r"\s", "", number or "").upper())
    )
    if not cleaned:
        raise ValidationError(_l("Give the tracking number."), field="tracking_number")
    if not courier.pattern.fullmatch(cleaned):
        raise ValidationError(
            _l(
                "This is not a %(courier)s tracking number: it is %(shape)s.",
                courier=courier.name,
                shape=courier.shape,
            ),
            field="tracking_number",
        )
    return courier.code, cleaned
