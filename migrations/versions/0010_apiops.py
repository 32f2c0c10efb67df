"""apiops: stored answers of API requests sent with an Idempotency-Key; invoices of
dataset access grants

Revision ID: 0010_apiops
Revises: 0009_assessment
Create Date: 2026-12-02 01:00:00

"""

import sqlalchemy as sa
from alembic import op

import sharehub.core.db

# revision identifiers, used by Alembic.
revision = "0010_apiops"
down_revision = "0010_invoices"
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
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("access_grant_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_invoice_access_grant_id"), ["access_grant_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_invoice_access_grant_id_access_grant"),
            "access_grant",
            ["access_grant_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_invoice_access_grant_id_access_grant"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_invoice_access_grant_id"))
        batch_op.drop_column("access_grant_id")
    op.drop_index("ix_idempotency_key_created_dt", table_name="idempotency_key")
    op.drop_table("idempotency_key")
