"""The bytes served are the bytes stored: each blob's S3 version, a flag for a mismatch found on
read, and fixity's tampering, orphan and audit-anchor findings.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 22:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("blobs") as batch:
        batch.add_column(sa.Column("version_id", sa.String(length=1024), nullable=True))
        batch.add_column(sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("flag_reason", sa.String(length=400), nullable=True))
    with op.batch_alter_table("fixity_runs") as batch:
        batch.add_column(sa.Column("tampered", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("orphans", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("orphans_found", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("anchor_key", sa.String(length=400), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fixity_runs") as batch:
        batch.drop_column("anchor_key")
        batch.drop_column("orphans_found")
        batch.drop_column("orphans")
        batch.drop_column("tampered")
    with op.batch_alter_table("blobs") as batch:
        batch.drop_column("flag_reason")
        batch.drop_column("flagged_at")
        batch.drop_column("version_id")
