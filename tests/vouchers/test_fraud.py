"""A fraudulent voucher use: voided without returning to the quota, its claim refused, the
lab barred from the programme; the invoice's payments are left to billing's refunds."""

import pytest
import sqlalchemy as sa

from sharehub.accounts.models import OrgKind
from sharehub.billing import services as billing
from sharehub.billing.models import InvoiceStatus, Payment
from sharehub.booking import services as booking_services
from sharehub.core.errors import Conflict
from sharehub.vouchers import claims, services
from sharehub.vouchers.models import (
    ClaimStatus,
    DocumentKind,
    SettlementClaim,
    VoucherQuota,
    VoucherUse,
)
from tests.conftest import pdf_bytes
from tests.support.clock import at, workday

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def claimed(db, served_use, lab_manager):
    claim = claims.create_claim(
        lab_manager, served_use.invoice.lab, served_use.quota.programme, [served_use.id]
    )
    for kind in DocumentKind:
        claims.add_document(lab_manager, claim, kind, claims.Upload(pdf_bytes(), "x.pdf"))
    claims.submit_claim(lab_manager, claim)
    claims.publish_claim(officer_of(claim), claim)
    db.session.commit()
    return claim


def officer_of(claim):
    return claim.programme.authority.memberships[0].user


def second_invoice(db, booked, lab_manager):
    booking = booking_services.create_booking(
        booked.customer_user,
        booked.customer_org,
        booked.listing,
        booking_services.BookingRequest(
            starts_dt=at(workday(), 13, 30), ends_dt=at(workday(), 14, 30)
        ),
    )
    invoice = billing.invoice_from_booking(lab_manager, booking)
    billing.issue(lab_manager, invoice)
    db.session.commit()
    return invoice


def test_fraud_voids_refuses_the_claim_and_bars_the_lab(
    client, db, claimed, served_use, officer, lab_manager, login_as, booked, quota, buyer
):
    login_as(officer)
    page = client.get(f"/vouchers/programmes/{quota.programme_id}").get_data(as_text=True)
    assert f'action="/vouchers/uses/{served_use.id}/fraud"' in page
    response = client.post(f"/vouchers/uses/{served_use.id}/fraud", data={"reason": ""})
    assert response.status_code == 400
    assert db.session.get(VoucherUse, served_use.id).status == "applied"
    client.post(f"/vouchers/uses/{served_use.id}/fraud", data={"reason": "虚构服务合同"})
    db.session.expire_all()
    use = db.session.get(VoucherUse, served_use.id)
    claim = db.session.get(SettlementClaim, claimed.id)
    programme = use.quota.programme
    assert (use.status, use.void_reason) == ("void", "虚构服务合同")
    # not returned to the firm's quota
    assert db.session.get(VoucherQuota, quota.id).used_amount == 400_00
    assert claim.status == ClaimStatus.REJECTED
    assert claim.reject_reason == "Fraudulent voucher use: 虚构服务合同"
    assert programme.barred_lab_ids == [claim.lab_id]
    # the voucher's payment is taken off the invoice, which is open again for it
    payments = db.session.scalars(sa.select(Payment.amount).order_by(Payment.id)).all()
    assert payments == [400_00, 659_98]
    assert [(r.method.value, r.amount) for r in use.invoice.refunds] == [("voucher", 400_00)]
    assert (use.invoice.status, use.invoice.outstanding) == (InvoiceStatus.ISSUED, 400_00)
    # the lab takes no new vouchers in this programme and files no new claims
    invoice = second_invoice(db, booked, lab_manager)
    with pytest.raises(Conflict, match="not covered"):
        services.use_voucher(buyer, quota, invoice)
    with pytest.raises(Conflict, match="barred"):
        claims.create_claim(lab_manager, claim.lab, programme, [use.id])
    login_as(buyer)
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert "This laboratory or service is not covered by the programme." in page
    assert "apply-voucher-" not in page
    # voiding twice is refused
    login_as(officer)
    again = client.post(
        f"/vouchers/uses/{use.id}/fraud", data={"reason": "再次"}, follow_redirects=True
    )
    assert "already void" in again.get_data(as_text=True)


def test_a_void_use_stays_out_of_the_quota_when_the_invoice_is_voided(
    db, quota, invoice, buyer, officer, lab_manager
):
    use = services.use_voucher(buyer, quota, invoice)
    claims.mark_fraudulent(officer, use, "虚假交易")
    billing.void(lab_manager, invoice, "作废")
    assert use.status == "void" and quota.used_amount == 400_00


def test_another_authority_cannot_mark_fraud(
    client, db, served_use, make_org, make_user, login_as, lab_manager
):
    for outsider in (make_user(make_org(kind=OrgKind.AUTHORITY)), lab_manager):
        login_as(outsider)
        status = client.post(
            f"/vouchers/uses/{served_use.id}/fraud", data={"reason": "x"}
        ).status_code
        assert status in (403, 404)
    db.session.expire_all()
    use = db.session.get(VoucherUse, served_use.id)
    assert use.status == "applied" and use.quota.programme.barred_lab_ids == []
