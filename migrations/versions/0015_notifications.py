"""Notifications: what each person is told (derived from the audit log), their e-mail choices, and
the follower's cursor — set at the current audit head, so an upgraded archive does not tell anyone
about its past.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 06:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("link", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("person_id", "kind", "key"),
    )
    op.create_index("ix_notifications_person_updated", "notifications", ["person_id", "updated_at"])
    op.create_table(
        "notification_choices",
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), primary_key=True),
        sa.Column("kind", sa.String(length=32), primary_key=True),
        sa.Column("email", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "notification_cursor",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO notification_cursor (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM audit_events")


def downgrade() -> None:
    op.drop_table("notification_cursor")
    op.drop_table("notification_choices")
    op.drop_index("ix_notifications_person_updated", table_name="notifications")
    op.drop_table("notifications")
