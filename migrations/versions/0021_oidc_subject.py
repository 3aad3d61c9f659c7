"""Single sign-on bound to the provider's account: `people.oidc_subject` holds its `iss|sub`.

Before this a sign-in was linked on every visit by comparing a claim the provider lets people or
its admins change (`preferred_username`, an e-mail) with a hoso field, so whoever came to carry a
matching value became that person. Now the first sign-in links by the claim and stores `iss|sub`
(the provider's stable name for the account, OIDC Core §2); later ones match only that (archive/sso.py).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 06:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("oidc_subject", sa.String(length=600), nullable=True))
    op.create_index("ix_people_oidc_subject", "people", ["oidc_subject"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_people_oidc_subject", table_name="people")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("oidc_subject")
