"""activation subdivisions: an activation's place may be an ISO 3166-2 subdivision

Revision ID: 4f2b8c61d0a9
Revises: 8d2ce4253b31
Create Date: 2026-12-07 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4f2b8c61d0a9"
down_revision: str | None = "8d2ce4253b31"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("license_activations", schema=None) as batch_op:
        batch_op.alter_column(
            "country",
            existing_type=sa.String(length=2),
            type_=sa.String(length=6),
            existing_nullable=True,
        )


def downgrade() -> None:
    """Undo this revision."""
    # A subdivision keeps its country, the part a two-letter column can hold.
    op.execute(
        "UPDATE license_activations SET country = substr(country, 1, 2) WHERE length(country) > 2"
    )
    with op.batch_alter_table("license_activations", schema=None) as batch_op:
        batch_op.alter_column(
            "country",
            existing_type=sa.String(length=6),
            type_=sa.String(length=2),
            existing_nullable=True,
        )
