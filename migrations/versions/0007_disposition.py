"""Destruction procedure (TT 06/2025/TT-BNV): dispositions and their items; destroyed blobs.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 11:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("blobs") as batch:
        batch.add_column(sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "dispositions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), sa.ForeignKey("schools.id"), nullable=False),
        sa.Column("dossier_id", sa.String(length=36), sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("council", sa.JSON(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_number", sa.String(length=100), nullable=True),
        sa.Column("approved", sa.Boolean(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_signed", sa.Boolean(), nullable=False),
        sa.Column("executed_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "disposition_items",
        sa.Column("disposition_id", sa.Integer(), sa.ForeignKey("dispositions.id"), nullable=False),
        sa.Column("record_id", sa.String(length=36), sa.ForeignKey("records.id"), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("tombstone", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("disposition_id", "record_id"),
    )


def downgrade() -> None:
    op.drop_table("disposition_items")
    op.drop_table("dispositions")
    with op.batch_alter_table("blobs") as batch:
        batch.drop_column("destroyed_at")
