"""Demo fapiao: the demo enterprise's invoice profiles (an ordinary default and a special
VAT one), a fapiao asked for one of its statements and waiting for the lab, and one the
lab has issued, its file attached for the enterprise to download."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from sharehub.accounts.models import Membership, Organisation, User
from sharehub.billing.models import Invoice, InvoiceStatus
from sharehub.core.uploads import store_bytes
from sharehub.demo.calibration import DEMO_LAB_MANAGER, simple_pdf
from sharehub.extensions import db
from sharehub.fapiao.models import (
    Fapiao,
    FapiaoKind,
    FapiaoRequest,
    InvoiceProfile,
    RequestStatus,
)


def _profiles(firm: Organisation) -> list[InvoiceProfile]:
    profiles = [
        InvoiceProfile(
            organisation_id=firm.id,
            kind=FapiaoKind.NORMAL,
            title=firm.name,
            tax_id=firm.credit_code,
            email="fapiao@demo.sharehub.cn",
            is_default=True,
        ),
        InvoiceProfile(
            organisation_id=firm.id,
            kind=FapiaoKind.SPECIAL,
            title=firm.name,
            tax_id=firm.credit_code,
            address=firm.address or "江苏省苏州市工业园区星湖街218号",
            phone=firm.contact_phone or "0512-62880000",
            bank_name="中国工商银行苏州工业园区支行",
            bank_account="1102020709000123456",
            email="fapiao@demo.sharehub.cn",
        ),
    ]
    db.session.add_all(profiles)
    db.session.flush()
    return profiles


def _statements(firm: Organisation) -> list[Invoice]:
    """The firm's two latest issued statements, at the demo lab where it has some."""
    query = (
        sa.select(Invoice)
        .where(
            Invoice.customer_org_id == firm.id,
            Invoice.status == InvoiceStatus.ISSUED,
            Invoice.is_credit_note.is_(False),
            Invoice.gross_total > 0,
        )
        .order_by(Invoice.issued_dt.desc(), Invoice.id.desc())
        .limit(2)
    )
    lab_id = db.session.scalar(
        sa.select(Membership.organisation_id)
        .join(User, User.id == Membership.user_id)
        .where(User.email == DEMO_LAB_MANAGER)
    )
    at_lab = list(db.session.scalars(query.where(Invoice.lab_id == lab_id)))
    return at_lab if len(at_lab) == 2 else list(db.session.scalars(query))


def seed_demo_fapiao(firm: Organisation, buyer: User) -> list[FapiaoRequest]:
    """The profiles, then a request issued (the older statement) and one pending."""
    default, _special = _profiles(firm)
    requests = []
    for statement in reversed(_statements(firm)):
        request = FapiaoRequest(
            invoice_id=statement.id,
            lab_id=statement.lab_id,
            customer_org_id=firm.id,
            profile_id=default.id,
            buyer=default.snapshot(),
            amount=statement.effective_total,
            requested_by_id=buyer.id,
            created_dt=statement.issued_dt + timedelta(days=1),
        )
        db.session.add(request)
        requests.append(request)
    db.session.flush()
    if requests:
        issued = requests[0]
        statement = issued.invoice
        day = (statement.issued_dt + timedelta(days=2)).date()
        number = f"{day.year % 100:02d}320000{issued.id:012d}"
        stored = store_bytes(
            simple_pdf(f"Fapiao {number} - statement {statement.number} - {day.isoformat()}"),
            f"{number}.pdf",
            "application/pdf",
        )
        db.session.add(
            Fapiao(
                request=issued,
                number=number,
                issued_date=day,
                amount=issued.amount,
                sha256=stored.sha256,
                original_name=stored.original_name,
                stored_name=stored.stored_name,
                content_type=stored.content_type,
                size=stored.size,
            )
        )
        issued.status = RequestStatus.ISSUED
        issued.exported_dt = statement.issued_dt + timedelta(days=2)
    db.session.flush()
    return requests
