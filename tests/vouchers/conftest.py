"""Voucher fixtures: an authority with its programme, an issued invoice of the billing
fixture `booked` (tests/support/billing.py), a served order (voucher applied, rest paid,
booking completed) and a programme's history for the report."""

from datetime import UTC, date, datetime

import pytest

from sharehub.accounts.models import OrgKind, Role
from sharehub.billing import payments
from sharehub.billing import services as billing
from sharehub.billing.models import Invoice, InvoiceStatus
from sharehub.booking import services as booking_services
from sharehub.booking import usage
from sharehub.vouchers import services
from sharehub.vouchers.models import (
    ClaimStatus,
    SettlementClaim,
    VoucherProgramme,
    VoucherQuota,
    VoucherUse,
)
from tests.support import clock
from tests.support.clock import at, workday
from tests.support.vouchers import YEAR


@pytest.fixture
def authority(make_org, make_user):
    org = make_org(kind=OrgKind.AUTHORITY, name="苏州市科学技术局", name_en="Suzhou S&T Bureau")
    return org, make_user(org, role=Role.MANAGER)


@pytest.fixture
def officer(authority):
    return authority[1]


@pytest.fixture
def programme(db, authority):
    org, officer = authority
    programme = services.create_programme(
        officer,
        org,
        name="2026年苏州科技创新券",
        subsidy_bp=5000,
        yearly_cap=50_000_00,
        order_cap=400_00,
        valid_from=date(YEAR, 1, 1),
        valid_to=date(YEAR, 12, 31),
    )
    db.session.commit()
    return programme


@pytest.fixture
def invoice(db, booked, lab_manager):
    invoice = billing.invoice_from_booking(lab_manager, booked)
    billing.issue(lab_manager, invoice)
    db.session.commit()
    return invoice


@pytest.fixture
def make_invoice(db, booked, lab_manager):
    """Another issued invoice of the same customer: one hour of the same listing (529.99)."""

    def factory(hour: int = 13):
        booking = booking_services.create_booking(
            booked.customer_user,
            booked.customer_org,
            booked.listing,
            booking_services.BookingRequest(
                starts_dt=at(workday(), hour, 30), ends_dt=at(workday(), hour + 1, 30)
            ),
        )
        invoice = billing.invoice_from_booking(lab_manager, booking)
        billing.issue(lab_manager, invoice)
        db.session.commit()
        return invoice

    return factory


@pytest.fixture
def buyer(booked):
    return booked.customer_user


@pytest.fixture
def quota(db, programme, officer, booked):
    quota = services.apply_for_quota(
        booked.customer_user, booked.customer_org, programme, YEAR, 10_000_00
    )
    services.grant_quota(officer, quota, 10_000_00)
    db.session.commit()
    return quota


def serve(db, use, lab_manager):
    """The customer pays the rest by bank transfer and the lab completes the booking, so the
    voucher use can be claimed."""
    invoice = use.invoice
    payments.record_bank_transfer(lab_manager, invoice, invoice.outstanding, clock.today(), "")
    booking = invoice.booking
    usage.check_in(lab_manager, booking, at=booking.starts_dt, now=booking.starts_dt)
    usage.check_out(lab_manager, booking, ended=booking.ends_dt, now=booking.ends_dt)
    db.session.commit()
    return use


@pytest.fixture
def served_use(db, quota, invoice, buyer, lab_manager):
    use = services.use_voucher(buyer, quota, invoice)
    db.session.commit()
    return serve(db, use, lab_manager)


@pytest.fixture
def login_as(client, login):
    """Sign out whoever is signed in, then sign in as this user."""

    def do(user):
        client.post("/account/signout")
        return login(user)

    return do


def noon(month: int, day: int) -> datetime:
    return datetime(YEAR, month, day, 4, 0, tzinfo=UTC)  # 12:00 in Suzhou


@pytest.fixture
def history(db, authority, make_org):
    authority_org = authority[0]
    firm_a = make_org(name="甲精密制造有限公司", name_en="A Precision")
    firm_b = make_org(name="乙新材料有限公司", name_en="B Materials")
    firm_c = make_org(name="丙电子有限公司", name_en="C Electronics")
    lab_x = make_org(kind=OrgKind.LAB, name="X检测实验室", name_en="X Lab")
    lab_y = make_org(kind=OrgKind.LAB, name="Y计量实验室", name_en="Y Lab")

    def programme(name):
        p = VoucherProgramme(
            authority=authority_org,
            name=name,
            subsidy_bp=5000,
            yearly_cap=50_000_00,
            order_cap=5_000_00,
            valid_from=date(YEAR, 1, 1),
            valid_to=date(YEAR, 12, 31),
        )
        db.session.add(p)
        return p

    p, other = programme("本计划"), programme("另一计划")
    numbers = iter(range(1, 100))

    def invoice(lab, firm):
        n = next(numbers)
        inv = Invoice(
            lab=lab,
            customer_org=firm,
            status=InvoiceStatus.PAID,
            year=YEAR,
            sequence=n,
            number=f"RPT-{lab.id}-{n:03d}",
            net_total=100_000_00,
            vat_total=0,
            gross_total=100_000_00,
            issued_dt=noon(1, 5),
        )
        db.session.add(inv)
        return inv

    def quota(prog, firm, granted, decided, status="granted"):
        q = VoucherQuota(
            programme=prog,
            firm=firm,
            year=YEAR,
            requested_amount=granted,
            granted_amount=granted if status == "granted" else 0,
            status=status,
            decided_dt=decided,
        )
        db.session.add(q)
        return q

    qa = quota(p, firm_a, 10_000_00, noon(2, 10))
    qb = quota(p, firm_b, 5_000_00, noon(3, 5))
    quota(p, firm_c, 3_000_00, None, status="applied")  # not granted: not counted
    qa_other = quota(other, firm_a, 9_999_00, noon(2, 11))  # another programme
    paid = SettlementClaim(
        programme=p,
        lab=lab_x,
        status=ClaimStatus.PAID,
        amount=700_00,
        paid_date=date(YEAR, 5, 20),
        payment_reference="兑付-01",
    )
    noticed = SettlementClaim(programme=p, lab=lab_y, status=ClaimStatus.PUBLICISED, amount=250_00)
    db.session.add_all([paid, noticed])

    def use(q, lab, amount, created, status="applied", claim=None):
        u = VoucherUse(
            quota=q,
            invoice=invoice(lab, q.firm),
            amount=amount,
            status=status,
            created_dt=created,
            claim=claim,
        )
        db.session.add(u)
        q.used_amount += amount if status != "cancelled" else 0

    use(qa, lab_x, 400_00, noon(3, 15), claim=paid)
    use(qa, lab_y, 250_00, noon(4, 2), claim=noticed)
    use(qb, lab_x, 300_00, noon(4, 20), claim=paid)
    use(qb, lab_y, 120_00, noon(4, 25), status="void")
    use(qa, lab_x, 80_00, noon(3, 20), status="cancelled")  # returned: not counted
    use(qa_other, lab_x, 999_00, noon(3, 21))  # another programme
    db.session.commit()
    return p
