"""invoices: one live invoice per booking, one voucher use in force per invoice

Revision ID: 0010_invoices
Revises: 0009_assessment
Create Date: 2026-12-02 01:00:00

Both are partial unique indexes (PostgreSQL and SQLite support them). A database in which
the old races already left duplicates cannot take them: the upgrade stops and names the
bookings and invoices concerned, so the lab voids the extra invoices (credit notes) and
the extra voucher uses first; money documents are never changed by a migration.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010_invoices"
down_revision = "0009_assessment"
branch_labels = None
depends_on = None

LIVE_BOOKING_INVOICE = "booking_id IS NOT NULL AND NOT is_credit_note AND status <> 'void'"
APPLIED = "status = 'applied'"


def _refuse_duplicates(sql: str, what: str) -> None:
    rows = op.get_bind().execute(sa.text(sql)).all()
    if rows:
        ids = ", ".join(str(row[0]) for row in rows[:50])
        raise RuntimeError(
            f"{len(rows)} {what} ({ids}). Void the extra ones, or delete extra drafts (flask sharehub "
            "check-consistency lists them), then run the upgrade again."
        )


def upgrade():
    _refuse_duplicates(
        "SELECT booking_id FROM invoice WHERE " + LIVE_BOOKING_INVOICE
        + " GROUP BY booking_id HAVING count(*) > 1 ORDER BY booking_id",
        "bookings have more than one live invoice",
    )
    _refuse_duplicates(
        "SELECT invoice_id FROM voucher_use WHERE " + APPLIED
        + " GROUP BY invoice_id HAVING count(*) > 1 ORDER BY invoice_id",
        "invoices have more than one voucher use in force",
    )
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.create_index(
            "uq_invoice_live_booking",
            ["booking_id"],
            unique=True,
            postgresql_where=sa.text(LIVE_BOOKING_INVOICE),
            sqlite_where=sa.text(LIVE_BOOKING_INVOICE),
        )
    with op.batch_alter_table("voucher_use", schema=None) as batch_op:
        batch_op.create_index(
            "uq_voucher_use_applied_invoice",
            ["invoice_id"],
            unique=True,
            postgresql_where=sa.text(APPLIED),
            sqlite_where=sa.text(APPLIED),
        )


def downgrade():
    with op.batch_alter_table("voucher_use", schema=None) as batch_op:
        batch_op.drop_index("uq_voucher_use_applied_invoice")
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_index("uq_invoice_live_booking")
