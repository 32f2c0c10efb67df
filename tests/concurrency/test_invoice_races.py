"""Two tabs, a double submit or two clerks acting on one invoice at the same moment: the
second waits for the first and gets a clear refusal. No number is lost, a booking is
invoiced once, a void makes one credit note, a voucher pays its share once.

Real concurrent sessions (threads released together by a barrier) on their own database.
PostgreSQL only: there the sessions truly overlap (row locks, unique index); SQLite takes
its write lock at a transaction's first statement, so two sessions that have both read the
invoice cannot exist there."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="a PostgreSQL race")

DAY = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)  # a Tuesday, 09:30 in Suzhou


class World:
    """An app on a fresh database with a lab, its manager, a firm, its buyer and a
    confirmed two-hour booking (1,059.98 with VAT)."""

    def __init__(self, postgres, tmp_path, name: str):
        from flask_migrate import upgrade

        from config import TestConfig
        from sharehub import create_app
        from sharehub.accounts.models import Membership, Organisation, OrgKind, Role, User
        from sharehub.booking.models import Booking, BookingStatus
        from sharehub.catalog.models import (
            Field,
            Listing,
            ListingKind,
            ListingStatus,
            PriceUnit,
            Unit,
        )
        from sharehub.catalog.reference import seed_categories
        from sharehub.core.db import utcnow
        from sharehub.extensions import db

        class Config(TestConfig):
            SQLALCHEMY_DATABASE_URI = (
                postgres.create_database(name)
                if BACKEND == "postgres" and postgres is not None
                else f"sqlite:///{tmp_path / (name + '.db')}"
            )

        self.app = create_app(Config)
        self.db = db
        with self.app.app_context():
            upgrade()
            seed_categories()
            lab = Organisation(
                kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(880001)
            )
            firm = Organisation(
                kind=OrgKind.ENTERPRISE, name="企业", credit_code=make_credit_code(880002)
            )
            manager = User(email="manager@example.cn", name="管理员", password_hash="x")
            buyer = User(email="buyer@example.cn", name="买家", password_hash="x")
            listing = Listing(
                lab=lab,
                kind=ListingKind.EQUIPMENT,
                status=ListingStatus.PUBLISHED,
                name="扫描电镜",
                field=Field.NEW_MATERIALS,
                category_code="020303",
                price_unit=PriceUnit.HOUR,
                price_external=49999,
                price_internal=30000,
                published_dt=utcnow(),
            )
            listing.units.append(Unit(name="#1"))
            db.session.add_all(
                [
                    lab,
                    firm,
                    manager,
                    buyer,
                    listing,
                    Membership(user=manager, organisation=lab, role=Role.MANAGER),
                    Membership(user=buyer, organisation=firm, role=Role.OWNER),
                ]
            )
            db.session.flush()
            booking = Booking(
                uid="race@example.cn",
                listing_id=listing.id,
                unit_id=listing.units[0].id,
                customer_org_id=firm.id,
                customer_user_id=buyer.id,
                starts_dt=DAY,
                ends_dt=DAY + timedelta(hours=2),
                blocked_until_dt=DAY + timedelta(hours=2),
                status=BookingStatus.CONFIRMED,
                price_tier="external",
                net_amount=99998,
                vat_rate_bp=600,
                vat_amount=6000,
                gross_amount=105998,
            )
            db.session.add(booking)
            db.session.commit()
            self.lab_id, self.firm_id, self.booking_id = lab.id, firm.id, booking.id
            self.manager_id, self.buyer_id = manager.id, buyer.id
            db.session.remove()

    def __call__(self, work, arguments) -> list[str]:
        """Run work(*argument) for every argument in its own session and thread, all
        released at once after `prepare`; the outcomes: "ok" or the exception's name."""
        barrier = threading.Barrier(len(arguments))
        outcomes: list[str] = []

        def run(argument):
            with self.app.app_context():
                try:
                    work(barrier, *argument)
                    self.db.session.commit()
                    outcomes.append("ok")
                except threading.BrokenBarrierError:
                    outcomes.append("barrier")
                except Exception as exc:  # the refusals are counted by the tests
                    self.db.session.rollback()
                    outcomes.append(type(exc).__name__)
                finally:
                    self.db.session.remove()

        threads = [threading.Thread(target=run, args=(a,)) for a in arguments]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
        return sorted(outcomes)

    def manager(self):
        from sharehub.accounts.models import User

        return self.db.session.get(User, self.manager_id)

    def draft(self):
        from sharehub.billing import services
        from sharehub.booking.models import Booking

        with self.app.app_context():
            invoice = services.invoice_from_booking(
                self.manager(), self.db.session.get(Booking, self.booking_id)
            )
            self.db.session.commit()
            invoice_id = invoice.id
            self.db.session.remove()
        return invoice_id

    def issued(self):
        from sharehub.billing import services
        from sharehub.billing.models import Invoice

        invoice_id = self.draft()
        with self.app.app_context():
            services.issue(self.manager(), self.db.session.get(Invoice, invoice_id))
            self.db.session.commit()
            self.db.session.remove()
        return invoice_id

    def violations(self) -> dict:
        from sharehub.admin.consistency import violations

        with self.app.app_context():
            found = {name: items for name, items in violations().items() if items}
            self.db.session.remove()
        return found

    def close(self):
        with self.app.app_context():
            self.db.session.remove()
            self.db.engine.dispose()


@pytest.fixture
def world(postgres, tmp_path, request):
    world = World(postgres, tmp_path, f"sharehub_{request.node.name[5:40]}")
    yield world
    world.close()


def test_issuing_one_draft_from_two_tabs_takes_one_number(world):
    from sharehub.billing import services
    from sharehub.billing.models import Invoice, InvoiceCounter
    from sharehub.core.models import OutboxMessage

    invoice_id = world.draft()

    def issue(barrier, _):
        invoice = world.db.session.get(Invoice, invoice_id)
        assert invoice.is_draft and invoice.lines  # both tabs show the draft
        barrier.wait(timeout=30)
        services.issue(world.manager(), invoice)

    outcomes = world(issue, [(n,) for n in range(4)])
    assert outcomes == ["Conflict", "Conflict", "Conflict", "ok"]
    with world.app.app_context():
        db = world.db
        invoice = db.session.get(Invoice, invoice_id)
        counter = db.session.get(InvoiceCounter, (world.lab_id, invoice.year))
        mails = db.session.scalar(
            sa.select(sa.func.count(OutboxMessage.id)).where(
                OutboxMessage.subject.contains(invoice.number)
            )
        )
        assert (invoice.sequence, counter.last_number) == (1, 1)
        assert mails == 1  # the buyer is told one number, the one the invoice carries
        db.session.remove()
    assert world.violations() == {}


def test_drafting_one_booking_from_several_sessions_makes_one_invoice(world):
    from sharehub.billing import services
    from sharehub.billing.models import Invoice
    from sharehub.booking.models import Booking

    def draft(barrier, _):
        booking = world.db.session.get(Booking, world.booking_id)
        manager = world.manager()
        barrier.wait(timeout=30)
        services.invoice_from_booking(manager, booking)

    outcomes = world(draft, [(n,) for n in range(6)])
    assert outcomes == ["Conflict"] * 5 + ["ok"]
    with world.app.app_context():
        count = world.db.session.scalar(sa.select(sa.func.count(Invoice.id)))
        world.db.session.remove()
    assert count == 1
    assert world.violations() == {}


def test_voiding_a_paid_invoice_from_two_sessions_makes_one_credit_note(world):
    from sharehub.billing import payments, services
    from sharehub.billing.models import Invoice, InvoiceStatus

    invoice_id = world.issued()
    with world.app.app_context():
        invoice = world.db.session.get(Invoice, invoice_id)
        payments.record_bank_transfer(world.manager(), invoice, 105998, date(2026, 3, 11), "转账")
        world.db.session.commit()
        world.db.session.remove()

    def void(barrier, _):
        invoice = world.db.session.get(Invoice, invoice_id)
        assert invoice.status == InvoiceStatus.PAID and not invoice.credit_notes
        barrier.wait(timeout=30)
        services.void(world.manager(), invoice, "开票有误")

    outcomes = world(void, [(n,) for n in range(3)])
    assert outcomes == ["Conflict", "Conflict", "ok"]
    with world.app.app_context():
        invoice = world.db.session.get(Invoice, invoice_id)
        assert invoice.status == InvoiceStatus.VOID
        assert [c.gross_total for c in invoice.credit_notes] == [-105998]
        assert sum(r.amount for r in invoice.refunds) == 105998  # refunded once
        world.db.session.remove()
    assert world.violations() == {}


def test_applying_vouchers_to_one_invoice_at_once_makes_one_use(world):
    from sharehub.accounts.models import Organisation, OrgKind, User
    from sharehub.billing.models import Invoice
    from sharehub.vouchers import services
    from sharehub.vouchers.models import VoucherProgramme, VoucherQuota, VoucherUse

    invoice_id = world.issued()
    with world.app.app_context():
        db = world.db
        invoice = db.session.get(Invoice, invoice_id)
        year = invoice.year
        authority = Organisation(
            kind=OrgKind.AUTHORITY, name="科技局", credit_code=make_credit_code(880003)
        )
        quotas = []
        for n in range(2):  # the city's and the province's programme
            programme = VoucherProgramme(
                authority=authority,
                name=f"创新券{n}",
                subsidy_bp=5000,
                yearly_cap=10_000_00,
                order_cap=10_000_00,
                valid_from=date(year, 1, 1),
                valid_to=date(year, 12, 31),
            )
            quotas.append(
                VoucherQuota(
                    programme=programme,
                    firm_id=world.firm_id,
                    year=year,
                    requested_amount=10_000_00,
                    granted_amount=10_000_00,
                    status="granted",
                )
            )
        db.session.add_all([authority, *quotas])
        db.session.commit()
        quota_ids = [q.id for q in quotas]
        db.session.remove()

    def use(barrier, quota_id):
        buyer = world.db.session.get(User, world.buyer_id)
        quota = world.db.session.get(VoucherQuota, quota_id)
        invoice = world.db.session.get(Invoice, invoice_id)
        assert invoice.outstanding == 105998
        barrier.wait(timeout=30)
        services.use_voucher(buyer, quota, invoice)

    outcomes = world(use, [(quota_ids[n % 2],) for n in range(4)])
    assert outcomes == ["Conflict", "Conflict", "Conflict", "ok"]
    with world.app.app_context():
        amounts = world.db.session.scalars(sa.select(VoucherUse.amount)).all()
        used = world.db.session.scalars(sa.select(VoucherQuota.used_amount)).all()
        outstanding = world.db.session.get(Invoice, invoice_id).outstanding
        world.db.session.remove()
    assert amounts == [52999] and sorted(used) == [0, 52999] and outstanding == 52999
    assert world.violations() == {}
