"""Innovation vouchers: programme, quota, use at payment with its three limits, release."""

from datetime import date

import pytest

from sharehub.accounts.models import OrgKind
from sharehub.billing import payments
from sharehub.billing import services as billing
from sharehub.billing.models import InvoiceStatus
from sharehub.core.errors import Conflict, PermissionDenied, ValidationError
from sharehub.vouchers import services
from tests.support import clock

pytestmark = pytest.mark.usefixtures("english")
YEAR = clock.today().year


@pytest.fixture
def authority(make_org, make_user):
    org = make_org(kind=OrgKind.AUTHORITY, name="苏州市科学技术局")
    return org, make_user(org)


@pytest.fixture
def programme(db, authority, lab):
    org, officer = authority
    return services.create_programme(
        officer,
        org,
        name="2026年苏州科技创新券",
        subsidy_bp=5000,
        yearly_cap=50_000_00,
        order_cap=400_00,
        valid_from=date(YEAR, 1, 1),
        valid_to=date(YEAR, 12, 31),
    )


@pytest.fixture
def invoice(db, booked, lab_manager):
    invoice = billing.invoice_from_booking(lab_manager, booked)
    billing.issue(lab_manager, invoice)
    return invoice


def test_only_authorities_create_programmes(db, lab, lab_manager):
    with pytest.raises(PermissionDenied):
        services.create_programme(
            lab_manager,
            lab,
            name="x",
            subsidy_bp=5000,
            yearly_cap=1,
            order_cap=1,
            valid_from=date(YEAR, 1, 1),
            valid_to=date(YEAR, 12, 31),
        )


def test_voucher_pays_the_smallest_of_share_quota_and_order_cap(
    db, programme, authority, invoice, booked
):
    firm, buyer = booked.customer_org, booked.customer_user
    quota = services.apply_for_quota(buyer, firm, programme, YEAR, 30_000_00)
    with pytest.raises(Conflict):
        services.use_voucher(buyer, quota, invoice)  # not granted yet
    services.grant_quota(authority[1], quota, 20_000_00)
    # 50 % of 1,059.98 = 529.99, but the order cap is 400.00
    use = services.use_voucher(buyer, quota, invoice)
    assert use.amount == 400_00 and quota.used_amount == 400_00
    assert invoice.outstanding == 105998 - 40000 and invoice.status == InvoiceStatus.ISSUED
    with pytest.raises(ValidationError):
        services.apply_for_quota(buyer, firm, programme, YEAR, 60_000_00)


def test_remaining_quota_limits_the_amount(db, programme, authority, invoice, booked, make_invoice):
    firm, buyer = booked.customer_org, booked.customer_user
    quota = services.apply_for_quota(buyer, firm, programme, YEAR, 1_000_00)
    services.grant_quota(authority[1], quota, 123_45)
    assert services.use_voucher(buyer, quota, invoice).amount == 123_45
    with pytest.raises(Conflict, match="used up"):
        services.use_voucher(buyer, quota, make_invoice())


@pytest.fixture
def generous(db, authority, booked):
    """A granted quota of a programme paying half, without a per-order cap in the way."""
    org, officer = authority
    programme = services.create_programme(
        officer,
        org,
        name="2026年苏州科技创新券（不设单笔上限）",
        subsidy_bp=5000,
        yearly_cap=50_000_00,
        order_cap=50_000_00,
        valid_from=date(YEAR, 1, 1),
        valid_to=date(YEAR, 12, 31),
    )
    quota = services.apply_for_quota(
        booked.customer_user, booked.customer_org, programme, YEAR, 10_000_00
    )
    services.grant_quota(officer, quota, 10_000_00)
    db.session.commit()
    return quota


def test_a_voucher_pays_its_share_of_an_invoice_once(client, db, generous, invoice, booked, login):
    buyer = booked.customer_user
    use = services.use_voucher(buyer, generous, invoice)
    assert use.amount == 529_99  # half of 1,059.98, rounded half up
    assert invoice.outstanding == 529_99
    # Applied again, it does not take half of what is left (264.995 → 265.00), nor a
    # quarter after that: the programme's share of this invoice is paid.
    with pytest.raises(Conflict, match="already been applied"):
        services.use_voucher(buyer, generous, invoice)
    [(quota, amount, reason)] = services.checkout_options(buyer, invoice)
    assert (amount, reason) == (0, "A voucher has already been applied to this statement.")
    db.session.commit()
    login(buyer)
    response = client.post(
        f"/vouchers/invoices/{invoice.id}/apply",
        data={"quota_id": generous.id},
        follow_redirects=True,
    )
    assert response.status_code == 409  # the invoice again, with the refusal
    assert "A voucher has already been applied to this statement." in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert generous.used_amount == 529_99 and invoice.outstanding == 529_99
    assert len(invoice.payments) == 1


def test_the_share_is_of_the_invoice_amount_and_pays_at_most_what_is_due(
    db, generous, booked, lab_manager, make_invoice
):
    invoice = make_invoice()  # one hour: 529.99
    payments.record_bank_transfer(lab_manager, invoice, 400_00, clock.today(), "转账")
    # Half of the invoice is 265.00, but only 129.99 is still due: the voucher pays that
    # (a share of what is due would pay 65.00 and leave the rest open).
    use = services.use_voucher(booked.customer_user, generous, invoice)
    assert use.amount == 129_99
    assert (invoice.outstanding, invoice.status) == (0, InvoiceStatus.PAID)


def test_ineligible_lab_and_foreign_invoices_are_refused(
    db, authority, invoice, booked, lab, make_org, make_user
):
    org, officer = authority
    other_lab = make_org(kind=OrgKind.LAB)
    narrow = services.create_programme(
        officer,
        org,
        name="仅限指定实验室",
        subsidy_bp=4000,
        yearly_cap=10_000_00,
        order_cap=10_000_00,
        valid_from=date(YEAR, 1, 1),
        valid_to=date(YEAR, 12, 31),
        lab_ids=[other_lab.id],
    )
    quota = services.apply_for_quota(
        booked.customer_user, booked.customer_org, narrow, YEAR, 1_000_00
    )
    services.grant_quota(officer, quota, 1_000_00)
    with pytest.raises(Conflict, match="not covered"):
        services.use_voucher(booked.customer_user, quota, invoice)
    stranger = make_user(make_org())
    with pytest.raises(PermissionDenied):
        services.use_voucher(stranger, quota, invoice)


def test_voiding_the_invoice_returns_the_voucher_amount(
    db, programme, authority, invoice, booked, lab_manager
):
    firm, buyer = booked.customer_org, booked.customer_user
    quota = services.apply_for_quota(buyer, firm, programme, YEAR, 1_000_00)
    services.grant_quota(authority[1], quota, 1_000_00)
    services.use_voucher(buyer, quota, invoice)
    assert quota.remaining == 600_00
    billing.void(lab_manager, invoice, "预约取消")
    assert quota.used_amount == 0 and quota.remaining == 1_000_00


def test_cancelling_the_order_returns_the_voucher_and_refunds_the_rest(
    db, programme, authority, invoice, booked, lab_manager
):
    from sharehub.billing import payments
    from sharehub.billing.models import PaymentMethod
    from sharehub.booking import services as booking_services

    firm, buyer = booked.customer_org, booked.customer_user
    quota = services.apply_for_quota(buyer, firm, programme, YEAR, 1_000_00)
    services.grant_quota(authority[1], quota, 1_000_00)
    services.use_voucher(buyer, quota, invoice)  # 400.00, the order cap
    payments.record_bank_transfer(lab_manager, invoice, 659_98, clock.today(), "rest")
    booking_services.cancel(buyer, booked, "计划变更")
    assert (quota.used_amount, quota.remaining) == (0, 1_000_00)
    assert sorted((r.method, r.amount) for r in invoice.refunds) == [
        (PaymentMethod.BANK_TRANSFER, 659_98),
        (PaymentMethod.VOUCHER, 400_00),
    ]
    assert invoice.status.value == "void" and invoice.paid_amount == 0
