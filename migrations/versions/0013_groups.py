"""groups of a buyer's organisation, their approval rules and funding accounts

Revision ID: 0013_groups
Revises: 0013_fapiao_lines
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_groups"
down_revision = "0013_fapiao_lines"
branch_labels = None
depends_on = None


def _dt(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "buyer_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("head_id", sa.Integer(), nullable=False),
        sa.Column("approval_above", sa.BigInteger(), nullable=True),
        _dt("created_dt"),
        sa.CheckConstraint(
            "approval_above IS NULL OR approval_above >= 0",
            name=op.f("ck_buyer_group_approval_above_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_buyer_group_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["head_id"], ["user.id"], name=op.f("fk_buyer_group_head_id_user"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buyer_group")),
        sa.UniqueConstraint("organisation_id", "name", name="uq_buyer_group_name"),
    )
    op.create_index(op.f("ix_buyer_group_organisation_id"), "buyer_group", ["organisation_id"])
    op.create_index(op.f("ix_buyer_group_head_id"), "buyer_group", ["head_id"])

    op.create_table(
        "buyer_group_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _dt("created_dt"),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["buyer_group.id"],
            name=op.f("fk_buyer_group_member_group_id_buyer_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_buyer_group_member_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buyer_group_member")),
        sa.UniqueConstraint("group_id", "user_id", name="uq_buyer_group_member"),
    )
    op.create_index(op.f("ix_buyer_group_member_group_id"), "buyer_group_member", ["group_id"])
    op.create_index(op.f("ix_buyer_group_member_user_id"), "buyer_group_member", ["user_id"])

    op.create_table(
        "buyer_group_approval_lab",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["buyer_group.id"],
            name=op.f("fk_buyer_group_approval_lab_group_id_buyer_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lab_id"],
            ["organisation.id"],
            name=op.f("fk_buyer_group_approval_lab_lab_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buyer_group_approval_lab")),
        sa.UniqueConstraint("group_id", "lab_id", name="uq_buyer_group_lab"),
    )
    op.create_index(
        op.f("ix_buyer_group_approval_lab_group_id"), "buyer_group_approval_lab", ["group_id"]
    )

    op.create_table(
        "funding_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("budget", sa.BigInteger(), nullable=True),
        _dt("created_dt"),
        sa.CheckConstraint(
            "budget IS NULL OR budget >= 0", name=op.f("ck_funding_account_budget_non_negative")
        ),
        sa.CheckConstraint("valid_from <= valid_to", name=op.f("ck_funding_account_valid_range")),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["buyer_group.id"],
            name=op.f("fk_funding_account_group_id_buyer_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_account")),
        sa.UniqueConstraint("group_id", "code", name="uq_funding_account_code"),
    )
    op.create_index(op.f("ix_funding_account_group_id"), "funding_account", ["group_id"])

    op.create_table(
        "funding_account_charger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["funding_account.id"],
            name=op.f("fk_funding_account_charger_account_id_funding_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_funding_account_charger_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_account_charger")),
        sa.UniqueConstraint("account_id", "user_id", name="uq_funding_account_charger"),
    )
    op.create_index(
        op.f("ix_funding_account_charger_account_id"), "funding_account_charger", ["account_id"]
    )
    op.create_index(
        op.f("ix_funding_account_charger_user_id"), "funding_account_charger", ["user_id"]
    )

    # Plain columns on booking (no foreign keys: on SQLite that would copy the table and
    # drop its overlap triggers) and on the statement's lines.
    op.add_column("booking", sa.Column("funding_account_id", sa.Integer(), nullable=True))
    op.add_column("booking", sa.Column("head_approval", sa.String(length=16), nullable=True))
    op.add_column("booking", _dt("head_decided_dt", nullable=True))
    op.add_column("booking", sa.Column("head_decided_by_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_booking_funding_account_id"), "booking", ["funding_account_id"])
    op.add_column("invoice_line", sa.Column("funding_account_id", sa.Integer(), nullable=True))
    op.add_column(
        "invoice_line",
        sa.Column("funding_label", sa.String(length=300), server_default="", nullable=False),
    )


def downgrade():
    op.drop_column("invoice_line", "funding_label")
    op.drop_column("invoice_line", "funding_account_id")
    op.drop_index(op.f("ix_booking_funding_account_id"), table_name="booking")
    for column in ("head_decided_by_id", "head_decided_dt", "head_approval"):
        op.drop_column("booking", column)
    op.drop_column("booking", "funding_account_id")
    for table in (
        "funding_account_charger",
        "funding_account",
        "buyer_group_approval_lab",
        "buyer_group_member",
        "buyer_group",
    ):
        op.drop_table(table)
