"""Invoice numbers stay gapless and unique when many invoices are issued at once."""

import threading

import sqlalchemy as sa

from sharehub.billing import services
from sharehub.billing.models import Invoice
from tests.support.accounts import make_credit_code
from tests.support.backend import BACKEND


def test_concurrent_issues_get_gapless_unique_numbers(postgres, tmp_path):
    """Twenty sessions issue invoices for one lab at the same moment (row lock on
    PostgreSQL, serialized writes on SQLite)."""
    from flask_migrate import upgrade

    from config import TestConfig
    from sharehub import create_app
    from sharehub.accounts.models import Organisation, OrgKind
    from sharehub.billing.models import InvoiceLine
    from sharehub.extensions import db

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = (
            postgres.create_database("sharehub_invoices")
            if BACKEND == "postgres" and postgres is not None
            else f"sqlite:///{tmp_path / 'invoices.db'}"
        )

    app = create_app(Config)
    with app.app_context():
        upgrade()
        lab = Organisation(kind=OrgKind.LAB, name="实验室", credit_code=make_credit_code(770001))
        firm = Organisation(
            kind=OrgKind.ENTERPRISE, name="企业", credit_code=make_credit_code(770002)
        )
        db.session.add_all([lab, firm])
        db.session.commit()
        lab_id, firm_id = lab.id, firm.id

    class Manager:  # the acting user: allowed to manage the lab
        id = None
        is_authenticated = True

        @staticmethod
        def can_manage(org):
            return True

    barrier = threading.Barrier(20)
    errors = []

    def issue_one():
        barrier.wait(timeout=30)
        with app.app_context():
            try:
                invoice = Invoice(lab_id=lab_id, customer_org_id=firm_id)
                invoice.lines.append(
                    InvoiceLine(description="测试", unit_price=100, net=100, vat_rate_bp=600, vat=6)
                )
                invoice.net_total, invoice.vat_total, invoice.gross_total = 100, 6, 106
                db.session.add(invoice)
                db.session.flush()
                services.issue(Manager, invoice)
                db.session.commit()
            except Exception as exc:  # collected and reported below
                errors.append(repr(exc))
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=issue_one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with app.app_context():
        sequences = sorted(db.session.scalars(sa.select(Invoice.sequence)))
        db.session.remove()
        db.engine.dispose()
    assert sequences == list(range(1, 21))
