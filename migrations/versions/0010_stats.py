"""the lab's host organisation; the person served on usage logged without a booking

Revision ID: 0010_stats
Revises: 0009_assessment
Create Date: 2026-12-02 01:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0010_stats"
down_revision = "0010_apiops"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host_org_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_organisation_host_org_id"), ["host_org_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_organisation_host_org_id_organisation"),
            "organisation",
            ["host_org_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("usage_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_usage_record_user_id"), ["user_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_usage_record_user_id_user"),
            "user",
            ["user_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("usage_record", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_usage_record_user_id_user"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_usage_record_user_id"))
        batch_op.drop_column("user_id")
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_organisation_host_org_id_organisation"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_organisation_host_org_id"))
        batch_op.drop_column("host_org_id")
