"""outbox events: what a change must tell, rendered by the outbox worker after the commit

Revision ID: 0013_perf_booking
Revises: 0013_groups
"""

import sqlalchemy as sa
from alembic import op

import sharehub.core.db

revision = "0013_perf_booking"
down_revision = "0013_groups"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbox_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_dt", sharehub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("done_dt", sharehub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_event")),
    )
    op.create_index(op.f("ix_outbox_event_done_dt"), "outbox_event", ["done_dt"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_outbox_event_done_dt"), table_name="outbox_event")
    op.drop_table("outbox_event")
