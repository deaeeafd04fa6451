"""approval requests and routes: exceptions waiting for their governance owners

Revision ID: eec0ab8e02aa
Revises: 9c3d51f0e2b7
Create Date: 2026-12-07 13:10:33.642976
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import charter.db.base

revision: str = "eec0ab8e02aa"
down_revision: str | None = "9c3d51f0e2b7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("partner_id", sa.String(length=40), nullable=True),
        sa.Column("requested_by_type", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=40), nullable=True),
        sa.Column("requester_name", sa.String(length=200), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column(
            "proposed_change",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("escalated_at", charter.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("decided_by_name", sa.String(length=200), nullable=True),
        sa.Column("decided_at", charter.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("applied_at", charter.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_approval_requests_partner_id_partners"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_requests")),
    )
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_approval_requests_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_approval_requests_requested_by"), ["requested_by"], unique=False
        )
        batch_op.create_index("ix_approval_requests_state_due", ["state", "due_at"], unique=False)
        batch_op.create_index(
            "ix_approval_requests_subject", ["subject_type", "subject_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_approval_requests_type"), ["type"], unique=False)

    op.create_table(
        "approval_routes",
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("owner_user_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_approval_routes_owner_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("type", "owner_user_id", name=op.f("pk_approval_routes")),
    )
    with op.batch_alter_table("approval_routes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_approval_routes_owner_user_id"), ["owner_user_id"], unique=False
        )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("approval_routes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_routes_owner_user_id"))

    op.drop_table("approval_routes")
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_requests_type"))
        batch_op.drop_index("ix_approval_requests_subject")
        batch_op.drop_index("ix_approval_requests_state_due")
        batch_op.drop_index(batch_op.f("ix_approval_requests_requested_by"))
        batch_op.drop_index(batch_op.f("ix_approval_requests_partner_id"))

    op.drop_table("approval_requests")
