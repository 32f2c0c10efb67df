"""Every voucher page keeps to the Content-Security-Policy: no inline code or styles, no
outside addresses."""

import re

import pytest

from sharehub.vouchers import claims
from sharehub.vouchers.models import DocumentKind
from tests.support.files import pdf_bytes

pytestmark = pytest.mark.usefixtures("english")


def clean(html: str) -> bool:
    return not (
        re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        or " style=" in html
        or "<style" in html
        or re.search(r"(src|href)=\"(https?:)?//", html)
    )


def test_voucher_pages_have_no_inline_code(
    client, db, served_use, lab_manager, officer, buyer, login_as
):
    claim = claims.create_claim(
        lab_manager, served_use.invoice.lab, served_use.quota.programme, [served_use.id]
    )
    claims.add_document(
        lab_manager, claim, DocumentKind.CONTRACT, claims.Upload(pdf_bytes(), "c.pdf")
    )
    db.session.commit()
    programme_id = served_use.quota.programme_id
    pages = {
        officer: [
            "/vouchers/programmes",
            "/vouchers/programmes/new",
            f"/vouchers/programmes/{programme_id}",
            f"/vouchers/programmes/{programme_id}/report",
        ],
        buyer: ["/vouchers/available", "/vouchers/quotas", f"/invoices/{served_use.invoice_id}"],
        lab_manager: ["/vouchers/claims", f"/vouchers/claims/{claim.id}", "/vouchers/notices"],
    }
    for user, paths in pages.items():
        login_as(user)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            assert clean(response.get_data(as_text=True)), path
