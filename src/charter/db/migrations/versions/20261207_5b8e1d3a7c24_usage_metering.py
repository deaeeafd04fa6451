"""usage metering: records counted once per license and record id, monthly rollups, caps passed

Revision ID: 5b8e1d3a7c24
Revises: a1e7c3d9f204
Create Date: 2026-12-07 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import charter.db.base

revision: str = "5b8e1d3a7c24"
down_revision: str | None = "a1e7c3d9f204"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "usage_caps_passed",
        sa.Column("license_id", sa.String(length=40), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("period", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cap_limit", sa.BigInteger(), nullable=False),
        sa.Column("overage", sa.String(length=16), nullable=False),
        sa.Column("passed_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["license_id"],
            ["licenses.id"],
            name=op.f("fk_usage_caps_passed_license_id_licenses"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "license_id", "metric", "period", name=op.f("pk_usage_caps_passed")
        ),
    )
    op.create_table(
        "usage_records",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("license_id", sa.String(length=40), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("received_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["license_id"],
            ["licenses.id"],
            name=op.f("fk_usage_records_license_id_licenses"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_records")),
        sa.UniqueConstraint("license_id", "record_id", name="uq_usage_records_license_record"),
    )
    op.create_table(
        "usage_rollups",
        sa.Column("license_id", sa.String(length=40), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("period", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["license_id"],
            ["licenses.id"],
            name=op.f("fk_usage_rollups_license_id_licenses"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("license_id", "metric", "period", name=op.f("pk_usage_rollups")),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("usage_rollups")
    op.drop_table("usage_records")
    op.drop_table("usage_caps_passed")
