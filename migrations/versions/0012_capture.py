"""usage captured at the instrument: kiosks and devices with hashed tokens, device events,
usage records with their source, corrections as new records and each lab's hash chain

Revision ID: 0012_capture
Revises: 0012_competence
Create Date: 2026-12-02 07:20:00

Existing records get their lab here; `flask sharehub seal-usage` (run by `flask db upgrade`
users once, and by `check-consistency` reports until then) puts them into the chain, since
the hash is computed by the application's code.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_capture"
down_revision = "0012_competence"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "capture_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_dt", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_dt", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["unit.id"],
            name=op.f("fk_capture_device_unit_id_unit"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_capture_device_created_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capture_device")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_capture_device_token_hash")),
    )
    op.create_index(op.f("ix_capture_device_unit_id"), "capture_device", ["unit_id"])
    op.create_table(
        "usage_chain_head",
        sa.Column("lab_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_dt", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lab_id"],
            ["organisation.id"],
            name=op.f("fk_usage_chain_head_lab_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("lab_id", name=op.f("pk_usage_chain_head")),
    )
    with op.batch_alter_table("usage_record", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), nullable=False, server_default="lab_staff")
        )
        batch_op.add_column(sa.Column("device_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("corrects_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("correction_reason", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("lab_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("record_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_usage_record_source"), ["source"])
        batch_op.create_index(batch_op.f("ix_usage_record_device_id"), ["device_id"])
        batch_op.create_index(batch_op.f("ix_usage_record_lab_id"), ["lab_id"])
        batch_op.create_unique_constraint(
            batch_op.f("uq_usage_record_corrects_id"), ["corrects_id"]
        )
        batch_op.create_unique_constraint("uq_usage_record_chain_position", ["lab_id", "chain_seq"])
        batch_op.create_foreign_key(
            batch_op.f("fk_usage_record_device_id_capture_device"),
            "capture_device",
            ["device_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_usage_record_corrects_id_usage_record"),
            "usage_record",
            ["corrects_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_usage_record_lab_id_organisation"),
            "organisation",
            ["lab_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    op.execute(
        "UPDATE usage_record SET lab_id = (SELECT listing.lab_id FROM unit "
        "JOIN listing ON listing.id = unit.listing_id WHERE unit.id = usage_record.unit_id)"
    )
    op.create_table(
        "device_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("session", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("at_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("usage_record_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["capture_device.id"],
            name=op.f("fk_device_event_device_id_capture_device"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["usage_record_id"],
            ["usage_record.id"],
            name=op.f("fk_device_event_usage_record_id_usage_record"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_event")),
        sa.UniqueConstraint("device_id", "event_id", name=op.f("uq_device_event_once")),
        sa.UniqueConstraint(
            "device_id", "session", "kind", name=op.f("uq_device_event_one_per_session")
        ),
    )
    op.create_index(op.f("ix_device_event_device_id"), "device_event", ["device_id"])


def downgrade():
    op.drop_index(op.f("ix_device_event_device_id"), table_name="device_event")
    op.drop_table("device_event")
    with op.batch_alter_table("usage_record", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_usage_record_lab_id_organisation"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_usage_record_corrects_id_usage_record"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_usage_record_device_id_capture_device"), type_="foreignkey"
        )
        batch_op.drop_constraint("uq_usage_record_chain_position", type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_usage_record_corrects_id"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_usage_record_lab_id"))
        batch_op.drop_index(batch_op.f("ix_usage_record_device_id"))
        batch_op.drop_index(batch_op.f("ix_usage_record_source"))
        for column in (
            "record_hash",
            "prev_hash",
            "chain_seq",
            "lab_id",
            "correction_reason",
            "corrects_id",
            "device_id",
            "source",
        ):
            batch_op.drop_column(column)
    op.drop_table("usage_chain_head")
    op.drop_index(op.f("ix_capture_device_unit_id"), table_name="capture_device")
    op.drop_table("capture_device")
