"""Dossiers (hồ sơ) of the yearly list: the list, filing, closing and handing over (issue #18).

Record types learn where their dossiers sit on the yearly list (heading) and what they are split
by; dossiers learn their list, state, grouping values, term and TT 05 metadata; records their
number inside the dossier and page count. The defaults for the seeded types are set here too
(a type added later takes them from archive/data/record_types.yaml).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 05:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# code → (heading, group_by): the same rows as archive/data/record_types.yaml at this revision
DEFAULTS = {
    "school_plan": ("01", []),
    "department_plan": ("01", []),
    "directive": ("01", []),
    "approval_record": ("01", []),
    "lesson_plan": ("02", ["subject", "grade"]),
    "lesson_recording": ("02", ["teacher"]),
    "online_teaching_evidence": ("02", ["teacher"]),
    "department_minutes": ("02", []),
    "gradebook": ("03", ["grade"]),
    "transcript": ("03", ["grade"]),
    "enrollment_register": ("03", []),
}


def upgrade() -> None:
    with op.batch_alter_table("schools") as batch:
        batch.add_column(sa.Column("file_code_pattern", sa.String(length=100), nullable=True))
    with op.batch_alter_table("record_types") as batch:
        batch.add_column(sa.Column("dossier_heading", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("dossier_group_by", sa.JSON(), nullable=False, server_default="[]"))
    types = sa.table(
        "record_types",
        sa.column("code", sa.String),
        sa.column("dossier_heading", sa.String),
        sa.column("dossier_group_by", sa.JSON),
    )
    for code, (heading, group_by) in DEFAULTS.items():
        op.execute(
            types.update().where(types.c.code == code).values(dossier_heading=heading, dossier_group_by=group_by)
        )
    op.create_table(
        "dossier_lists",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("school_id", sa.Integer(), sa.ForeignKey("schools.id"), nullable=False),
        sa.Column("school_year", sa.String(length=9), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("record_id", sa.String(length=36), nullable=True),
        sa.UniqueConstraint("school_id", "school_year"),
    )
    op.create_table(
        "dossier_handovers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("school_id", sa.Integer(), sa.ForeignKey("schools.id"), nullable=False),
        sa.Column("dossier_ids", sa.JSON(), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=True),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("list_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("state", sa.String(length=16), nullable=False, server_default="open"))
        batch.add_column(sa.Column("heading", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("number", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("subject", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("grade", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("teacher_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("month", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("retention_permanent", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("retention_years", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("keep_permanent", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("keep_until_year", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("handover_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("tt05", sa.JSON(), nullable=False, server_default="{}"))
        batch.create_foreign_key("fk_dossiers_list", "dossier_lists", ["list_id"], ["id"])
        batch.create_foreign_key("fk_dossiers_teacher", "people", ["teacher_id"], ["id"])
        batch.create_foreign_key("fk_dossiers_closed_by", "people", ["closed_by_id"], ["id"])
        batch.create_foreign_key("fk_dossiers_handover", "dossier_handovers", ["handover_id"], ["id"])
        batch.create_check_constraint(
            "dossier_retention_valid",
            "retention_permanent OR retention_years IS NULL OR retention_years BETWEEN 2 AND 70",
        )
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("dossier_ordinal", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("page_count", sa.Integer(), nullable=True))
    op.create_index("ix_records_dossier", "records", ["dossier_id"])
    op.create_index("ix_dossiers_list", "dossiers", ["list_id"])


def downgrade() -> None:
    op.drop_index("ix_dossiers_list", "dossiers")
    op.drop_index("ix_records_dossier", "records")
    with op.batch_alter_table("records") as batch:
        batch.drop_column("page_count")
        batch.drop_column("dossier_ordinal")
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_constraint("dossier_retention_valid", type_="check")
        for fk in ("fk_dossiers_handover", "fk_dossiers_closed_by", "fk_dossiers_teacher", "fk_dossiers_list"):
            batch.drop_constraint(fk, type_="foreignkey")
        for column in (
            "tt05",
            "handover_id",
            "closed_by_id",
            "closed_at",
            "keep_until_year",
            "keep_permanent",
            "retention_years",
            "retention_permanent",
            "month",
            "teacher_id",
            "grade",
            "subject",
            "number",
            "heading",
            "state",
            "list_id",
        ):
            batch.drop_column(column)
    op.drop_table("dossier_handovers")
    op.drop_table("dossier_lists")
    with op.batch_alter_table("record_types") as batch:
        batch.drop_column("dossier_group_by")
        batch.drop_column("dossier_heading")
    with op.batch_alter_table("schools") as batch:
        batch.drop_column("file_code_pattern")
