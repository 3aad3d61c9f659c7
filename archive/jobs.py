"""The jobs table: long work (signing batches, indexing, fixity, exports) queued in the database.

A job is claimed by one worker at a time: PostgreSQL uses `FOR UPDATE SKIP LOCKED` so workers
never wait on each other; SQLite has one writer at a time, so a plain locked update suffices.
A failed job is retried with backoff until `max_attempts`, then stays `failed` for a person to see.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from archive.db import utcnow
from archive.models import Job


def enqueue(session: Session, kind: str, payload: dict[str, Any], max_attempts: int = 5) -> Job:
    """Add a job in the caller's transaction, so it commits (or not) with the work that asked for it."""
    job = Job(kind=kind, payload=payload, max_attempts=max_attempts, run_after=utcnow())
    session.add(job)
    return job


def claim(session: Session, worker: str, kinds: list[str] | None = None) -> Job | None:
    """Take the oldest runnable job and mark it running; commits, so the claim is visible at once.

    The claim is a conditional UPDATE (`… WHERE state = 'queued'`): if another worker took the
    same job first, nothing is updated and the next candidate is tried.
    """
    for _ in range(20):
        query = select(Job.id).where(Job.state == "queued", Job.run_after <= utcnow())
        if kinds:
            query = query.where(Job.kind.in_(kinds))
        query = query.order_by(Job.run_after, Job.id).limit(1)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        session.commit()
        job_id = session.scalar(query)
        if job_id is None:
            session.commit()
            return None
        now = utcnow()
        taken = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "queued")
            .values(state="running", locked_by=worker, locked_at=now, attempts=Job.attempts + 1)
        )
        session.commit()
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return session.get(Job, job_id, populate_existing=True)
    return None


def finish(session: Session, job: Job) -> None:
    job.state, job.finished_at, job.last_error = "done", utcnow(), None
    session.commit()


def fail(session: Session, job: Job, error: str) -> None:
    job.last_error = error[:4000]
    job.locked_by = job.locked_at = None
    if job.attempts >= job.max_attempts:
        job.state, job.finished_at = "failed", utcnow()
    else:
        job.state = "queued"
        job.run_after = utcnow() + timedelta(seconds=min(3600, 5 * 2**job.attempts))
    session.commit()


def requeue_stale(session: Session, older_than: timedelta) -> int:
    """Jobs left `running` by a worker that died go back to the queue."""
    cutoff = utcnow() - older_than
    stale = list(session.scalars(select(Job).where(Job.state == "running", Job.locked_at < cutoff)))
    for job in stale:
        job.state, job.locked_by, job.locked_at = "queued", None, None
    session.commit()
    return len(stale)
