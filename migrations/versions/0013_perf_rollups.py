"""daily rollup of usage records per unit, day, organisation and person (usage_day)

Revision ID: 0013_perf_rollups
Revises: 0013_perf_booking
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_perf_rollups"
down_revision = "0013_perf_booking"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "usage_day",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "unit_id", sa.Integer(), sa.ForeignKey("unit.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column(
            "user_org_id",
            sa.Integer(),
            sa.ForeignKey("organisation.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("minutes", sa.BigInteger(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("started_dt", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_dt", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_usage_day_day", "usage_day", ["day", "last_day"])
    op.create_index("ix_usage_day_unit_day", "usage_day", ["unit_id", "day"])
    # Filled from the usage already recorded (as `flask sharehub refresh-rollups` does).
    from sharehub.stats import rollups

    bind = op.get_bind()
    bounds = rollups.record_bounds(bind)
    if bounds is not None:
        rollups.rebuild(bind, *bounds)


def downgrade():
    op.drop_index("ix_usage_day_unit_day", table_name="usage_day")
    op.drop_index("ix_usage_day_day", table_name="usage_day")
    op.drop_table("usage_day")
