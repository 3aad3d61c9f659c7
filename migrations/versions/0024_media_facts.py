"""Recordings: the facts ffprobe read from each video version (container, codecs, bitrate,
duration, frame size), checked against TT 05/2025 on the record page (archive/media_facts.py).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02 07:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_facts",
        sa.Column("record_id", sa.String(length=36), sa.ForeignKey("records.id"), primary_key=True),
        sa.Column("version_number", sa.Integer(), primary_key=True),
        sa.Column("container", sa.String(length=40), nullable=False),
        sa.Column("video_codec", sa.String(length=40), nullable=True),
        sa.Column("audio_codec", sa.String(length=40), nullable=True),
        sa.Column("bitrate_kbps", sa.Integer(), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("media_facts")
