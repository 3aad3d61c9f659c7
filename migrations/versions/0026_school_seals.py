"""School seal certificates: an authenticated copy is sealed only with a certificate registered to its school.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 12:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "school_seals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("school_id", sa.Integer(), sa.ForeignKey("schools.id"), nullable=False),
        sa.Column("fingerprint", sa.String(length=95), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("serial", sa.String(length=80), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.UniqueConstraint("fingerprint", name="uq_school_seals_fingerprint"),
    )
    op.create_index("ix_school_seals_school", "school_seals", ["school_id"])


def downgrade() -> None:
    op.drop_index("ix_school_seals_school", table_name="school_seals")
    op.drop_table("school_seals")
