"""Engines, sessions and the one way to write: `write_transaction`.

SQLite (embedded default) and PostgreSQL (production) behave differently under concurrent writers.
Every write that appends an audit event goes through `write_transaction`, whose first statement
locks the single audit-head row: PostgreSQL then serialises appenders on that row, and SQLite takes
its write lock before reading anything, so a deferred transaction can never be refused for a stale
snapshot. The hash chain of the audit log relies on this ordering.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import DateTime, Engine, create_engine, event, update
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from archive import calendar


class Base(DeclarativeBase):
    pass


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both databases (SQLite forgets the zone; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The business clock (`archive.calendar.now`), under its old name: every row's time follows a pin."""
    return calendar.now()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            # Let SQLAlchemy, not the driver, decide when transactions begin (the documented recipe).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # an acknowledged upload survives power loss
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: objects loaded for auth stay usable after the read transaction ends.
    from archive import index_queue  # noqa: F401  (registers: a changed record queues its reindexing)

    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """Run a block as one serialised write transaction; commit on success, roll back on any error."""
    from archive.models import AuditHead  # the head row lives with the other tables

    session.commit()  # end any read snapshot held since the request began
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq))
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
