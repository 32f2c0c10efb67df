"""calibration certificates of units, the block-or-flag policy of listings, reminders sent

Revision ID: 0012_calibration
Revises: 0011_supervision
Create Date: 2026-12-02 07:20:00

The outage kind "calibration" needs no schema change (kinds are stored as strings).

"""
from alembic import op
import sqlalchemy as sa


revision = "0012_calibration"
down_revision = "0011_supervision"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "calibration_certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "verification", "calibration", "check",
                name="certificatekind", native_enum=False, length=16,
            ),
            nullable=False,
        ),
        sa.Column("issuing_body", sa.String(length=200), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("issued_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column(
            "result",
            sa.Enum(
                "pass", "restricted", "fail",
                name="certificateresult", native_enum=False, length=16,
            ),
            nullable=False,
        ),
        sa.Column("restrictions", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("original_name", sa.String(length=200), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "due_date >= issued_date", name=op.f("ck_calibration_certificate_due_after_issue")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["user.id"],
            name=op.f("fk_calibration_certificate_recorded_by_id_user"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"],
            name=op.f("fk_calibration_certificate_unit_id_unit"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibration_certificate")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_calibration_certificate_stored_name")),
        sa.UniqueConstraint("unit_id", "kind", "number", name="uq_certificate_number"),
    )
    with op.batch_alter_table("calibration_certificate", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calibration_certificate_unit_id"), ["unit_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_calibration_certificate_due_date"), ["due_date"], unique=False
        )
    op.create_table(
        "calibration_policy",
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("blocks_unfit", sa.Boolean(), nullable=False),
        sa.Column("blocked_since_dt", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_dt", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listing.id"],
            name=op.f("fk_calibration_policy_listing_id_listing"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("listing_id", name=op.f("pk_calibration_policy")),
    )
    op.create_table(
        "calibration_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("days_before", sa.SmallInteger(), nullable=False),
        sa.Column("sent_dt", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["calibration_certificate.id"],
            name=op.f("fk_calibration_reminder_certificate_id_calibration_certificate"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibration_reminder")),
        sa.UniqueConstraint("certificate_id", "days_before", name="uq_reminder"),
    )


def downgrade():
    op.execute("DELETE FROM outage WHERE kind = 'calibration'")
    op.drop_table("calibration_reminder")
    op.drop_table("calibration_policy")
    with op.batch_alter_table("calibration_certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calibration_certificate_due_date"))
        batch_op.drop_index(batch_op.f("ix_calibration_certificate_unit_id"))
    op.drop_table("calibration_certificate")
