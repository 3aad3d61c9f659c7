"""Every change to a record queues its reindexing, in the transaction that made the change.

The search index is derived data kept outside the database, so it cannot join a SQL transaction.
Instead, whenever a record is inserted or changed (upload, new version, decision, signature), a
`index_record` job is added to the same transaction: if the change commits, the job commits with
it; if the process dies before the index is updated, the job is still queued and the next worker
does it. A listener on every `Session` catches all writers (API, CLI, signing runs, rebuild), so no
code path can forget. The kernel does not know the index: it only queues the job.

A sibling's table whose columns the index document shows (a record's retention state is the
`retention` facet) says so with `REINDEXES_RECORD_ON`, the names of those columns: a change to one
of them in a flush queues its record's reindexing too. A set-based UPDATE bypasses the flush, so
its writer calls `queue` with the records it changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from archive.db import utcnow
from archive.models import Job, Record, new_uuid

INDEX_JOB = "index_record"
_QUEUED = "hoso.index_queued"


def queue(session: Session, record_ids: Iterable[str]) -> None:
    """Queue the reindexing of these records in the session's transaction (once per record)."""
    queued: set[str] = session.info.setdefault(_QUEUED, set())
    for record_id in record_ids:
        if record_id not in queued:
            queued.add(record_id)
            session.add(Job(kind=INDEX_JOB, payload={"record_id": record_id}, max_attempts=10, run_after=utcnow()))


def _indexed_change(session: Session, obj: object) -> bool:
    """Whether a new or changed row of a sibling's table shows in the index document."""
    columns: tuple[str, ...] = getattr(type(obj), "REINDEXES_RECORD_ON", ())
    if not columns:
        return False
    return obj in session.new or any(inspect(obj).attrs[name].history.has_changes() for name in columns)


@event.listens_for(Session, "before_flush")
def _queue_changed_records(session: Session, _context: Any, _instances: Any) -> None:
    changed: list[str] = []
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Record):
            if obj not in session.new and not session.is_modified(obj, include_collections=False):
                continue
            if obj.id is None:
                obj.id = new_uuid()
            changed.append(obj.id)
        elif _indexed_change(session, obj):
            changed.append(inspect(obj).attrs["record_id"].value)  # every such table keys a record
    queue(session, changed)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_QUEUED, None)
