"""cancellation policy of testing services, the cancellation terms and outcome of orders

Revision ID: 0013_testing_money
Revises: 0012_testing_work
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_testing_money"
down_revision = "0012_testing_work"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE ADD COLUMN: works on both databases without copying the tables.
    op.add_column(
        "testing_service",
        sa.Column("cancel_fee_fen", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "testing_service",
        sa.Column("cancel_fee_percent", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("testing_request", sa.Column("cancel_fee_fen", sa.BigInteger(), nullable=True))
    op.add_column(
        "testing_request",
        sa.Column("cancelled_by", sa.String(length=16), server_default="", nullable=False),
    )
    op.add_column(
        "testing_request", sa.Column("cancel_fee_charged_fen", sa.BigInteger(), nullable=True)
    )


def downgrade():
    op.drop_column("testing_request", "cancel_fee_charged_fen")
    op.drop_column("testing_request", "cancelled_by")
    op.drop_column("testing_request", "cancel_fee_fen")
    op.drop_column("testing_service", "cancel_fee_percent")
    op.drop_column("testing_service", "cancel_fee_fen")
