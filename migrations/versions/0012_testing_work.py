"""test runs of testing orders on units, statements of orders, bookings billed elsewhere

Revision ID: 0012_testing_work
Revises: 0012_testing_reports
"""

import sqlalchemy as sa
from alembic import op

import sharehub.core.db

revision = "0012_testing_work"
down_revision = "0012_testing_reports"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE (no batch copy): a copy of booking would drop its overlap triggers.
    op.add_column(
        "booking",
        sa.Column("billed_elsewhere", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("invoice", sa.Column("field", sa.String(length=32), nullable=True))
    op.create_table(
        "test_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_dt", sharehub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["booking.id"],
            name=op.f("fk_test_run_booking_id_booking"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_test_run_created_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["testing_request.id"],
            name=op.f("fk_test_run_order_id_testing_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_run")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_test_run_booking_id")),
    )
    with op.batch_alter_table("test_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_test_run_order_id"), ["order_id"], unique=False)
    op.create_table(
        "order_statement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("created_dt", sharehub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
            name=op.f("fk_order_statement_invoice_id_invoice"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["testing_request.id"],
            name=op.f("fk_order_statement_order_id_testing_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_statement")),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_order_statement_invoice_id")),
    )
    with op.batch_alter_table("order_statement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_statement_order_id"), ["order_id"], unique=False)


def downgrade():
    op.drop_table("order_statement")
    op.drop_table("test_run")
    op.drop_column("invoice", "field")
    op.drop_column("booking", "billed_elsewhere")
