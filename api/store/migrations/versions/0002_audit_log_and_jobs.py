"""Append-only audit log (triggers refuse UPDATE, DELETE and TRUNCATE) and the durable job queue.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)

#: the message both backends raise; tests and callers can match on it
APPEND_ONLY_MESSAGE = "audit_log is append-only"

# The function is created unqualified, i.e. in the first schema of the search path: the same
# schema as the table, so that a database holding several stores in several schemas works.
_POSTGRESQL_UP = [
    f"""
    CREATE FUNCTION audit_log_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_forbid_change()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_forbid_change()
    """,
]
_POSTGRESQL_DOWN = [
    "DROP TRIGGER audit_log_no_truncate ON audit_log",
    "DROP TRIGGER audit_log_no_update_or_delete ON audit_log",
    "DROP FUNCTION audit_log_forbid_change()",
]
_SQLITE_UP = [
    f"""
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}: UPDATE refused'); END
    """,
    f"""
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}: DELETE refused'); END
    """,
]
_SQLITE_DOWN = ["DROP TRIGGER audit_log_no_delete", "DROP TRIGGER audit_log_no_update"]


def _dialect() -> str:
    return op.get_context().dialect.name


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", BIG_KEY, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(200), nullable=False),
        sa.Column("details", DOCUMENT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(
        op.f("ix_audit_log_object_type_object_id"), "audit_log", ["object_type", "object_id"]
    )
    statements = {"postgresql": _POSTGRESQL_UP, "sqlite": _SQLITE_UP}.get(_dialect(), [])
    for statement in statements:
        op.execute(statement)

    op.create_table(
        "jobs",
        sa.Column("id", BIG_KEY, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("exhibit_pk", BIG_KEY, nullable=True),
        sa.Column("payload", DOCUMENT, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("available_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("heartbeat_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_jobs_attempts_not_negative")),
        sa.CheckConstraint("max_attempts >= 1", name=op.f("ck_jobs_max_attempts_positive")),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'done', 'failed')", name=op.f("ck_jobs_status")
        ),
        sa.ForeignKeyConstraint(
            ["exhibit_pk"],
            ["exhibits.id"],
            name=op.f("fk_jobs_exhibit_pk_exhibits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(op.f("ix_jobs_exhibit_pk"), "jobs", ["exhibit_pk"])
    op.create_index(
        op.f("ix_jobs_status_available_at_id"), "jobs", ["status", "available_at", "id"]
    )


def downgrade() -> None:
    op.drop_table("jobs")
    statements = {"postgresql": _POSTGRESQL_DOWN, "sqlite": _SQLITE_DOWN}.get(_dialect(), [])
    for statement in statements:
        op.execute(statement)
    op.drop_table("audit_log")
