"""The enterprise applies for a quota, reads its quotas, and applies a voucher on an issued
invoice for exactly the amount the page announced."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from sharehub.billing.models import InvoiceStatus, Payment, PaymentMethod
from sharehub.core.models import Notification
from sharehub.vouchers import services
from sharehub.vouchers.models import VoucherProgramme, VoucherQuota, VoucherUse
from tests.support import clock
from tests.support.vouchers import YEAR

pytestmark = pytest.mark.usefixtures("english")


def test_enterprise_applies_for_a_quota(client, db, programme, authority, buyer, booked, login_as):
    ended = VoucherProgramme(
        authority_id=programme.authority_id,
        name="2020年旧创新券",
        subsidy_bp=5000,
        yearly_cap=1_000_00,
        order_cap=1_000_00,
        valid_from=date(2020, 1, 1),
        valid_to=clock.today() - timedelta(days=1),
    )
    db.session.add(ended)
    db.session.commit()
    login_as(buyer)
    page = client.get("/vouchers/available").get_data(as_text=True)
    assert "2026年苏州科技创新券" in page and "2020年旧创新券" not in page
    assert "Pays 50.0 percent of the price" in page and "400.00" in page
    prefix = f"p{programme.id}-"
    wrong = client.post(
        f"/vouchers/programmes/{programme.id}/apply",
        data={prefix + "year": str(YEAR + 1), prefix + "amount": "12345.67"},
    )
    html = wrong.get_data(as_text=True)
    # refused with the reason, and what was typed is still in the form
    assert wrong.status_code == 400 and "Choose a year" in html
    assert 'value="12345.67"' in html
    response = client.post(
        f"/vouchers/programmes/{programme.id}/apply",
        data={prefix + "year": str(YEAR), prefix + "amount": "30000"},
    )
    assert response.status_code == 302
    quota = db.session.scalar(sa.select(VoucherQuota))
    assert (quota.firm_id, quota.year, quota.requested_amount, quota.status) == (
        booked.customer_org_id,
        YEAR,
        30_000_00,
        "applied",
    )
    officer = authority[1]
    assert db.session.scalar(
        sa.select(Notification.text).where(Notification.user_id == officer.id)
    ).endswith("in 2026年苏州科技创新券")
    # applying again for the same year is refused, and the open year is no longer offered
    again = client.post(
        f"/vouchers/programmes/{programme.id}/apply",
        data={prefix + "year": str(YEAR), prefix + "amount": "100"},
    )
    assert again.status_code == 409 and "already applied" in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(VoucherQuota.id))) == 1
    quotas = client.get("/vouchers/quotas").get_data(as_text=True)
    assert "Awaiting decision" in quotas and "30,000.00" in quotas


def test_quotas_page_shows_granted_used_and_remaining(client, db, quota, invoice, buyer, login_as):
    services.use_voucher(buyer, quota, invoice)
    db.session.commit()
    login_as(buyer)
    html = client.get("/vouchers/quotas").get_data(as_text=True)
    row = html[html.index(f'id="quota-{quota.id}"') :]
    row = row[: row.index("</tr>")]
    # granted 10,000.00; used 400.00 (the order cap); remaining 9,600.00
    assert "10,000.00" in row and "400.00" in row and "9,600.00" in row


def test_only_enterprises_use_the_enterprise_pages(client, db, programme, lab_manager, login_as):
    login_as(lab_manager)
    assert client.get("/vouchers/available").status_code == 403
    assert client.get("/vouchers/quotas").status_code == 403
    response = client.post(
        f"/vouchers/programmes/{programme.id}/apply",
        data={f"p{programme.id}-year": str(YEAR), f"p{programme.id}-amount": "100"},
    )
    assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(VoucherQuota.id))) == 0


def test_checkout_shows_and_takes_the_same_amount(client, db, quota, invoice, buyer, login_as):
    login_as(buyer)
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    # 50 % of 1,059.98 is 529.99; the order cap of 400.00 is smaller
    assert "The voucher pays CN¥400.00 now; you pay the remaining CN¥659.98." in page
    response = client.post(f"/vouchers/invoices/{invoice.id}/apply", data={"quota_id": quota.id})
    assert response.status_code == 302
    db.session.expire_all()
    payment = db.session.scalar(sa.select(Payment))
    assert (payment.method, payment.amount) == (PaymentMethod.VOUCHER, 400_00)
    assert invoice.outstanding == 659_98 and invoice.status == InvoiceStatus.ISSUED
    assert db.session.get(VoucherQuota, quota.id).used_amount == 400_00
    # the rest is paid by the existing methods: the bank transfer details are still shown
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert "Open: CN¥659.98" in page and invoice.payment_reference in page
    # the programme's share of this invoice is paid: not 50 % of the 659.98 left again
    assert "A voucher has already been applied to this statement." in page
    assert "apply-voucher-" not in page


def test_checkout_preview_follows_the_remaining_quota(
    client, db, quota, invoice, buyer, login_as, make_invoice
):
    quota.used_amount = quota.granted_amount - 123_45
    db.session.commit()
    login_as(buyer)
    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert "The voucher pays CN¥123.45 now" in page
    client.post(f"/vouchers/invoices/{invoice.id}/apply", data={"quota_id": quota.id})
    assert db.session.scalar(sa.select(VoucherUse.amount)) == 123_45
    page = client.get(f"/invoices/{make_invoice().id}").get_data(as_text=True)
    assert "The quota is used up." in page and "apply-voucher-" not in page


def test_others_cannot_apply_a_voucher(
    client, db, quota, invoice, lab_manager, make_org, make_user, login_as, programme, officer
):
    login_as(lab_manager)
    assert "voucher-box" not in client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    assert (
        client.post(f"/vouchers/invoices/{invoice.id}/apply", data={"quota_id": quota.id})
    ).status_code == 404
    stranger_firm = make_org()
    stranger = make_user(stranger_firm)
    own = services.apply_for_quota(stranger, stranger_firm, programme, YEAR, 1_000_00)
    services.grant_quota(officer, own, 1_000_00)
    db.session.commit()
    login_as(stranger)
    assert (
        client.post(f"/vouchers/invoices/{invoice.id}/apply", data={"quota_id": own.id})
    ).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0
    assert db.session.get(VoucherQuota, own.id).used_amount == 0


def test_a_quota_of_another_firm_is_refused(
    client, db, invoice, buyer, booked, make_org, make_user, programme, officer, login_as
):
    other_firm = make_org()
    other_firm_user = make_user(other_firm)
    foreign = services.apply_for_quota(other_firm_user, other_firm, programme, YEAR, 1_000_00)
    services.grant_quota(officer, foreign, 1_000_00)
    db.session.commit()
    login_as(buyer)
    response = client.post(
        f"/vouchers/invoices/{invoice.id}/apply",
        data={"quota_id": foreign.id},
        follow_redirects=True,
    )
    assert "Choose one of your granted quotas." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0
