"""Retention: each record's computed retention, legal holds, fixity runs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 11:15:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "record_retention",
        sa.Column("record_id", sa.String(length=36), sa.ForeignKey("records.id"), nullable=False),
        sa.Column("permanent", sa.Boolean(), nullable=False),
        sa.Column("keep_until_year", sa.Integer(), nullable=True),
        sa.Column("record_type_id", sa.Integer(), sa.ForeignKey("record_types.id"), nullable=False),
        sa.Column("school_year", sa.String(length=9), nullable=False),
        sa.Column("years_applied", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("locked_until", sa.Date(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_since", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("record_id"),
    )
    op.create_index("ix_retention_state_year", "record_retention", ["state", "keep_until_year"])
    op.create_table(
        "holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("school_id", sa.Integer(), sa.ForeignKey("schools.id"), nullable=True),
        sa.Column("school_year", sa.String(length=9), nullable=True),
        sa.Column("record_type_id", sa.Integer(), sa.ForeignKey("record_types.id"), nullable=True),
        sa.Column("dossier_id", sa.String(length=36), sa.ForeignKey("dossiers.id"), nullable=True),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "hold_records",
        sa.Column("hold_id", sa.Integer(), sa.ForeignKey("holds.id"), nullable=False),
        sa.Column("record_id", sa.String(length=36), sa.ForeignKey("records.id"), nullable=False),
        sa.PrimaryKeyConstraint("hold_id", "record_id"),
    )
    op.create_index("ix_hold_records_record", "hold_records", ["record_id"])
    op.create_table(
        "fixity_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("blobs_checked", sa.Integer(), nullable=False),
        sa.Column("bytes_checked", sa.BigInteger(), nullable=False),
        sa.Column("mismatched", sa.JSON(), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("audit_events_checked", sa.Integer(), nullable=False),
        sa.Column("audit_problems", sa.JSON(), nullable=False),
        sa.Column("started_by", sa.String(length=100), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("fixity_runs")
    op.drop_index("ix_hold_records_record", table_name="hold_records")
    op.drop_table("hold_records")
    op.drop_table("holds")
    op.drop_index("ix_retention_state_year", table_name="record_retention")
    op.drop_table("record_retention")
