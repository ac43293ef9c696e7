"""Notifications: what an agency is told about links it has a stake in.

- ``notifications``: one line per agency told (every person of the agency sees it) about a
  link (``kind``: ``link.confirmed`` when an examiner confirms it, ``link.rejected`` when a
  confirmed link is rejected), when it was told and when the agency read it (None: unread).
  One line per (agency, link, kind): telling an agency again makes its line unread again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
KINDS = ("link.confirmed", "link.rejected")


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_pk", sa.Integer(), nullable=False),
        sa.Column("link_pk", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("read_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in KINDS) + ")",
            name=op.f("ck_notifications_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_pk"],
            ["agencies.id"],
            name=op.f("fk_notifications_agency_pk_agencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["link_pk"],
            ["links.id"],
            name=op.f("fk_notifications_link_pk_links"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint(
            "agency_pk", "link_pk", "kind", name=op.f("uq_notifications_agency_pk_link_pk_kind")
        ),
    )
    op.create_index(op.f("ix_notifications_link_pk"), "notifications", ["link_pk"])


def downgrade() -> None:
    op.drop_index(op.f("ix_notifications_link_pk"), table_name="notifications")
    op.drop_table("notifications")
