"""levels and prerequisites of a competence requirement; revoked authorisations

Revision ID: 0013_competence_gate
Revises: 0013_testing_money
"""

import sqlalchemy as sa
from alembic import op

import sharehub.core.db

revision = "0013_competence_gate"
down_revision = "0013_testing_money"
branch_labels = None
depends_on = None

ALL_LEVELS = "assisted,independent,trainer"


def upgrade():
    with op.batch_alter_table("competence_requirement", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("levels", sa.String(length=64), server_default=ALL_LEVELS, nullable=False)
        )
    op.create_table(
        "competence_requirement_prerequisite",
        sa.Column("requirement_id", sa.Integer(), nullable=False),
        sa.Column("prerequisite_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["prerequisite_id"],
            ["competence_requirement.id"],
            name=op.f(
                "fk_competence_requirement_prerequisite_prerequisite_id_competence_requirement"
            ),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requirement_id"],
            ["competence_requirement.id"],
            name=op.f(
                "fk_competence_requirement_prerequisite_requirement_id_competence_requirement"
            ),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "requirement_id",
            "prerequisite_id",
            name=op.f("pk_competence_requirement_prerequisite"),
        ),
    )
    with op.batch_alter_table("authorisation", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("revoked_dt", sharehub.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("revoked_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("revoke_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_authorisation_revoked_by_id_user"),
            "user",
            ["revoked_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("authorisation", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_authorisation_revoked_by_id_user"), type_="foreignkey"
        )
        batch_op.drop_column("revoke_reason")
        batch_op.drop_column("revoked_by_id")
        batch_op.drop_column("revoked_dt")
    op.drop_table("competence_requirement_prerequisite")
    with op.batch_alter_table("competence_requirement", schema=None) as batch_op:
        batch_op.drop_column("levels")
