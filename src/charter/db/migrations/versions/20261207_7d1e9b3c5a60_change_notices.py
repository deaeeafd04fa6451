"""PostgreSQL: tables whose rows server workers keep in memory notify them when they change

Revision ID: 7d1e9b3c5a60
Revises: 6c2f4a8e1b35
Create Date: 2026-12-07 17:20:00.000000

A statement changing licenses, products, partners, users or API keys notifies the channel
``charter_changes`` at commit (``charter.db.freshness``): a server worker listening there forgets
the license snapshots and API keys' principals it keeps. SQLite needs nothing: its
``data_version`` tells the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "7d1e9b3c5a60"
down_revision: str | None = "6c2f4a8e1b35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("licenses", "products", "partners", "users", "api_keys")


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION charter_notify_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "PERFORM pg_notify('charter_changes', TG_TABLE_NAME); RETURN NULL; END $$"
    )
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
    op.execute("DROP FUNCTION IF EXISTS charter_notify_change()")
