"""The program's own taxonomy: tracks, regions (with their countries) and partner types

Revision ID: b7e2d4f6a813
Revises: 8a3c5e7f9b12
Create Date: 2026-12-08 00:00:00.000000

Each program defines its own ordered lists instead of fixed ones. The lists start as the
values Charter offered until now, so every firm, person, certification and license stays
valid; the default regions group the countries of a standard split (NA, LATAM, EMEA, APAC).
A firm's region may now be any code of up to 16 characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import charter.db.base
from charter.partners import taxonomy_defaults

revision: str = "b7e2d4f6a813"
down_revision: str | None = "8a3c5e7f9b12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    entries = op.create_table(
        "taxonomy_entries",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("retired", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", charter.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "code", name=op.f("pk_taxonomy_entries")),
    )
    countries = op.create_table(
        "taxonomy_region_countries",
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("country", name=op.f("pk_taxonomy_region_countries")),
    )
    with op.batch_alter_table("taxonomy_region_countries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_taxonomy_region_countries_region"), ["region"], unique=False
        )
    with op.batch_alter_table("partner_regions", schema=None) as batch_op:
        batch_op.alter_column(
            "region",
            existing_type=sa.String(length=8),
            type_=sa.String(length=16),
            existing_nullable=False,
        )
    now = datetime.now(UTC)
    rows = []
    for kind, defaults in (
        ("track", taxonomy_defaults.TRACKS),
        ("region", taxonomy_defaults.REGIONS),
        ("partner_type", taxonomy_defaults.PARTNER_TYPES),
    ):
        for position, entry in enumerate(defaults, start=1):
            rows.append(
                {
                    "kind": kind,
                    "code": entry.code,
                    "label": entry.label,
                    "description": entry.description,
                    "position": position,
                    "retired": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    op.bulk_insert(entries, rows)
    op.bulk_insert(
        countries,
        [
            {"country": country, "region": region}
            for region, codes in taxonomy_defaults.REGION_COUNTRIES.items()
            for country in codes
        ],
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("partner_regions", schema=None) as batch_op:
        batch_op.alter_column(
            "region",
            existing_type=sa.String(length=16),
            type_=sa.String(length=8),
            existing_nullable=False,
        )
    with op.batch_alter_table("taxonomy_region_countries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_taxonomy_region_countries_region"))
    op.drop_table("taxonomy_region_countries")
    op.drop_table("taxonomy_entries")
