"""apiops: stored answers of API requests sent with an Idempotency-Key

Revision ID: 0010_apiops
Revises: 0009_assessment
Create Date: 2026-12-02 01:00:00

"""

import sqlalchemy as sa
from alembic import op

import sharehub.core.db

# revision identifiers, used by Alembic.
revision = "0010_apiops"
down_revision = "0009_assessment"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "idempotency_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("created_dt", sharehub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_idempotency_key_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_key")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_idempotency_key_user_id")),
    )
    op.create_index("ix_idempotency_key_created_dt", "idempotency_key", ["created_dt"])


def downgrade():
    op.drop_index("ix_idempotency_key_created_dt", table_name="idempotency_key")
    op.drop_table("idempotency_key")
