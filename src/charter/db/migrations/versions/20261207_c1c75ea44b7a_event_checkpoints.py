"""event checkpoints: signed statements of the events log's head

Revision ID: c1c75ea44b7a
Revises: 5b0e7c2a9d41
Create Date: 2026-12-07 12:43:23.976571

Each row is a compact JWS signed by the issuer's key over the head's sequence number and hash,
with copies of its fields for finding the latest one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import charter.db.base

revision: str = "c1c75ea44b7a"
down_revision: str | None = "5b0e7c2a9d41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "event_checkpoints",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("count", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("checkpointed_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("verification_method", sa.String(length=600), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_checkpoints")),
    )
    op.create_index(op.f("ix_event_checkpoints_seq"), "event_checkpoints", ["seq"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index(op.f("ix_event_checkpoints_seq"), table_name="event_checkpoints")
    op.drop_table("event_checkpoints")
