"""Lesson recordings are approved and signed monthly; where each item's stamp went.

`approval_items.stamp_place` records where an item's signature shows (last page, first page, an
added signature page, invisible, or a detached .p7s), so the principal is told.

The record-type schedule (archive/data/record_types.yaml) now gives `lesson_recording` a monthly
cadence signed by the principal or a vice principal. Seeding never rewrites an existing row, so an
installed archive gets the same policy here — only where the row is still the shipped default (no
cadence, no signer roles); a row someone changed is left alone.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 21:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

record_types = sa.table(
    "record_types",
    sa.column("code", sa.String),
    sa.column("signing_cadence", sa.String),
    sa.column("signer_roles", sa.JSON),
)


def _shipped_default(conn: sa.Connection, cadence: str | None, roles: list[str]) -> list[str]:
    """Codes of the recording rows still as shipped before this revision (or as this one ships them)."""
    rows = conn.execute(
        sa.select(record_types.c.code, record_types.c.signing_cadence, record_types.c.signer_roles).where(
            record_types.c.code == "lesson_recording"
        )
    ).all()
    return [code for code, have, have_roles in rows if have == cadence and list(have_roles or []) == roles]


def upgrade() -> None:
    op.add_column("approval_items", sa.Column("stamp_place", sa.String(length=16), nullable=True))
    conn = op.get_bind()
    for code in _shipped_default(conn, None, []):
        conn.execute(
            record_types.update()
            .where(record_types.c.code == code)
            .values(signing_cadence="monthly", signer_roles=["principal", "vice_principal"])
        )


def downgrade() -> None:
    conn = op.get_bind()
    for code in _shipped_default(conn, "monthly", ["principal", "vice_principal"]):
        conn.execute(
            record_types.update().where(record_types.c.code == code).values(signing_cadence=None, signer_roles=[])
        )
    with op.batch_alter_table("approval_items") as batch:
        batch.drop_column("stamp_place")
