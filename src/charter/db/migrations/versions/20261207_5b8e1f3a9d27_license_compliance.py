"""license compliance: grace and lapse when a firm falls short, wind-down after termination

Revision ID: 5b8e1f3a9d27
Revises: 39ef5fc0b1f8
Create Date: 2026-12-07 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import charter.db.base

revision: str = "5b8e1f3a9d27"
down_revision: str | None = "39ef5fc0b1f8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    # Every license so far is in compliance until its firm is next judged.
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("compliance", sa.String(length=16), server_default="ok", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "compliance_missing",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                server_default=sa.text("'[]'"),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("grace_until", charter.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "activations_closed_at", charter.db.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("wind_down_until", charter.db.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.drop_column("wind_down_until")
        batch_op.drop_column("activations_closed_at")
        batch_op.drop_column("grace_until")
        batch_op.drop_column("compliance_missing")
        batch_op.drop_column("compliance")
