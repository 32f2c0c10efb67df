"""fapiao columns of testing services and quote lines (税收分类编码, 规格型号, 单位)

Revision ID: 0013_fapiao_lines
Revises: 0013_competence_gate
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_fapiao_lines"
down_revision = "0013_competence_gate"
branch_labels = None
depends_on = None

COLUMNS = {
    "testing_service": (("tax_code", 19), ("line_spec", 200), ("line_unit", 20)),
    "quote_line": (("tax_code", 19), ("spec", 200), ("unit", 20)),
}


def upgrade():
    for table, columns in COLUMNS.items():
        for name, length in columns:
            op.add_column(
                table,
                sa.Column(name, sa.String(length=length), server_default="", nullable=False),
            )


def downgrade():
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for name, _length in reversed(columns):
                batch.drop_column(name)
