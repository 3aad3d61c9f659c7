"""Copies for use (issue #18 item 5): `copy_requests` holds each request for a read copy, a BẢN SAO
copy or an authenticated copy, its decision, and what was handed out (the copy's number per school
and year, its object key and SHA-256, the seal that authenticated it).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 08:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "copy_requests",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("school_id", sa.Integer(), sa.ForeignKey("schools.id"), nullable=False),
        sa.Column("record_id", sa.String(length=36), sa.ForeignKey("records.id"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("read_until", sa.Date(), nullable=True),
        sa.Column("grant_id", sa.Integer(), sa.ForeignKey("inspector_grants.id"), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refuse_reason", sa.Text(), nullable=True),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.Column("source_sha256", sa.String(length=64), nullable=True),
        sa.Column("number_year", sa.Integer(), nullable=True),
        sa.Column("number_seq", sa.Integer(), nullable=True),
        sa.Column("store_key", sa.String(length=400), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("seal_subject", sa.String(length=600), nullable=True),
        sa.UniqueConstraint("school_id", "number_year", "number_seq"),
    )
    op.create_index("ix_copy_requests_school_state", "copy_requests", ["school_id", "state"])
    op.create_index("ix_copy_requests_requested_by", "copy_requests", ["requested_by_id"])


def downgrade() -> None:
    op.drop_index("ix_copy_requests_requested_by", table_name="copy_requests")
    op.drop_index("ix_copy_requests_school_state", table_name="copy_requests")
    op.drop_table("copy_requests")
