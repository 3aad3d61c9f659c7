"""The jobs table: long work (signing batches, indexing, fixity, exports) queued in the database.

A job is claimed by one worker at a time: PostgreSQL uses `FOR UPDATE SKIP LOCKED` so workers
never wait on each other; SQLite has one writer at a time, so a plain locked update suffices.
A failed job is retried with backoff until `max_attempts`, then stays `failed` for a person to see.

A claim is a lease: `locked_at` is the running worker's heartbeat (`renew`, every third of the
lease), and any worker puts back jobs whose heartbeat is older than the lease (`requeue_stale`) —
while the others keep running, not only at the next start. Measured before leases: after a SIGKILL,
197 of 497 acknowledged records stayed out of search (and their retention lock waited) after a
restart two minutes later, because only jobs older than ten minutes were put back, and only at
start. Jobs are idempotent (index a record, build an export, run fixity), so the rare job that a
slow-but-alive worker still holds when it is put back costs a repeat, never a loss.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Update, or_, select, update
from sqlalchemy.orm import Session

from archive.db import utcnow
from archive.models import Job, JobState


def enqueue(session: Session, kind: str, payload: dict[str, Any], max_attempts: int = 5) -> Job:
    """Add a job in the caller's transaction, so it commits (or not) with the work that asked for it."""
    job = Job(kind=kind, payload=payload, max_attempts=max_attempts, run_after=utcnow())
    session.add(job)
    return job


def runnable(kind: str) -> list[ColumnElement[bool]]:
    """The conditions of a job of `kind` a worker may take now (for a cheap look before a claim)."""
    return [Job.kind == kind, Job.state == JobState.queued, Job.run_after <= utcnow()]


def claim(session: Session, worker: str, kinds: list[str] | None = None) -> Job | None:
    """Take the oldest runnable job and mark it running; commits, so the claim is visible at once.

    One statement, `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING id`:
    on PostgreSQL concurrent workers skip each other's rows; on SQLite the UPDATE takes the write
    lock before it reads, so two workers can never take the same job.
    """
    pick = select(Job.id).where(Job.state == JobState.queued, Job.run_after <= utcnow())
    if kinds:
        pick = pick.where(Job.kind.in_(kinds))
    pick = pick.order_by(Job.run_after, Job.id).limit(1)
    session.commit()
    if session.scalar(pick) is None:  # nothing to run: a plain read, no write lock (an idle worker's
        session.commit()  # UPDATE per kind per loop made SQLite writers elsewhere meet "database is locked")
        return None
    session.commit()
    pick = pick.with_for_update(skip_locked=True)
    job_id = session.scalar(
        update(Job)
        .where(Job.id == pick.scalar_subquery(), Job.state == JobState.queued)
        .values(state=JobState.running, locked_by=worker, locked_at=utcnow(), attempts=Job.attempts + 1)
        .returning(Job.id)
    )
    session.commit()
    if job_id is None:
        return None
    job = session.get(Job, job_id, populate_existing=True)
    session.commit()  # end the read, so the worker's next write begins a fresh transaction
    return job


def claim_many(session: Session, worker: str, kinds: list[str], limit: int) -> list[Job]:
    """Take up to `limit` runnable jobs of these kinds at once (the indexer batches its commits)."""
    pick = (
        select(Job.id)
        .where(Job.state == JobState.queued, Job.run_after <= utcnow(), Job.kind.in_(kinds))
        .order_by(Job.run_after, Job.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    session.commit()
    ids = list(
        session.scalars(
            update(Job)
            .where(Job.id.in_(pick.scalar_subquery()), Job.state == JobState.queued)
            .values(state=JobState.running, locked_by=worker, locked_at=utcnow(), attempts=Job.attempts + 1)
            .returning(Job.id)
        )
    )
    session.commit()
    if not ids:
        return []
    found = list(session.scalars(select(Job).where(Job.id.in_(ids)).order_by(Job.id)))
    session.commit()
    return found


class Stopped(Exception):  # noqa: N818  (not an error: the worker was asked to stop)
    """Raised inside long work when the server is stopping (SIGTERM): the work ends at the next
    check, and its job goes back to the queue with `release`, so `hoso serve` exits in seconds."""


def release(session: Session, job: Job) -> None:
    """Back to the queue untouched: the worker stopped before finishing, which is not a failed attempt."""
    job.state, job.locked_by, job.locked_at = JobState.queued, None, None
    job.attempts = max(0, job.attempts - 1)
    session.commit()


def finish(session: Session, job: Job) -> None:
    job.state, job.finished_at, job.last_error = JobState.done, utcnow(), None
    session.commit()


def fail(session: Session, job: Job, error: str) -> None:
    job.last_error = error[:4000]
    job.locked_by = job.locked_at = None
    if job.attempts >= job.max_attempts:
        job.state, job.finished_at = JobState.failed, utcnow()
    else:
        job.state = JobState.queued
        job.run_after = utcnow() + timedelta(seconds=min(3600, 5 * 2**job.attempts))
    session.commit()


def _changed(session: Session, statement: Update) -> int:
    """How many rows an UPDATE changed (an UPDATE's result is a cursor result, which counts them)."""
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount


def renew(session: Session, worker: str) -> int:
    """The heartbeat: this worker's running jobs are still held; returns how many."""
    session.commit()
    renewed = _changed(
        session,
        update(Job)
        .where(Job.state == JobState.running, Job.locked_by == worker)
        .values(locked_at=utcnow())
        .execution_options(synchronize_session=False),
    )
    session.commit()
    return renewed


def requeue_stale(session: Session, older_than: timedelta) -> int:
    """Jobs whose worker has been silent longer than `older_than` (it died) go back to the queue."""
    session.commit()
    requeued = _changed(
        session,
        update(Job)
        .where(Job.state == JobState.running, or_(Job.locked_at.is_(None), Job.locked_at < utcnow() - older_than))
        .values(state=JobState.queued, locked_by=None, locked_at=None)
        .execution_options(synchronize_session=False),
    )
    session.commit()
    return requeued
