"""Each handed-over dossier's SIP, built by a job and kept in the store: `handover_packages`.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 08:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "handover_packages",
        sa.Column("handover_id", sa.Integer(), sa.ForeignKey("dossier_handovers.id"), primary_key=True),
        sa.Column("dossier_id", sa.String(length=36), sa.ForeignKey("dossiers.id"), primary_key=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("objid", sa.String(length=200), nullable=True),
        sa.Column("store_key", sa.String(length=400), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("handover_packages")
