"""The hierarchy Sở → Phòng → school (issue #17 item 3): units, people at a unit, a school's unit,
and the unit a grant came from.

A school's free-text district and province stay: they are filled from its unit when it has one.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 09:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "org_units",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False, unique=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("org_units.id"), nullable=True),
        sa.Column("area", sa.String(length=200), nullable=True),
        sa.Column("signing_deadline_day", sa.Integer(), nullable=False, server_default="5"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("signing_deadline_day BETWEEN 1 AND 28", name="deadline_day_valid"),
    )
    op.create_table(
        "unit_memberships",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("org_units.id"), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("person_id", "unit_id", "role"),
    )
    with op.batch_alter_table("schools") as batch:
        batch.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_schools_unit", "org_units", ["unit_id"], ["id"])
        batch.create_index("ix_schools_unit_id", ["unit_id"])
    with op.batch_alter_table("inspector_grants") as batch:
        batch.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_grants_unit", "org_units", ["unit_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("inspector_grants") as batch:
        batch.drop_constraint("fk_grants_unit", type_="foreignkey")
        batch.drop_column("unit_id")
    with op.batch_alter_table("schools") as batch:
        batch.drop_index("ix_schools_unit_id")
        batch.drop_constraint("fk_schools_unit", type_="foreignkey")
        batch.drop_column("unit_id")
    op.drop_table("unit_memberships")
    op.drop_table("org_units")
