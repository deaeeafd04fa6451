"""license activations: deployments holding a license's seats; licenses get a seat model

Revision ID: 8d2ce4253b31
Revises: 5b8e1f3a9d27
Create Date: 2026-12-07 13:41:44.215375
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import charter.db.base

revision: str = "8d2ce4253b31"
down_revision: str | None = "5b8e1f3a9d27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "license_activations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("license_id", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("customer_name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("activated_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_heartbeat_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deactivated_at", charter.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.Text(), nullable=True),
        sa.Column("created_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["license_id"],
            ["licenses.id"],
            name=op.f("fk_license_activations_license_id_licenses"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_license_activations")),
    )
    with op.batch_alter_table("license_activations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_license_activations_license_id"), ["license_id"], unique=False
        )
        batch_op.create_index(
            "ix_license_activations_reaping", ["state", "kind", "last_heartbeat_at"], unique=False
        )
        batch_op.create_index(
            "uq_license_activations_active_fingerprint",
            ["license_id", "fingerprint"],
            unique=True,
            sqlite_where=sa.text("state = 'active'"),
            postgresql_where=sa.text("state = 'active'"),
        )

    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "seat_model", sa.String(length=16), server_default="node_locked", nullable=False
            )
        )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.drop_column("seat_model")

    with op.batch_alter_table("license_activations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_license_activations_active_fingerprint",
            sqlite_where=sa.text("state = 'active'"),
            postgresql_where=sa.text("state = 'active'"),
        )
        batch_op.drop_index("ix_license_activations_reaping")
        batch_op.drop_index(batch_op.f("ix_license_activations_license_id"))

    op.drop_table("license_activations")
