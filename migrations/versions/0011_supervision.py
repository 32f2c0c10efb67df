"""supervision powers follow role and region: inspectors, spot checks remember their region

Revision ID: 0011_supervision
Revises: 0010_stripe
Create Date: 2026-12-02 01:45:00

The new membership role "inspector" needs no schema change (roles are stored as strings).

"""
from alembic import op
import sqlalchemy as sa


revision = "0011_supervision"
down_revision = "0010_stripe"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("spot_check", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_spot_check_region_id"), ["region_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_spot_check_region_id_region"),
            "region",
            ["region_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade():
    op.execute("UPDATE membership SET role = 'member' WHERE role = 'inspector'")
    op.execute("UPDATE invitation SET role = 'member' WHERE role = 'inspector'")
    with op.batch_alter_table("spot_check", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_spot_check_region_id_region"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_spot_check_region_id"))
        batch_op.drop_column("region_id")
