"""Every change to a record queues its reindexing, in the transaction that made the change.

The search index is derived data kept outside the database, so it cannot join a SQL transaction.
Instead, whenever a record is inserted or changed (upload, new version, decision, signature), a
`index_record` job is added to the same transaction: if the change commits, the job commits with
it; if the process dies before the index is updated, the job is still queued and the next worker
does it. A listener on every `Session` catches all writers (API, CLI, signing runs, rebuild), so no
code path can forget. The kernel does not know the index: it only queues the job.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from archive.db import utcnow
from archive.models import Job, Record, new_uuid

INDEX_JOB = "index_record"
_QUEUED = "hoso.index_queued"


@event.listens_for(Session, "before_flush")
def _queue_changed_records(session: Session, _context: Any, _instances: Any) -> None:
    queued: set[str] = session.info.setdefault(_QUEUED, set())
    for obj in (*session.new, *session.dirty):
        if not isinstance(obj, Record):
            continue
        if obj not in session.new and not session.is_modified(obj, include_collections=False):
            continue
        if obj.id is None:
            obj.id = new_uuid()
        if obj.id in queued:
            continue
        queued.add(obj.id)
        session.add(Job(kind=INDEX_JOB, payload={"record_id": obj.id}, max_attempts=10, run_after=utcnow()))


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_QUEUED, None)
