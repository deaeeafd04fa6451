"""idempotency records keep the response's headers and are pruned by age

Revision ID: 5b0e7c2a9d41
Revises: ccc99885cce2
Create Date: 2026-12-07 10:00:00.000000

A replayed response carries the first response's headers (``Location``, ``ETag``, its
``Content-Type``), so they are stored with it; ``content_type``, which nothing wrote, goes.
The worker deletes records past their lifetime by ``created_at``, which gets an index.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5b0e7c2a9d41"
down_revision: str | None = "ccc99885cce2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "response_headers",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
        batch_op.drop_column("content_type")
        batch_op.create_index(
            batch_op.f("ix_idempotency_records_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_records_created_at"))
        batch_op.add_column(sa.Column("content_type", sa.String(length=100), nullable=True))
        batch_op.drop_column("response_headers")
