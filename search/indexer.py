"""Keeping the index in step with the database: queued jobs in batches, and a rebuild from scratch.

`describe` turns record ids into index documents (None for a record that no longer exists); the
API layer supplies it, since a document joins facts from several packages (the kernel's record,
its signatures, its retention state). A batch of jobs becomes one engine commit; the jobs are
deleted only after the commit, so a crash in between re-runs them (an upsert is idempotent).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from archive import jobs
from archive.index_queue import INDEX_JOB
from archive.models import Job, JobState, Record
from search.documents import IndexDoc
from search.engine import SearchEngine

log = logging.getLogger(__name__)
Describe = Callable[[Session, Sequence[str]], dict[str, IndexDoc | None]]
BATCH = 200


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:indexer"


def drain(
    sessions: sessionmaker[Session],
    engine: SearchEngine,
    describe: Describe,
    limit: int | None = None,
    after: Callable[[Sequence[str]], None] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Index every queued change (or up to `limit` jobs, or until `stop` is set between batches);
    returns how many records were (re)indexed.

    `after` hears the ids of each batch once it is indexed (the serving worker follows up with
    their retention), so other work on changed records needs no job of its own.
    """
    done = 0
    while (limit is None or done < limit) and not (stop is not None and stop.is_set()):
        with sessions() as session:
            claimed = jobs.claim_many(session, worker_name(), [INDEX_JOB], BATCH)
            if not claimed:
                return done
            ids = sorted({str(job.payload.get("record_id")) for job in claimed})
            try:
                docs = describe(session, ids)
                session.commit()
                present = [doc for doc in docs.values() if doc is not None]
                gone = [record_id for record_id, doc in docs.items() if doc is None]
                if present:
                    engine.upsert(present)
                if gone:
                    engine.delete(gone)
            except Exception as e:
                log.exception("indexing %d records failed", len(ids))
                session.rollback()
                for job in claimed:
                    jobs.fail(session, session.merge(job), repr(e))
                return done
            session.execute(delete(Job).where(Job.id.in_([job.id for job in claimed])))
            session.commit()
            if after is not None:
                after(ids)
            done += len(ids)
    return done


def rebuild(
    sessions: sessionmaker[Session],
    engine: SearchEngine,
    describe: Describe,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Empty the index and index every record from the database (`hoso reindex`)."""
    with sessions() as session:
        ids = list(session.scalars(select(Record.id).order_by(Record.created_at)))
        # jobs queued before now are covered by this rebuild
        session.execute(delete(Job).where(Job.kind == INDEX_JOB, Job.state == JobState.queued))
        session.commit()
    engine.clear()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        with sessions() as session:
            docs = describe(session, chunk)
            session.commit()
        engine.upsert([d for d in docs.values() if d is not None], replace=False)
        if progress:
            progress(min(start + BATCH, len(ids)), len(ids))
    return len(ids)
