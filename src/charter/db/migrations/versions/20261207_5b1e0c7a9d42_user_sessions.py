"""user sessions: portal sign-ins recorded on the server

Revision ID: 5b1e0c7a9d42
Revises: c1c75ea44b7a
Create Date: 2026-12-07 10:00:00.000000

The session cookie now names a row of ``user_sessions``; sign-out, a password or role change
and disabling a user end rows, so a copied cookie stops working at once. Cookies issued before
this revision name no row: their users sign in again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import charter.db.base

revision: str = "5b1e0c7a9d42"
down_revision: str | None = "c1c75ea44b7a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", charter.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_sessions_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_sessions_user_id"))
    op.drop_table("user_sessions")
