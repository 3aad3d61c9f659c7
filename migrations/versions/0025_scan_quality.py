"""Scans and photos (issue #16 item 1): the TT 05/2025 Điều 8 policy per record type, and what a
scan's check found (`scan_facts`).

`record_types.scan_policy` ('warn' | 'refuse') and `scan_min_dpi` (200; 300 for maps and drawings)
are the schedule's data, edited by the archivist like the retention rows. The types schools scan
paper for (lesson plans photographed, học bạ and sổ đăng bộ scanned) also accept JPEG, PNG and
TIFF from now on: added to a row's list only where it is missing, so an archivist's edit stays.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 09:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCANNED = ("lesson_plan", "transcript", "enrollment_register")
IMAGES = ("image/jpeg", "image/png", "image/tiff")


def upgrade() -> None:
    with op.batch_alter_table("record_types") as batch:
        batch.add_column(sa.Column("scan_policy", sa.String(length=8), nullable=False, server_default="warn"))
        batch.add_column(sa.Column("scan_min_dpi", sa.Integer(), nullable=False, server_default="200"))
    op.create_table(
        "scan_facts",
        sa.Column("record_id", sa.String(length=36), sa.ForeignKey("records.id"), primary_key=True),
        sa.Column("version_number", sa.Integer(), primary_key=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("dpi", sa.Integer(), nullable=True),
        sa.Column("colour_bits", sa.Integer(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("pages_done", sa.Integer(), nullable=False, server_default="0"),
    )
    types = sa.table(
        "record_types",
        sa.column("id", sa.Integer),
        sa.column("code", sa.String),
        sa.column("allowed_media_types", sa.JSON),
    )
    connection = op.get_bind()
    for row in connection.execute(sa.select(types.c.id, types.c.allowed_media_types).where(types.c.code.in_(SCANNED))):
        allowed = list(row.allowed_media_types or [])
        wanted = allowed + [m for m in IMAGES if m not in allowed]
        if wanted != allowed:
            connection.execute(types.update().where(types.c.id == row.id).values(allowed_media_types=wanted))


def downgrade() -> None:
    op.drop_table("scan_facts")
    with op.batch_alter_table("record_types") as batch:
        batch.drop_column("scan_min_dpi")
        batch.drop_column("scan_policy")
