"""holder sign-in links and sessions, and each badge's choice to show its holder's name

Revision ID: 6c2f4a8e1b35
Revises: 5b8e1d3a7c24
Create Date: 2026-12-07 16:00:00.000000

Certified people sign in by an emailed one-time link (``holder_sign_in_links``, the token
stored hashed) to sessions of their own (``holder_sessions``). ``awards.show_holder_name`` is
their choice per badge; null (every existing award) follows ``people.show_name_publicly``,
so no public page changes with this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import charter.db.base

revision: str = "6c2f4a8e1b35"
down_revision: str | None = "5b8e1d3a7c24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "holder_sign_in_links",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", charter.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_holder_sign_in_links_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holder_sign_in_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_holder_sign_in_links_token_hash")),
    )
    with op.batch_alter_table("holder_sign_in_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_holder_sign_in_links_person_id"), ["person_id"], unique=False
        )
    op.create_table(
        "holder_sessions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", charter.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_holder_sessions_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holder_sessions")),
    )
    with op.batch_alter_table("holder_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_holder_sessions_person_id"), ["person_id"], unique=False
        )
    with op.batch_alter_table("awards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("show_holder_name", sa.Boolean(), nullable=True))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("awards", schema=None) as batch_op:
        batch_op.drop_column("show_holder_name")
    with op.batch_alter_table("holder_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_holder_sessions_person_id"))
    op.drop_table("holder_sessions")
    with op.batch_alter_table("holder_sign_in_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_holder_sign_in_links_person_id"))
    op.drop_table("holder_sign_in_links")
