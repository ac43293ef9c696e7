"""Hardening: revoked agencies, the store's change counter, how a decision was made.

- ``agencies.disabled_at``: ``ballistics agency revoke`` disables an agency and all its keys
  without deleting it (its exhibits, links and audit lines keep naming it).
- ``store_state``: one row whose ``generation`` every transaction that adds or changes an
  indexed exhibit increments (the row lock orders those transactions), and whose
  ``index_epoch`` ``ballistics reindex`` increments. A process compares them with what its
  in-memory index has seen before each search or correlation job, and catches up.
- ``exhibits.index_generation``: the generation at which the exhibit's descriptor was stored,
  so that catching up reads only what is new.
- ``links.decision_method``: ``images`` or ``microscope``, how the examiner judged the pair.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("agencies") as batch:
        batch.add_column(sa.Column("disabled_at", TIMESTAMP, nullable=True))
    with op.batch_alter_table("links") as batch:
        batch.add_column(sa.Column("decision_method", sa.String(16), nullable=True))
        batch.create_check_constraint(
            op.f("ck_links_decision_method"),
            "decision_method IS NULL OR decision_method IN ('images', 'microscope')",
        )
    with op.batch_alter_table("exhibits") as batch:
        batch.add_column(sa.Column("index_generation", sa.BigInteger(), nullable=True))
        batch.create_index(batch.f("ix_exhibits_index_generation"), ["index_generation"])
    state = op.create_table(
        "store_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("index_epoch", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_store_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_state")),
    )
    op.bulk_insert(state, [{"id": 1, "generation": 0, "index_epoch": 0}])


def downgrade() -> None:
    op.drop_table("store_state")
    with op.batch_alter_table("exhibits") as batch:
        batch.drop_index(batch.f("ix_exhibits_index_generation"))
        batch.drop_column("index_generation")
    with op.batch_alter_table("links") as batch:
        batch.drop_constraint("ck_links_decision_method", type_="check")
        batch.drop_column("decision_method")
    with op.batch_alter_table("agencies") as batch:
        batch.drop_column("disabled_at")
