"""PostgreSQL: the tables behind what reading routes keep notify workers too

Revision ID: 8a3c5e7f9b12
Revises: 7d4e2b9a1c60
Create Date: 2026-12-07 20:00:00.000000

Server workers keep the answers of reading routes (the list of awards, the caller's own user;
``charter.deps.kept_answer``) and the verify route's own documents and records until the
database changes: a statement changing awards, issued credentials, people, partner regions,
certifications, status lists or signing keys now notifies ``charter_changes`` at commit as
well, one notice a statement. SQLite needs nothing: its ``data_version`` tells the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "8a3c5e7f9b12"
down_revision: str | None = "7d4e2b9a1c60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "awards",
    "issued_credentials",
    "people",
    "partner_regions",
    "certifications",
    "status_lists",
    "signing_keys",
)


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS charter_notify_change ON {table}")
        op.execute(
            f"CREATE TRIGGER charter_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION charter_notify_change()"
        )


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS charter_notify_change ON {table}")
