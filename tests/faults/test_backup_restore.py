"""A pg_dump of a populated database restored into an empty one gives the same figures
(`sharehub.admin.consistency.figures`: row counts, invoice and payment sums, booking
amounts, usage minutes per lab, revenue by month, every lab's sharing statistics), no
consistency violation, and a database the app goes on with: the next invoice takes the next
number, new rows get new ids."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.support import clock
from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND
from tests.support.catalog import WEEKDAY_HOURS
from tests.support.clock import at, workday

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="pg_dump and pg_restore")


def app_for(url: str, tmp_path):
    from config import TestConfig
    from sharehub import create_app

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        STORAGE_DIR = str(tmp_path / "storage")

    return create_app(Config)


def populate() -> None:
    """Two labs, three listings, two firms; bookings (one cancelled with a fee), invoices
    issued, one voided by a credit note, payments by transfer and by webhook, usage."""
    from sharehub.accounts.models import Membership, Organisation, OrgKind, Region, Role, User
    from sharehub.billing import gateway, payments
    from sharehub.billing import services as billing
    from sharehub.booking import services as booking_services
    from sharehub.booking import usage
    from sharehub.catalog.models import (
        Field,
        Listing,
        ListingKind,
        ListingStatus,
        OpeningInterval,
        PriceUnit,
        Unit,
    )
    from sharehub.catalog.reference import seed_categories, seed_holidays
    from sharehub.catalog.search import index_fields
    from sharehub.core.db import utcnow
    from sharehub.demo import seed_regions
    from sharehub.extensions import db

    seed_regions(), seed_categories(), seed_holidays()
    city = db.session.scalar(sa.select(Region).where(Region.code == "320500"))

    def org(kind, n, name):
        o = Organisation(kind=kind, name=name, credit_code=make_credit_code(990000 + n))
        o.region = city
        db.session.add(o)
        return o

    def user(o, email):
        u = User(email=email, name=email.split("@")[0], email_verified_dt=utcnow(), locale="en")
        u.set_password("backup-restore-2026")
        db.session.add_all([u, Membership(user=u, organisation=o, role=Role.OWNER)])
        return u

    labs = [org(OrgKind.LAB, 1, "备份实验室甲"), org(OrgKind.LAB, 2, "备份实验室乙")]
    managers = [user(labs[0], "a@backup.cn"), user(labs[1], "b@backup.cn")]
    firms = [org(OrgKind.ENTERPRISE, 3, "备份企业一"), org(OrgKind.ENTERPRISE, 4, "备份企业二")]
    buyers = [user(firms[0], "c@backup.cn"), user(firms[1], "d@backup.cn")]
    listings = []
    for n, (lab, price) in enumerate([(labs[0], 50000), (labs[0], 32000), (labs[1], 81000)]):
        listing = Listing(
            lab=lab,
            kind=ListingKind.EQUIPMENT,
            status=ListingStatus.PUBLISHED,
            name=f"备份测试仪器{n}",
            field=Field.NEW_MATERIALS,
            category_code="020303",
            price_unit=PriceUnit.HOUR,
            price_external=price,
            price_internal=price // 2,
            published_dt=utcnow(),
            approval_required=False,
            cancel_fee_percent=50,
            free_cancel_hours=24 * 30,
        )
        listing.units.append(Unit(name="#1"))
        for weekday, start, end in WEEKDAY_HOURS:
            listing.opening_hours.append(
                OpeningInterval(weekday=weekday, start_minute=start, end_minute=end)
            )
        index_fields(listing)
        db.session.add(listing)
        listings.append(listing)
    db.session.flush()
    bookings = []
    day = workday(3)
    for n, listing in enumerate(listings * 2):
        buyer, firm = buyers[n % 2], firms[n % 2]
        start = at(day, 8, 30) if n < 3 else at(day, 13, 30)
        bookings.append(
            booking_services.create_booking(
                buyer,
                firm,
                listing,
                booking_services.BookingRequest(
                    starts_dt=start, ends_dt=start + timedelta(minutes=60 + 60 * (n % 2))
                ),
            )
        )
    booking_services.cancel(buyers[1], bookings[5], "计划变更")  # within 48 h: a fee
    invoices = []
    for booking in bookings:
        manager = managers[0] if booking.listing.lab_id == labs[0].id else managers[1]
        invoice = billing.invoice_from_booking(manager, booking)
        billing.issue(manager, invoice)
        invoices.append(invoice)
    billing.void(managers[0], invoices[1], "金额有误")
    payments.record_bank_transfer(managers[0], invoices[0], 30000, clock.today(), "转账一")
    payments.record_bank_transfer(
        managers[1], invoices[2], invoices[2].gross_total, clock.today(), "转账二"
    )
    gateway.handle_event(
        {
            "id": "evt_backup_1",
            "type": "payment_intent.succeeded",
            "data": {
                "object": {
                    "id": "pi_backup_1",
                    "amount_received": invoices[3].gross_total,
                    "payment_method_types": ["wechat_pay"],
                    "metadata": {"invoice_id": str(invoices[3].id)},
                }
            },
        }
    )
    yesterday = clock.today() - timedelta(days=1)
    for n, listing in enumerate(listings):
        manager = managers[0] if listing.lab_id == labs[0].id else managers[1]
        usage.log_usage(
            manager,
            listing.units[0],
            user_org=firms[n % 2] if n else None,
            started=at(yesterday, 9),
            ended=at(yesterday, 11),
            prep_minutes=10 + n,
            run_minutes=90,
            post_minutes=5 * n,
        )
    db.session.commit()


def test_pg_dump_restored_into_an_empty_database_gives_the_same_figures(postgres, tmp_path):
    from flask_migrate import upgrade

    from sharehub.admin.consistency import figures, violations
    from sharehub.billing import services as billing
    from sharehub.billing.models import Invoice
    from sharehub.extensions import db

    if postgres is None:
        pytest.skip("needs the throwaway PostgreSQL cluster (its pg_dump)")
    source_url = postgres.create_database("sharehub_backup_source")
    target_url = postgres.create_database("sharehub_backup_target")
    source = app_for(source_url, tmp_path)
    with source.app_context():
        upgrade()
        populate()
        before = figures()
        assert not any(violations().values())
        db.session.remove()
        db.engine.dispose()
    assert before["rows.booking"] == 6 and before["rows.payment"] == 3
    assert before["invoices.void"][0] == 1 and before["rows.usage_record"] == 3
    # The sharing statistics are among the figures, with the usage in them.
    yearly = [v for k, v in before.items() if k.startswith("metrics.")]
    assert yearly and any(m["effective_hours"] for labs in yearly for m in labs.values())

    dump = tmp_path / "sharehub.dump"
    common = ["-h", "127.0.0.1", "-p", str(postgres.port), "-U", "postgres"]
    subprocess.run(
        [
            str(postgres.bindir / "pg_dump"),
            *common,
            "-Fc",
            "-f",
            str(dump),
            "sharehub_backup_source",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            str(postgres.bindir / "pg_restore"),
            *common,
            "--no-owner",
            "--exit-on-error",
            "-d",
            "sharehub_backup_target",
            str(dump),
        ],
        check=True,
        capture_output=True,
    )

    target = app_for(target_url, tmp_path)
    with target.app_context():
        assert figures() == before
        assert not any(violations().values())
        # The restored database is one the app goes on with: the counter row and the id
        # sequences came back, so a correction takes the next number and a new id.
        from sharehub.accounts.models import User

        manager = db.session.scalar(sa.select(User).where(User.email == "a@backup.cn"))
        lab_id = manager.memberships[0].organisation_id
        numbers = sa.select(sa.func.max(Invoice.sequence)).where(Invoice.lab_id == lab_id)
        last_number, last_id = (
            db.session.scalar(numbers),
            db.session.scalar(sa.select(sa.func.max(Invoice.id))),
        )
        open_invoice = db.session.scalar(
            sa.select(Invoice)
            .where(
                Invoice.lab_id == lab_id,
                Invoice.status == "issued",
                Invoice.is_credit_note.is_(False),
                ~Invoice.payments.any(),
            )
            .order_by(Invoice.id.desc())
        )
        credit = billing.void(manager, open_invoice, "恢复后更正")
        assert (credit.sequence, credit.id) == (last_number + 1, last_id + 1)
        db.session.commit()
        assert not any(violations().values())
        db.session.remove()
        db.engine.dispose()


def test_the_backup_scripts_dump_restore_and_check(postgres, tmp_path):
    """deploy/backup/sharehub-backup.sh then sharehub-restore-check.sh, as the nightly timer
    runs them: the restored scratch database is consistent and has the source's figures."""
    import json
    import os
    import sys

    from flask_migrate import upgrade

    from sharehub.admin.consistency import figures
    from sharehub.extensions import db
    from tests.support.live import ROOT

    if postgres is None:
        pytest.skip("needs the throwaway PostgreSQL cluster (its pg_dump)")
    source = app_for(postgres.create_database("sharehub_backup_nightly"), tmp_path)
    with source.app_context():
        upgrade()
        populate()
        before = json.loads(json.dumps(figures()))  # as the command prints them
        db.session.remove()
        db.engine.dispose()
    storage = tmp_path / "storage"
    (storage / "ab").mkdir(parents=True)
    (storage / "ab" / "photo.webp").write_bytes(b"RIFF-photo")
    env = {
        **os.environ,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres.port),
        "PGUSER": "postgres",
        "PGDATABASE": "sharehub_backup_nightly",
        "PG_BINDIR": str(postgres.bindir),
        "BACKUP_DIR": str(tmp_path / "backups"),
        "STORAGE_DIR": str(storage),
        "APP_DIR": str(ROOT),
        "APP_PYTHON": sys.executable,
        "SCRATCH_DB": "sharehub_backup_scratch",
    }
    scripts = ROOT / "deploy" / "backup"
    backup = subprocess.run(
        [str(scripts / "sharehub-backup.sh")], env=env, capture_output=True, text=True
    )
    assert backup.returncode == 0, backup.stderr
    dumps = sorted((tmp_path / "backups").glob("sharehub-*.dump"))
    assert len(dumps) == 1 and not list((tmp_path / "backups").glob("*.partial"))
    assert (tmp_path / "backups" / "storage" / "ab" / "photo.webp").read_bytes() == b"RIFF-photo"
    check = subprocess.run(
        [str(scripts / "sharehub-restore-check.sh")], env=env, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "Consistent." in check.stdout
    printed = json.loads(check.stdout[check.stdout.index("{") :])
    assert printed == before
    # The scratch database is dropped again.
    listed = subprocess.run(
        [
            str(postgres.bindir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(postgres.port),
            "-U",
            "postgres",
            "-Atc",
            "SELECT datname FROM pg_database",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "sharehub_backup_scratch" not in listed and "sharehub_backup_nightly" in listed
