"""labs' own merchant accounts (Alipay, WeChat Pay) and online payment attempts

Revision ID: 0012_alipay
Revises: 0011_supervision
Create Date: 2026-12-02 07:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0012_alipay"
down_revision = "0011_supervision"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "merchant_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=True),
        sa.Column("hints", sa.JSON(), nullable=False),
        sa.Column("checked_dt", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_ok", sa.Boolean(), nullable=True),
        sa.Column("updated_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lab_id"],
            ["organisation.id"],
            name="fk_merchant_account_lab_id_organisation",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user.id"],
            name="fk_merchant_account_updated_by_id_user",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_merchant_account"),
        sa.UniqueConstraint("lab_id", "kind", name="uq_merchant_account_lab_kind"),
    )
    op.create_index("ix_merchant_account_lab_id", "merchant_account", ["lab_id"])
    op.create_table(
        "online_payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("out_trade_no", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("code_url", sa.Text(), nullable=False),
        sa.Column("expires_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trade_no", sa.String(length=64), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queried_dt", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_dt", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_fen > 0", name="ck_online_payment_positive_online_amount"),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
            name="fk_online_payment_invoice_id_invoice",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["lab_id"],
            ["organisation.id"],
            name="fk_online_payment_lab_id_organisation",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["merchant_account.id"],
            name="fk_online_payment_account_id_merchant_account",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payment.id"],
            name="fk_online_payment_payment_id_payment",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name="fk_online_payment_created_by_id_user",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_online_payment"),
        sa.UniqueConstraint("out_trade_no", name="uq_online_payment_out_trade_no"),
        sa.UniqueConstraint("payment_id", name="uq_online_payment_payment_id"),
    )
    op.create_index("ix_online_payment_invoice_id", "online_payment", ["invoice_id"])
    op.create_index("ix_online_payment_lab_id", "online_payment", ["lab_id"])
    op.create_index("ix_online_payment_account_id", "online_payment", ["account_id"])
    op.create_index("ix_online_payment_status", "online_payment", ["status"])


def downgrade():
    op.drop_table("online_payment")
    op.drop_table("merchant_account")
