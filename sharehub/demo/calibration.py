"""Demo calibration certificates: every demo instrument has one; on the Suzhou lab's first
instrument it falls due within the month, and on its second it is overdue, a unit the lab
chose to flag rather than block (booked with a warning)."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from sharehub.accounts.models import Membership, Organisation, User
from sharehub.calibration.models import (
    CalibrationPolicy,
    Certificate,
    CertificateKind,
    CertificateResult,
)
from sharehub.catalog.models import Listing, ListingKind
from sharehub.core.clock import local_today
from sharehub.core.uploads import store_bytes
from sharehub.extensions import db

BODIES = ("江苏省计量科学研究院", "中国计量科学研究院", "上海市计量测试技术研究院")
DEMO_LAB_MANAGER = "lab@demo.sharehub.cn"


def certificate_pdf(number: str, unit: str, due: date) -> bytes:
    return simple_pdf(f"Calibration certificate {number} - unit {unit} - due {due.isoformat()}")


def simple_pdf(text: str) -> bytes:
    """A small, well-formed one-page PDF (Latin text: the demo has no font to embed)."""
    text = text.encode("ascii", "replace").decode().replace("(", "[").replace(")", "]")
    stream = f"BT /F1 14 Tf 50 780 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def seed_demo_calibration() -> int:
    """One calibration certificate for each unit of every demo instrument; returns the count."""
    today = local_today()
    manager = db.session.scalar(sa.select(User).where(User.email == DEMO_LAB_MANAGER))
    demo_lab_id = (
        db.session.scalar(
            sa.select(Membership.organisation_id).where(Membership.user_id == manager.id)
        )
        if manager
        else None
    )
    listings = db.session.scalars(
        sa.select(Listing)
        .join(Organisation, Organisation.id == Listing.lab_id)
        .where(Listing.kind == ListingKind.EQUIPMENT)
        .order_by(Listing.id)
    ).all()
    created = 0
    special = [li for li in listings if li.lab_id == demo_lab_id][:2]
    for k, listing in enumerate(listings):
        for unit in listing.units:
            issued = today - timedelta(days=30 + (k * 37 + unit.id * 11) % 200)
            due = issued + timedelta(days=365)
            if special and listing is special[0] and unit is listing.units[0]:
                due, issued = today + timedelta(days=12), today - timedelta(days=353)
            elif len(special) > 1 and listing is special[1] and unit is listing.units[0]:
                due, issued = today - timedelta(days=9), today - timedelta(days=374)
            number = f"JL{issued.year}-{listing.id:04d}-{unit.id:03d}"
            stored = store_bytes(
                certificate_pdf(number, unit.name, due), f"{number}.pdf", "application/pdf"
            )
            db.session.add(
                Certificate(
                    unit_id=unit.id,
                    kind=CertificateKind.CALIBRATION,
                    issuing_body=BODIES[k % len(BODIES)],
                    number=number,
                    issued_date=issued,
                    due_date=due,
                    result=CertificateResult.PASS,
                    restrictions="",
                    recorded_by_id=manager.id
                    if manager and listing.lab_id == demo_lab_id
                    else None,
                    original_name=stored.original_name,
                    stored_name=stored.stored_name,
                    content_type=stored.content_type,
                    size=stored.size,
                )
            )
            created += 1
    if len(special) > 1:  # the overdue one is flagged: booked with a warning
        db.session.add(CalibrationPolicy(listing_id=special[1].id, blocks_unfit=False))
    db.session.flush()
    return created
