"""sign-in throttles: failed sign-ins counted per account and per client address

Revision ID: 9c3d51f0e2b7
Revises: 5b1e0c7a9d42
Create Date: 2026-12-07 11:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import charter.db.base

revision: str = "9c3d51f0e2b7"
down_revision: str | None = "5b1e0c7a9d42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "sign_in_throttles",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", charter.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("forget_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_throttles")),
        sa.UniqueConstraint("key", name=op.f("uq_sign_in_throttles_key")),
    )
    with op.batch_alter_table("sign_in_throttles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sign_in_throttles_forget_at"), ["forget_at"], unique=False
        )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("sign_in_throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_throttles_forget_at"))
    op.drop_table("sign_in_throttles")
