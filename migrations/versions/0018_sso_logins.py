"""Single sign-on: sign-ins sent to the Sở's OpenID provider and not yet back (archive/sso.py).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 05:45:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sso_logins",
        sa.Column("state", sa.String(length=64), primary_key=True),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sso_logins_created_at", "sso_logins", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_sso_logins_created_at", table_name="sso_logins")
    op.drop_table("sso_logins")
