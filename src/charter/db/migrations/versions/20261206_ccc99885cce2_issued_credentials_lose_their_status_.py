"""issued credentials lose their status index; status list entries without rowid on SQLite

Revision ID: ccc99885cce2
Revises: 3ce016567792
Create Date: 2026-12-06 11:12:35.947700

Every issuance paid to maintain ``ix_issued_credentials_status``, which no query uses (status
is only ever asked together with award_id, which ``uq_issued_credentials_live_award`` and
``ix_issued_credentials_award_id`` serve). On SQLite, ``status_list_entries`` (a composite
primary key and a timestamp) is rebuilt as a WITHOUT ROWID table: one B-tree per entry instead
of a table and an index. PostgreSQL has no such option and keeps its table as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "ccc99885cce2"
down_revision: str | None = "3ce016567792"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild_entries(with_rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    option = "" if with_rowid else " WITHOUT ROWID"
    op.execute("ALTER TABLE status_list_entries RENAME TO _status_list_entries_old")
    op.execute(
        "CREATE TABLE status_list_entries ("
        "list_id VARCHAR(40) NOT NULL, "
        '"index" INTEGER NOT NULL, '
        "created_at DATETIME NOT NULL, "
        'CONSTRAINT pk_status_list_entries PRIMARY KEY (list_id, "index"), '
        "CONSTRAINT fk_status_list_entries_list_id_status_lists FOREIGN KEY(list_id) "
        "REFERENCES status_lists (id) ON DELETE CASCADE"
        f"){option}"
    )
    op.execute(
        'INSERT INTO status_list_entries (list_id, "index", created_at) '
        'SELECT list_id, "index", created_at FROM _status_list_entries_old'
    )
    op.execute("DROP TABLE _status_list_entries_old")


def upgrade() -> None:
    """Apply this revision."""
    op.drop_index("ix_issued_credentials_status", table_name="issued_credentials")
    _rebuild_entries(with_rowid=False)


def downgrade() -> None:
    """Undo this revision."""
    _rebuild_entries(with_rowid=True)
    op.create_index("ix_issued_credentials_status", "issued_credentials", ["status"], unique=False)
