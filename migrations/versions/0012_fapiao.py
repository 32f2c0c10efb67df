"""fapiao: invoice profiles, fapiao requests and issued fapiao; tax classification code,
specification and unit on listings and statement lines

Revision ID: 0012_fapiao
Revises: 0012_capture
Create Date: 2026-12-02 07:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0012_fapiao"
down_revision = "0012_capture"
branch_labels = None
depends_on = None

OPEN_REQUEST = "status IN ('requested', 'exported', 'issued')"


def upgrade():
    # Plain ADD/DROP COLUMN (both databases have them), no batch copy: a copied listing
    # table would lose its search triggers on SQLite.
    op.add_column(
        "listing", sa.Column("tax_code", sa.String(length=19), server_default="", nullable=False)
    )
    for name, length in (("tax_code", 19), ("spec", 200), ("unit", 20)):
        op.add_column(
            "invoice_line",
            sa.Column(name, sa.String(length=length), server_default="", nullable=False),
        )

    op.create_table(
        "fapiao_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("normal", "special", name="fapiaokind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("tax_id", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("bank_name", sa.String(length=200), nullable=False),
        sa.Column("bank_account", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_dt", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_fapiao_profile_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fapiao_profile")),
    )
    with op.batch_alter_table("fapiao_profile", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fapiao_profile_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            "uq_fapiao_profile_default",
            ["organisation_id"],
            unique=True,
            postgresql_where=sa.text("is_default"),
            sqlite_where=sa.text("is_default"),
        )

    op.create_table(
        "fapiao_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("customer_org_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=True),
        sa.Column("buyer", sa.JSON(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "requested",
                "exported",
                "issued",
                "reversed",
                "cancelled",
                name="requeststatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("created_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exported_dt", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_org_id"],
            ["organisation.id"],
            name=op.f("fk_fapiao_request_customer_org_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoice.id"],
            name=op.f("fk_fapiao_request_invoice_id_invoice"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["lab_id"],
            ["organisation.id"],
            name=op.f("fk_fapiao_request_lab_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["fapiao_profile.id"],
            name=op.f("fk_fapiao_request_profile_id_fapiao_profile"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["user.id"],
            name=op.f("fk_fapiao_request_requested_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fapiao_request")),
    )
    with op.batch_alter_table("fapiao_request", schema=None) as batch_op:
        for column in ("customer_org_id", "invoice_id", "lab_id", "status"):
            batch_op.create_index(batch_op.f(f"ix_fapiao_request_{column}"), [column], unique=False)
        batch_op.create_index(
            "uq_fapiao_request_open",
            ["invoice_id"],
            unique=True,
            postgresql_where=sa.text(OPEN_REQUEST),
            sqlite_where=sa.text(OPEN_REQUEST),
        )

    op.create_table(
        "fapiao",
        sa.Column("original_name", sa.String(length=200), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("issued_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("is_red", sa.Boolean(), nullable=False),
        sa.Column("original_id", sa.Integer(), nullable=True),
        sa.Column("red_confirmation_no", sa.String(length=40), nullable=True),
        sa.Column(
            "red_reason",
            sa.Enum(
                "error",
                "return",
                "terminated",
                "allowance",
                name="redreason",
                native_enum=False,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_dt", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_fapiao_nonzero_amount")),
        sa.CheckConstraint(
            "(is_red AND original_id IS NOT NULL AND red_confirmation_no IS NOT NULL)"
            " OR (NOT is_red AND original_id IS NULL)",
            name=op.f("ck_fapiao_red_links_original"),
        ),
        sa.ForeignKeyConstraint(
            ["original_id"],
            ["fapiao.id"],
            name=op.f("fk_fapiao_original_id_fapiao"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["fapiao_request.id"],
            name=op.f("fk_fapiao_request_id_fapiao_request"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["user.id"],
            name=op.f("fk_fapiao_uploaded_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fapiao")),
        sa.UniqueConstraint("number", name=op.f("uq_fapiao_number")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_fapiao_stored_name")),
    )
    with op.batch_alter_table("fapiao", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fapiao_original_id"), ["original_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fapiao_request_id"), ["request_id"], unique=False)


def downgrade():
    op.drop_table("fapiao")
    op.drop_table("fapiao_request")
    op.drop_table("fapiao_profile")
    for name in ("unit", "spec", "tax_code"):
        op.drop_column("invoice_line", name)
    op.drop_column("listing", "tax_code")
