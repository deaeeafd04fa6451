"""Firm forecasts: when each firm falls below its tier if nobody renews, kept by the worker

Revision ID: f2b8c6e1a904
Revises: ea8eeb2961cd
Create Date: 2026-12-08 02:00:00.000000

The firms-at-risk report replayed every firm's expiries on each view: with 10,000 firms and a
million awards, fifteen seconds. The worker now keeps, per firm and program, the first expiry
within 91 days at which the firm would fall below its tier (counted hourly for every firm, and
dropped for the firms each award or move of a person concerns); the report replays only the
firms that may fall and those whose kept answer is missing or stale. Existing deployments start empty: the report
replays every firm until the worker has worked them out.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import charter.db.base

revision: str = "f2b8c6e1a904"
down_revision: str | None = "ea8eeb2961cd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "firm_forecasts",
        sa.Column("partner_id", sa.String(length=40), nullable=False),
        sa.Column("program", sa.String(length=64), nullable=False),
        sa.Column("falls_below_on", charter.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("scheme_version", sa.Integer(), nullable=False),
        sa.Column("counted_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_firm_forecasts_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner_id", "program", name=op.f("pk_firm_forecasts")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("firm_forecasts")
