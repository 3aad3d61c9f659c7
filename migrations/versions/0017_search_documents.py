"""The PostgreSQL search engine's documents (`HOSO_SEARCH_ENGINE=postgres`, search/postgres_engine.py).

Created on PostgreSQL only: tsvector and GIN exist there alone, and on SQLite the engine is never
chosen (the folder engines keep their index outside SQL). Derived data: `hoso reindex` refills it.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 05:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACETS = (  # search.documents.FACETS when this revision was written (a migration never imports the app)
    "school_code",
    "record_type",
    "school_year",
    "month",
    "subject",
    "grade",
    "class_name",
    "teacher",
    "status",
    "signed",
    "retention",
    "media",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.Text(), nullable=False, server_default="") for name in FACETS),
        sa.Column("folded", postgresql.TSVECTOR(), nullable=False),
        sa.Column("exact", postgresql.TSVECTOR(), nullable=False),
    )
    op.create_index("search_documents_folded", "search_documents", ["folded"], postgresql_using="gin")
    op.create_index("search_documents_created", "search_documents", [sa.text("created DESC")])
    op.create_index("search_documents_school", "search_documents", ["school_code"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_table("search_documents")
