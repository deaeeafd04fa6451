"""signing key purposes: token keys beside credential keys, one active key per purpose

Revision ID: 39ef5fc0b1f8
Revises: 7d4e2a91c6b3
Create Date: 2026-12-07 13:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "39ef5fc0b1f8"
down_revision: str | None = "7d4e2a91c6b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    # Every key made so far signs credentials.
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=16), server_default="credential", nullable=False)
        )
        batch_op.drop_constraint("uq_signing_keys_active", type_="unique")
        batch_op.create_unique_constraint("uq_signing_keys_purpose_active", ["purpose", "active"])


def downgrade() -> None:
    """Undo this revision (token keys are deleted: only one active key may remain)."""
    op.execute("DELETE FROM signing_keys WHERE purpose <> 'credential'")
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.drop_constraint("uq_signing_keys_purpose_active", type_="unique")
        batch_op.create_unique_constraint("uq_signing_keys_active", ["active"])
        batch_op.drop_column("purpose")
