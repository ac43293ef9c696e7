"""Evidence tables: agencies, cases, exhibits and their files, marks, descriptors, results, links.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model types: a revision must keep creating what it created when it was
# written, whatever the models become later.
BIG_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
PUBLIC_ID = sa.String(26)


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", PUBLIC_ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("api_key_hash", sa.String(64), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("length(country) = 2", name=op.f("ck_agencies_country_alpha2")),
        sa.CheckConstraint(
            "role IN ('lab', 'examiner', 'investigator', 'admin')", name=op.f("ck_agencies_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agencies")),
        sa.UniqueConstraint("api_key_hash", name=op.f("uq_agencies_api_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_agencies_name")),
        sa.UniqueConstraint("public_id", name=op.f("uq_agencies_public_id")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", PUBLIC_ID, nullable=False),
        sa.Column("agency_pk", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_pk"],
            ["agencies.id"],
            name=op.f("fk_cases_agency_pk_agencies"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("agency_pk", "case_id", name=op.f("uq_cases_agency_pk_case_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_cases_public_id")),
    )
    op.create_table(
        "exhibits",
        sa.Column("id", BIG_KEY, nullable=False),
        sa.Column("public_id", PUBLIC_ID, nullable=False),
        sa.Column("agency_pk", sa.Integer(), nullable=False),
        sa.Column("case_pk", sa.Integer(), nullable=False),
        sa.Column("exhibit_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("caliber", sa.String(64), nullable=True),
        sa.Column("modality", sa.String(16), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("pixel_um", sa.Double(), nullable=True),
        sa.Column("metadata", DOCUMENT, nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("kind IN ('cartridge_case', 'bullet')", name=op.f("ck_exhibits_kind")),
        sa.CheckConstraint(
            "modality IN ('topography', 'photograph')", name=op.f("ck_exhibits_modality")
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'correlated', 'failed')", name=op.f("ck_exhibits_status")
        ),
        sa.CheckConstraint("pixel_um > 0", name=op.f("ck_exhibits_pixel_um_positive")),
        sa.ForeignKeyConstraint(
            ["agency_pk"],
            ["agencies.id"],
            name=op.f("fk_exhibits_agency_pk_agencies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["case_pk"], ["cases.id"], name=op.f("fk_exhibits_case_pk_cases"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exhibits")),
        sa.UniqueConstraint(
            "agency_pk", "exhibit_id", name=op.f("uq_exhibits_agency_pk_exhibit_id")
        ),
        sa.UniqueConstraint("public_id", name=op.f("uq_exhibits_public_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_exhibits_case_pk"), "exhibits", ["case_pk"])
    op.create_index(op.f("ix_exhibits_sha256"), "exhibits", ["sha256"])
    op.create_table(
        "exhibit_files",
        sa.Column("exhibit_pk", BIG_KEY, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("position >= 0", name=op.f("ck_exhibit_files_position_not_negative")),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_exhibit_files_size_not_negative")),
        sa.ForeignKeyConstraint(
            ["exhibit_pk"],
            ["exhibits.id"],
            name=op.f("fk_exhibit_files_exhibit_pk_exhibits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exhibit_pk", "position", name=op.f("pk_exhibit_files")),
    )
    op.create_index(op.f("ix_exhibit_files_sha256"), "exhibit_files", ["sha256"])
    op.create_table(
        "exhibit_marks",
        sa.Column("exhibit_pk", BIG_KEY, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("preparation_version", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["exhibit_pk"],
            ["exhibits.id"],
            name=op.f("fk_exhibit_marks_exhibit_pk_exhibits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exhibit_pk", name=op.f("pk_exhibit_marks")),
    )
    op.create_table(
        "exhibit_descriptors",
        sa.Column("exhibit_pk", BIG_KEY, nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("dimension > 0", name=op.f("ck_exhibit_descriptors_dimension_positive")),
        sa.ForeignKeyConstraint(
            ["exhibit_pk"],
            ["exhibits.id"],
            name=op.f("fk_exhibit_descriptors_exhibit_pk_exhibits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exhibit_pk", "version", name=op.f("pk_exhibit_descriptors")),
    )
    op.create_table(
        "correlation_results",
        sa.Column("id", BIG_KEY, nullable=False),
        sa.Column("query_pk", BIG_KEY, nullable=False),
        sa.Column("candidate_pk", BIG_KEY, nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("cmc_count", sa.Integer(), nullable=True),
        sa.Column("algorithm_version", sa.String(64), nullable=False),
        sa.Column("details", DOCUMENT, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "query_pk <> candidate_pk", name=op.f("ck_correlation_results_not_self")
        ),
        sa.ForeignKeyConstraint(
            ["candidate_pk"],
            ["exhibits.id"],
            name=op.f("fk_correlation_results_candidate_pk_exhibits"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["query_pk"],
            ["exhibits.id"],
            name=op.f("fk_correlation_results_query_pk_exhibits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_correlation_results")),
        sa.UniqueConstraint(
            "query_pk",
            "candidate_pk",
            "algorithm_version",
            name=op.f("uq_correlation_results_query_pk_candidate_pk_algorithm_version"),
        ),
    )
    op.create_index(
        op.f("ix_correlation_results_candidate_pk"), "correlation_results", ["candidate_pk"]
    )
    op.create_table(
        "links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", PUBLIC_ID, nullable=False),
        sa.Column("exhibit_a_pk", BIG_KEY, nullable=False),
        sa.Column("exhibit_b_pk", BIG_KEY, nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("algorithm_version", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cross_border", sa.Boolean(), nullable=False),
        sa.Column("decided_by_pk", sa.Integer(), nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("exhibit_a_pk < exhibit_b_pk", name=op.f("ck_links_canonical_order")),
        sa.CheckConstraint(
            "status IN ('lead', 'confirmed', 'rejected')", name=op.f("ck_links_status")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_pk"],
            ["agencies.id"],
            name=op.f("fk_links_decided_by_pk_agencies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["exhibit_a_pk"],
            ["exhibits.id"],
            name=op.f("fk_links_exhibit_a_pk_exhibits"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["exhibit_b_pk"],
            ["exhibits.id"],
            name=op.f("fk_links_exhibit_b_pk_exhibits"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_links")),
        sa.UniqueConstraint(
            "exhibit_a_pk", "exhibit_b_pk", name=op.f("uq_links_exhibit_a_pk_exhibit_b_pk")
        ),
        sa.UniqueConstraint("public_id", name=op.f("uq_links_public_id")),
    )
    op.create_index(op.f("ix_links_exhibit_b_pk"), "links", ["exhibit_b_pk"])
    op.create_index(op.f("ix_links_status_cross_border"), "links", ["status", "cross_border"])


def downgrade() -> None:
    op.drop_table("links")
    op.drop_table("correlation_results")
    op.drop_table("exhibit_descriptors")
    op.drop_table("exhibit_marks")
    op.drop_table("exhibit_files")
    op.drop_table("exhibits")
    op.drop_table("cases")
    op.drop_table("agencies")
