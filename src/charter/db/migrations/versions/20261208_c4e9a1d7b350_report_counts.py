"""Report counts: monthly certified headcounts kept by the worker; award indexes for counting

Revision ID: c4e9a1d7b350
Revises: 5b2f8d1c7e43
Create Date: 2026-12-08 01:30:00.000000

With a million awards, the certified-headcount report took most of a minute (every award
joined with every month) and the dashboard, renewal and expiry figures read every award. The
worker now counts each month's headcount once at its end (and the month under way hourly) into
``headcount_months`` and ``headcount_breakdowns``; counts by status and certification read the
new ``ix_awards_status_certification`` (replacing the index on status alone), live awards by
end date a partial index, and renewals a partial index of renewed awards. Existing deployments
start with no counted months: the report counts live until the worker has counted them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import charter.db.base

revision: str = "c4e9a1d7b350"
down_revision: str | None = "5b2f8d1c7e43"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("status IN ('active', 'suspended')")
RENEWED = sa.text("renewal_count > 0")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "headcount_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_headcount_months")),
    )
    op.create_table(
        "headcount_breakdowns",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("tier", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("track", sa.String(length=64), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["month"],
            ["headcount_months.month"],
            name=op.f("fk_headcount_breakdowns_month_headcount_months"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "month", "tier", "region", "track", name=op.f("pk_headcount_breakdowns")
        ),
    )
    with op.batch_alter_table("awards", schema=None) as batch_op:
        batch_op.drop_index("ix_awards_status")
        batch_op.create_index(
            "ix_awards_status_certification", ["status", "certification_id"], unique=False
        )
        batch_op.create_index(
            "ix_awards_live_until",
            ["valid_until", "status", "certification_id"],
            unique=False,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        )
        batch_op.create_index(
            "ix_awards_renewed",
            ["certification_id", "renewal_count"],
            unique=False,
            sqlite_where=RENEWED,
            postgresql_where=RENEWED,
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("awards", schema=None) as batch_op:
        batch_op.drop_index("ix_awards_renewed")
        batch_op.drop_index("ix_awards_live_until")
        batch_op.drop_index("ix_awards_status_certification")
        batch_op.create_index("ix_awards_status", ["status"], unique=False)
    op.drop_table("headcount_breakdowns")
    op.drop_table("headcount_months")
