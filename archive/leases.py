"""Named leases in the database: periodic work that must not run twice at once, on any machine.

The job queue (`archive.jobs`) already hands each job to one worker; periodic work is not queued —
each worker notices it is due. Before, each process kept its own "last sweep" in memory, so two
`hoso worker` processes (or a worker and a `hoso serve` with its embedded worker) each ran the daily
retention sweep, the store locks and the weekly fixity pass, at the same time. Now the work is
taken with one conditional UPDATE on its row (`take`): it succeeds for one process only, and only
when the last run is older than its period and nobody holds it. The holder's heartbeat renews its
leases (`renew`, as for jobs); a holder that died is passed over once `held_until` lapses.

A plain row rather than PostgreSQL's advisory locks: it works the same on SQLite, it survives a
dropped connection (an advisory lock dies with its session, a pooled connection outlives it), and
it also records when the work was last done, which every process needs to decide that it is due.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from archive.db import utcnow
from archive.models import Lease


def _changed(session: Session, statement: Any) -> int:
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def take(session: Session, name: str, holder: str, lease: timedelta, every: timedelta | None = None) -> bool:
    """Hold `name` for `lease` when nobody holds it and (given `every`) its last run is older; commits."""
    now = utcnow()
    session.commit()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(Lease).values(name=name).on_conflict_do_nothing(index_elements=[Lease.name]))
    free = or_(Lease.held_until.is_(None), Lease.held_until < now)
    due = or_(Lease.last_done_at.is_(None), Lease.last_done_at <= now - every) if every is not None else true()
    taken = _changed(
        session,
        update(Lease)
        .where(Lease.name == name, free, due)
        .values(holder=holder, held_until=now + lease)
        .execution_options(synchronize_session=False),
    )
    session.commit()
    return taken == 1


def renew(session: Session, holder: str, lease: timedelta) -> int:
    """The heartbeat: every lease this holder has is held for another `lease`; returns how many."""
    session.commit()
    renewed = _changed(
        session,
        update(Lease)
        .where(Lease.holder == holder, Lease.held_until.is_not(None))
        .values(held_until=utcnow() + lease)
        .execution_options(synchronize_session=False),
    )
    session.commit()
    return renewed


def release(session: Session, name: str, holder: str, done: bool) -> None:
    """Give `name` back; `done` records the run as finished now (the next is due a period later)."""
    session.rollback()  # whatever the work left open
    values: dict[str, Any] = {"holder": None, "held_until": None}
    if done:
        values["last_done_at"] = utcnow()
    session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
