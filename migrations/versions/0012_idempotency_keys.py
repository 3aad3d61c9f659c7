"""Idempotency keys: a retried upload whose answer was lost returns the record it made.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 21:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("record_id", sa.String(length=36), sa.ForeignKey("records.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "key"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
