"""Alembic environment: runs migrations through hoso's own engine (same SQLite pragmas)."""

from __future__ import annotations

from alembic import context

from archive import models  # noqa: F401  (registers the tables)
from archive.db import Base, make_engine
from archive.notifications import models as notification_models  # noqa: F401
from retention import models as retention_models  # noqa: F401
from retention.copies import models as copy_models  # noqa: F401
from search import models as search_models  # noqa: F401
from signing import models as signing_models  # noqa: F401

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "sqlalchemy.url must be set (migrations.alembic_config does it)"

engine = make_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
