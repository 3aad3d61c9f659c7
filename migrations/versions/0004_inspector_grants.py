"""Inspector grants: an inspection decision's read access to schools, record types and school years.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inspector_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("decision_number", sa.String(length=100), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=True),
        sa.Column("record_types", sa.JSON(), nullable=False),
        sa.Column("school_years", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_grants_inspector", "inspector_grants", ["inspector_id"])
    op.create_table(
        "grant_schools",
        sa.Column("grant_id", sa.Integer(), sa.ForeignKey("inspector_grants.id"), nullable=False),
        sa.Column("school_id", sa.Integer(), sa.ForeignKey("schools.id"), nullable=False),
        sa.PrimaryKeyConstraint("grant_id", "school_id"),
    )


def downgrade() -> None:
    op.drop_table("grant_schools")
    op.drop_index("ix_grants_inspector", table_name="inspector_grants")
    op.drop_table("inspector_grants")
