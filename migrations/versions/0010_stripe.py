"""gateway events remember the payment they concern

Revision ID: 0010_stripe
Revises: 0009_assessment
Create Date: 2026-12-02 00:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0010_stripe"
down_revision = "0010_stats"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("gateway_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_ref", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column(
                "awaiting_payment", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.create_index(
            batch_op.f("ix_gateway_event_payment_ref"), ["payment_ref"], unique=False
        )


def downgrade():
    with op.batch_alter_table("gateway_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_event_payment_ref"))
        batch_op.drop_column("awaiting_payment")
        batch_op.drop_column("payment_ref")
