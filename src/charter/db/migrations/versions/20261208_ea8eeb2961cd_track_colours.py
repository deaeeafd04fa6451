"""Track colours: a track's badges are drawn in the colour the program sets for it

Revision ID: ea8eeb2961cd
Revises: c4e9a1d7b350
Create Date: 2026-12-08 01:00:00.000000

The default badge design coloured a person's badge by track from a fixed list of the four
default tracks, so a track a program added got the default colour. Each taxonomy entry now has
an optional colour (used for tracks; none: one picked from a palette by the code). The default
tracks keep the colours they were drawn in.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ea8eeb2961cd"
down_revision: str | None = "c4e9a1d7b350"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The colours the badge design gave the default tracks until now (a copy: data of this revision).
TRACK_COLOURS = {
    "sales": "#b54708",
    "technical": "#1f6feb",
    "support": "#1f7a4d",
    "specialty": "#6941c6",
}


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("taxonomy_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("colour", sa.String(length=7), nullable=True))
    entries = sa.table(
        "taxonomy_entries",
        sa.column("kind", sa.String),
        sa.column("code", sa.String),
        sa.column("colour", sa.String),
    )
    for code, colour in TRACK_COLOURS.items():
        op.execute(
            entries.update()
            .where(entries.c.kind == "track", entries.c.code == code)
            .values(colour=colour)
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("taxonomy_entries", schema=None) as batch_op:
        batch_op.drop_column("colour")
