"""A photograph's quality warnings, kept with its exhibit.

- ``exhibits.photo_warnings``: ``[{"code", "message"}]`` found when the photograph was prepared
  (:mod:`ballistics.casing.photo_quality`), answered again to a repeat of its upload; null for a
  3D scan and for exhibits stored before this revision.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("exhibits") as table:
        table.add_column(sa.Column("photo_warnings", DOCUMENT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("exhibits") as table:
        table.drop_column("photo_warnings")
