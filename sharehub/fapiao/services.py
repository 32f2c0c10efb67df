"""Invoice profiles, fapiao requests, the attached fapiao and red fapiao.

The request is one per statement while open (a partial unique index; a second request at
the same moment fails inside a savepoint and is answered as a conflict). Amounts are the
statement's total less its credit notes, tax included, as the 数电发票 takes them: the tax
of a tax-inclusive amount is amount × rate / (1 + rate), rounded once to the fen.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from sharehub.accounts.models import Organisation, User
from sharehub.billing.models import Invoice, InvoiceStatus
from sharehub.billing.signals import invoice_annulled
from sharehub.core import audit
from sharehub.core.clock import local_today
from sharehub.core.codes import is_valid_credit_code, normalize_credit_code
from sharehub.core.db import utcnow
from sharehub.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from sharehub.core.inputs import check_length
from sharehub.core.uploads import store_bytes
from sharehub.extensions import db
from sharehub.fapiao import notify
from sharehub.fapiao.models import (
    Fapiao,
    FapiaoKind,
    FapiaoRequest,
    InvoiceProfile,
    RedReason,
    RequestStatus,
)

LEGACY_TAX_ID = re.compile(r"[0-9A-Z]{15}|[0-9A-Z]{17}|[0-9A-Z]{20}")
FAPIAO_NUMBER = re.compile(r"[0-9]{20}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_FAPIAO_BYTES = 10 * 1024 * 1024


def tax_of_gross(gross: int, rate: Decimal) -> int:
    """The VAT inside a tax-inclusive amount in fen: gross × rate / (1 + rate), rounded
    half up once."""
    return int((Decimal(gross) * rate / (1 + rate)).quantize(Decimal("1"), ROUND_HALF_UP))


def rate_of(rate_bp: int) -> Decimal:
    """A rate in basis points as the exact decimal the fapiao prints (600 → 0.06)."""
    return (Decimal(rate_bp) / Decimal(10000)).normalize()


def normalize_tax_id(tax_id: str) -> str:
    """The 纳税人识别号: the 18-character unified social credit code with its check
    character (GB 32100-2015), or a 15-, 17- or 20-character number of the old kind."""
    code = normalize_credit_code(tax_id)
    if len(code) == 18:
        if not is_valid_credit_code(code):
            raise ValidationError(
                _l(
                    "The taxpayer identification number is not a valid unified social credit "
                    "code: its check character does not match."
                ),
                field="tax_id",
            )
        return code
    if not LEGACY_TAX_ID.fullmatch(code):
        raise ValidationError(
            _l(
                "A taxpayer identification number has 18 characters (the unified social "
                "credit code), or 15, 17 or 20 for older numbers."
            ),
            field="tax_id",
        )
    return code


@dataclass
class ProfileData:
    kind: FapiaoKind
    title: str
    tax_id: str
    address: str = ""
    phone: str = ""
    bank_name: str = ""
    bank_account: str = ""
    email: str = ""
    is_default: bool = False


def _clean(data: ProfileData) -> ProfileData:
    fields = {
        "title": 200,
        "address": 300,
        "phone": 40,
        "bank_name": 200,
        "bank_account": 40,
        "email": 254,
    }
    for name, limit in fields.items():
        value = (getattr(data, name) or "").strip()
        check_length(value, limit, name, name)
        setattr(data, name, value)
    if not data.title:
        raise ValidationError(_l("Give the buyer's name (抬头)."), field="title")
    data.tax_id = normalize_tax_id(data.tax_id)
    if data.kind == FapiaoKind.SPECIAL:
        missing = [
            n for n in ("address", "phone", "bank_name", "bank_account") if not getattr(data, n)
        ]
        if missing:
            raise ValidationError(
                _l(
                    "A special VAT fapiao (专票) needs the buyer's address, phone, bank and "
                    "account."
                ),
                field=missing[0],
            )
    if data.email and not EMAIL.fullmatch(data.email):
        raise ValidationError(_l("The mailbox for the e-fapiao is not an address."), field="email")
    return data


def _require_member(actor: User, org: Organisation) -> None:
    if not (actor.is_authenticated and actor.membership_in(org.id) is not None):
        raise PermissionDenied(_l("Only the organisation's members keep its invoice profiles."))


def save_profile(
    actor: User, org: Organisation, data: ProfileData, profile: InvoiceProfile | None = None
) -> InvoiceProfile:
    """Create or change an invoice profile; made the default, it replaces the old one."""
    _require_member(actor, org)
    if profile is not None and profile.organisation_id != org.id:
        raise NotFound(_l("No such invoice profile."))
    data = _clean(data)
    if profile is None:
        profile = InvoiceProfile(organisation_id=org.id)
        db.session.add(profile)
    for name in (
        "kind",
        "title",
        "tax_id",
        "address",
        "phone",
        "bank_name",
        "bank_account",
        "email",
    ):
        setattr(profile, name, getattr(data, name))
    has_default = db.session.scalar(
        sa.select(InvoiceProfile.id).where(
            InvoiceProfile.organisation_id == org.id,
            InvoiceProfile.is_default.is_(True),
            InvoiceProfile.id != (profile.id or 0),
        )
    )
    if data.is_default or has_default is None:
        make_default(profile)
    db.session.flush()
    audit.record(actor, "fapiao.profile_saved", profile, organisation=org.id, tax_id=profile.tax_id)
    db.session.flush()
    return profile


def make_default(profile: InvoiceProfile) -> None:
    db.session.execute(
        sa.update(InvoiceProfile)
        .where(
            InvoiceProfile.organisation_id == profile.organisation_id,
            InvoiceProfile.is_default.is_(True),
        )
        .values(is_default=False)
        .execution_options(synchronize_session="fetch")
    )
    db.session.flush()
    profile.is_default = True


def profiles_of(org_id: int) -> list[InvoiceProfile]:
    return list(
        db.session.scalars(
            sa.select(InvoiceProfile)
            .where(InvoiceProfile.organisation_id == org_id)
            .order_by(InvoiceProfile.is_default.desc(), InvoiceProfile.id)
        )
    )


def open_request(invoice: Invoice) -> FapiaoRequest | None:
    return db.session.scalar(
        sa.select(FapiaoRequest).where(
            FapiaoRequest.invoice_id == invoice.id,
            FapiaoRequest.status.in_(
                (RequestStatus.REQUESTED, RequestStatus.EXPORTED, RequestStatus.ISSUED)
            ),
        )
    )


def request_fapiao(actor: User, invoice: Invoice, profile: InvoiceProfile) -> FapiaoRequest:
    """The enterprise asks for the fapiao of an issued statement with one of its profiles.
    Asked twice at once, one request is made and the other is refused."""
    if not (actor.is_authenticated and actor.membership_in(invoice.customer_org_id)):
        raise PermissionDenied(_l("Only the customer's members ask for the fapiao of a statement."))
    if profile.organisation_id != invoice.customer_org_id:
        raise NotFound(_l("No such invoice profile."))
    if invoice.is_credit_note or invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.PAID):
        raise Conflict(_l("A fapiao is asked for an issued statement."))
    amount = invoice.effective_total
    if amount <= 0:
        raise Conflict(_l("Nothing on this statement is left to put on a fapiao."))
    if open_request(invoice) is not None:
        raise Conflict(_l("A fapiao has already been asked for this statement."))
    request = FapiaoRequest(
        invoice_id=invoice.id,
        lab_id=invoice.lab_id,
        customer_org_id=invoice.customer_org_id,
        profile_id=profile.id,
        buyer=profile.snapshot(),
        amount=amount,
        requested_by_id=actor.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(request)
            db.session.flush()
    except IntegrityError as exc:
        if "uq_fapiao_request_open" not in str(exc.orig) and "invoice_id" not in str(exc.orig):
            raise
        raise Conflict(_l("A fapiao has already been asked for this statement.")) from exc
    audit.record(
        actor, "fapiao.requested", request, organisation=invoice.lab_id, invoice=invoice.id
    )
    number = invoice.number
    notify.lab_managers(
        invoice.lab,
        lambda: _l(
            "%(org)s asks for the fapiao of statement %(number)s.",
            org=invoice.customer_org.name,
            number=number,
        ),
        url_for("fapiao.lab_requests"),
    )
    db.session.flush()
    return request


def _require_lab(actor: User, request: FapiaoRequest) -> None:
    if not request.can_handle(actor):
        raise PermissionDenied(_l("Only the laboratory's managers handle its fapiao requests."))


def mark_exported(actor: User, requests: list[FapiaoRequest]) -> None:
    for request in requests:
        _require_lab(actor, request)
        if request.status == RequestStatus.REQUESTED:
            request.status = RequestStatus.EXPORTED
            request.exported_dt = utcnow()
            audit.record(actor, "fapiao.exported", request, organisation=request.lab_id)
    db.session.flush()


def sniff_fapiao(data: bytes) -> str:
    """The real type of an issued fapiao's file, by its first bytes: PDF, OFD (a zip
    package with OFD.xml at its root) or XML."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as package:
                if "OFD.xml" in package.namelist():
                    return "application/ofd"
        except zipfile.BadZipFile:
            pass
    if data[:64].lstrip(b"\xef\xbb\xbf").lstrip().startswith(b"<?xml"):
        return "application/xml"
    raise ValidationError(_l("The fapiao file is not a PDF, OFD or XML file."), field="file")


EXTENSIONS = {"application/pdf": ".pdf", "application/ofd": ".ofd", "application/xml": ".xml"}


def _check_number(number: str) -> str:
    number = (number or "").strip()
    if not FAPIAO_NUMBER.fullmatch(number):
        raise ValidationError(_l("A fapiao number has 20 digits."), field="number")
    if db.session.scalar(sa.select(Fapiao.id).where(Fapiao.number == number)) is not None:
        raise Conflict(_l("A fapiao with this number is already recorded."))
    return number


def _store(data: bytes, filename: str) -> tuple[dict, str]:
    if not data:
        raise ValidationError(_l("Choose the fapiao file."), field="file")
    if len(data) > MAX_FAPIAO_BYTES:
        raise ValidationError(_l("The fapiao file is larger than 10 MB."), field="file")
    content_type = sniff_fapiao(data)
    stored = store_bytes(data, filename[:200], content_type)
    columns = {
        "original_name": stored.original_name,
        "stored_name": stored.stored_name,
        "content_type": stored.content_type,
        "size": stored.size,
        "sha256": stored.sha256,
    }
    return columns, content_type


def _lock(request: FapiaoRequest) -> FapiaoRequest:
    db.session.flush()
    db.session.refresh(request, with_for_update=True)
    return request


def _check_date(issued_date: date | None, not_before: date | None = None) -> date:
    """A fapiao's date is a day that has come (Asia/Shanghai), and a red fapiao's is not
    before the fapiao it reverses."""
    if issued_date is None:
        raise ValidationError(_l("Give the fapiao's date."), field="issued_date")
    if issued_date > local_today():
        raise ValidationError(_l("A fapiao's date cannot be in the future."), field="issued_date")
    if not_before is not None and issued_date < not_before:
        raise ValidationError(
            _l("A red fapiao's date cannot be before the fapiao it reverses."),
            field="issued_date",
        )
    return issued_date


def attach_fapiao(
    actor: User,
    request: FapiaoRequest,
    data: bytes,
    filename: str,
    number: str,
    issued_date: date | None,
) -> Fapiao:
    """The lab attaches the fapiao the tax system issued for the request; the enterprise
    is told and may download it. Its amount is the statement's total less credit notes."""
    _require_lab(actor, request)
    number = _check_number(number)
    _check_date(issued_date)
    _lock(request)
    if request.status not in (RequestStatus.REQUESTED, RequestStatus.EXPORTED):
        raise Conflict(_l("This request already has its fapiao, or is closed."))
    amount = request.invoice.effective_total
    if amount <= 0:
        raise Conflict(_l("Nothing on this statement is left to put on a fapiao."))
    columns, _type = _store(data, filename)
    fapiao = Fapiao(
        request=request,
        number=number,
        issued_date=issued_date,
        amount=amount,
        uploaded_by_id=actor.id,
        **columns,
    )
    db.session.add(fapiao)
    request.status = RequestStatus.ISSUED
    db.session.flush()
    audit.record(
        actor, "fapiao.issued", request, organisation=request.lab_id, number=number, amount=amount
    )
    lab_name = request.lab.name
    notify.members(
        request.customer_org,
        lambda: _l(
            "%(lab)s has issued fapiao %(number)s for statement %(statement)s.",
            lab=lab_name,
            number=number,
            statement=request.invoice.number,
        ),
        url_for("fapiao.request_page", request_id=request.id),
    )
    db.session.flush()
    return fapiao


def reverse_fapiao(
    actor: User,
    original: Fapiao,
    confirmation_no: str,
    reason: RedReason | str | None,
    data: bytes,
    filename: str,
    number: str,
    issued_date: date | None,
) -> Fapiao:
    """A red fapiao (红字发票) reversing an issued one in full, with its 红字确认单 number and
    reason; the request is then reversed and the enterprise may ask again."""
    request = original.request
    _require_lab(actor, request)
    confirmation_no = (confirmation_no or "").strip()
    if not re.fullmatch(r"[0-9A-Za-z]{1,40}", confirmation_no):
        raise ValidationError(
            _l("Give the number of the red-letter confirmation (红字确认单)."),
            field="confirmation_no",
        )
    try:
        reason = RedReason(reason or "")
    except ValueError:
        raise ValidationError(_l("Choose the reason for the red fapiao."), field="reason") from None
    number = _check_number(number)
    _check_date(issued_date, not_before=original.issued_date)
    _lock(request)
    if original.is_red or request.status != RequestStatus.ISSUED:
        raise Conflict(_l("Only an issued fapiao that was not reversed can be reversed."))
    columns, _type = _store(data, filename)
    red = Fapiao(
        request=request,
        number=number,
        issued_date=issued_date,
        amount=-original.amount,
        is_red=True,
        original=original,
        red_confirmation_no=confirmation_no,
        red_reason=reason,
        uploaded_by_id=actor.id,
        **columns,
    )
    db.session.add(red)
    request.status = RequestStatus.REVERSED
    db.session.flush()
    audit.record(
        actor,
        "fapiao.reversed",
        request,
        organisation=request.lab_id,
        number=number,
        original=original.number,
        reason=reason.value,
        confirmation=confirmation_no,
    )
    original_number = original.number
    notify.members(
        request.customer_org,
        lambda: _l(
            "Fapiao %(number)s has been reversed by red fapiao %(red)s.",
            number=original_number,
            red=number,
        ),
        url_for("fapiao.request_page", request_id=request.id),
    )
    db.session.flush()
    return red


@invoice_annulled.connect
def cancel_open_requests(invoice: Invoice, actor=None) -> int:
    """A statement voided or cancelled before its fapiao was issued: the request closes.
    An issued fapiao stays (the lab reverses it with a red fapiao). Gives back no fen."""
    for request in db.session.scalars(
        sa.select(FapiaoRequest).where(
            FapiaoRequest.invoice_id == invoice.id,
            FapiaoRequest.status.in_((RequestStatus.REQUESTED, RequestStatus.EXPORTED)),
        )
    ):
        request.status = RequestStatus.CANCELLED
        audit.record(actor, "fapiao.request_cancelled", request, organisation=request.lab_id)
    db.session.flush()
    return 0
