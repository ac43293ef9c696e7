"""Regions: groups of countries an admin defines, a scope of the examiner's queue.

- ``regions``: a region's name (unique), when it was made and who made it (the person, as the
  audit log names them).
- ``region_countries``: one line per (region, ISO 3166-1 alpha-2 country code); removed with
  its region.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regions")),
        sa.UniqueConstraint("name", name=op.f("uq_regions_name")),
    )
    op.create_table(
        "region_countries",
        sa.Column("region_pk", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.CheckConstraint("length(country) = 2", name=op.f("ck_region_countries_country_alpha2")),
        sa.ForeignKeyConstraint(
            ["region_pk"],
            ["regions.id"],
            name=op.f("fk_region_countries_region_pk_regions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("region_pk", "country", name=op.f("pk_region_countries")),
    )


def downgrade() -> None:
    op.drop_table("region_countries")
    op.drop_table("regions")
