"""Firm headcounts: how many of each firm's people hold a live award, as the directory orders by

Revision ID: 5b2f8d1c7e43
Revises: b7e2d4f6a813
Create Date: 2026-12-08 00:00:00.000000

The directory ordered firms by counting every firm's certified people on every request: a
count over every live award. The worker now keeps each firm's count in ``firm_headcounts``
(recounted for the firms an event concerns, and all of them hourly). Existing deployments
start empty: the directory counts live until the first count is stored.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import charter.db.base

revision: str = "5b2f8d1c7e43"
down_revision: str | None = "b7e2d4f6a813"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "firm_headcounts",
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("certified_people", sa.Integer(), nullable=False),
        sa.Column("counted_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_firm_headcounts_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_firm_headcounts")),
    )
    with op.batch_alter_table("firm_headcounts", schema=None) as batch_op:
        batch_op.create_index("ix_firm_headcounts_people", ["certified_people"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("firm_headcounts", schema=None) as batch_op:
        batch_op.drop_index("ix_firm_headcounts_people")
    op.drop_table("firm_headcounts")
