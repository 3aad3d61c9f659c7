"""Renditions and format identification: each version's PRONOM format, the version a rendition
was made from, and one row per rendition to make (its state shown on the record page).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 05:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("format_puid", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("format_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("derived_from", sa.Integer(), nullable=True))
    op.create_table(
        "renditions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("record_id", sa.String(length=36), sa.ForeignKey("records.id"), nullable=False),
        sa.Column("source_version", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.Column("tool", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("record_id", "source_version", "target"),
    )
    op.create_index("ix_renditions_record", "renditions", ["record_id"])


def downgrade() -> None:
    op.drop_index("ix_renditions_record", table_name="renditions")
    op.drop_table("renditions")
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("derived_from")
        batch.drop_column("format_name")
        batch.drop_column("format_puid")
