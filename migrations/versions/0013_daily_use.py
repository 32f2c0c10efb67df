"""the account holder (户名) of the bank details where customers pay an organisation

Revision ID: 0013_daily_use
Revises: 0013_perf_rollups
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_daily_use"
down_revision = "0013_perf_rollups"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "organisation",
        sa.Column("bank_holder", sa.String(length=200), server_default="", nullable=False),
    )


def downgrade():
    with op.batch_alter_table("organisation") as batch:
        batch.drop_column("bank_holder")
