"""The jobs table: one claim per job, retries with backoff, stale claims returned to the queue."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from archive import jobs
from archive.db import make_sessionmaker, utcnow
from archive.models import Job


def test_each_job_is_claimed_exactly_once(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        for i in range(40):
            jobs.enqueue(s, "index", {"n": i})
        s.commit()
    claimed: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        try:
            with sessions() as s:
                while (job := jobs.claim(s, name)) is not None:
                    with lock:
                        claimed.append(job.payload["n"])
                    jobs.finish(s, job)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(claimed) == list(range(40))


def test_failures_retry_then_stop(session: Session) -> None:
    job = jobs.enqueue(session, "export", {}, max_attempts=2)
    session.commit()
    claimed = jobs.claim(session, "w")
    assert claimed is not None and claimed.id == job.id
    jobs.fail(session, claimed, "network down")
    assert claimed.state == "queued" and claimed.run_after > utcnow()
    assert jobs.claim(session, "w") is None  # backing off
    session.execute(update(Job).values(run_after=utcnow() - timedelta(seconds=1)))
    session.commit()
    again = jobs.claim(session, "w")
    assert again is not None and again.attempts == 2
    jobs.fail(session, again, "still down")
    assert again.state == "failed" and again.last_error == "still down"


def test_stale_running_jobs_are_requeued(session: Session) -> None:
    jobs.enqueue(session, "fixity", {})
    session.commit()
    job = jobs.claim(session, "dead-worker")
    assert job is not None
    session.execute(update(Job).values(locked_at=utcnow() - timedelta(hours=2)))
    session.commit()
    assert jobs.requeue_stale(session, timedelta(hours=1)) == 1
    assert jobs.claim(session, "w2") is not None
