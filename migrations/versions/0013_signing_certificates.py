"""Registered signing certificates: the signer is the person the stamp names.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 22:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_certificates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("fingerprint", sa.String(length=95), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("common_name", sa.String(length=200), nullable=False),
        sa.Column("serial", sa.String(length=80), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("national_id", sa.String(length=40), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.Column("name_differs", sa.Boolean(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.UniqueConstraint("fingerprint", name="uq_signing_certificates_fingerprint"),
    )
    op.create_index("ix_signing_certificates_person", "signing_certificates", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_signing_certificates_person", table_name="signing_certificates")
    op.drop_table("signing_certificates")
