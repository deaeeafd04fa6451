"""partner directory listing: a firm's choice to be listed, its slug and blurb

Revision ID: 7d4e2b9a1c60
Revises: 7d1e9b3c5a60
Create Date: 2026-12-07 17:00:00.000000

``partners.listed`` is off for every existing firm: no firm appears in the public directory
until it chooses to. ``slug`` (unique, null until listed or set) names its profile page.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d4e2b9a1c60"
down_revision: str | None = "7d1e9b3c5a60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("listed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("slug", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("blurb", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_partners_listed"), ["listed"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_partners_slug"), ["slug"])


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("partners", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_partners_slug"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_partners_listed"))
        batch_op.drop_column("blurb")
        batch_op.drop_column("slug")
        batch_op.drop_column("listed")
