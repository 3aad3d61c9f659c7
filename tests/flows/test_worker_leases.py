"""A worker that dies leaves its jobs as leases that lapse: a live worker takes them over while it
runs (not only at the next start, not only after ten minutes), and a live worker's own long job is
never taken from it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.app import create_app
from archive import jobs
from archive.db import utcnow
from archive.models import Job
from flows.settings import Settings
from flows.worker import Worker
from tests.conftest import STARTUP_DEADLINE
from tests.factories import World, lesson_plan_pdf, login
from tests.search.test_search_api import find, upload


@pytest.fixture
def quiet(settings: Settings, engine: object) -> Iterator[TestClient]:
    """The archive with no background worker (the test decides when one runs), a one-second lease."""
    with TestClient(create_app(settings.model_copy(update={"index_worker": False, "job_lease_seconds": 1}))) as c:
        yield c


def pending_index_jobs(session: Session) -> int:
    session.commit()
    return session.scalar(select(func.count()).select_from(Job).where(Job.kind == "index_record")) or 0


def test_a_dead_workers_claimed_jobs_are_taken_over_by_a_running_worker(
    quiet: TestClient, world: World, session: Session
) -> None:
    lan = login(quiet, "gv.lan")
    ids = [
        upload(quiet, lan, f"khbd-{n}.pdf", lesson_plan_pdf(f"Phân số bài {n}"), title=f"Phân số {n}") for n in range(3)
    ]
    hoso = quiet.app.state.hoso  # type: ignore[attr-defined]
    with hoso.sessions() as s:
        assert len(jobs.claim_many(s, "dead-host:4242:worker", ["index_record"], 10)) == 3  # then SIGKILL
    worker = Worker(hoso)
    worker.start()  # at start the claims are fresh (not stale yet): only the heartbeat can repair them
    try:
        deadline = time.monotonic() + STARTUP_DEADLINE
        while pending_index_jobs(session) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pending_index_jobs(session) == 0, "the dead worker's jobs were never taken over"
    finally:
        worker.stop()
    assert {hit["id"] for hit in find(quiet, lan, "phan so")["hits"]} == set(ids)


def test_a_live_workers_heartbeat_keeps_its_jobs(session: Session) -> None:
    jobs.enqueue(session, "fixity", {})
    jobs.enqueue(session, "fixity", {})
    session.commit()
    mine, theirs = jobs.claim(session, "alive"), jobs.claim(session, "dead")
    assert mine is not None and theirs is not None
    session.execute(update(Job).values(locked_at=utcnow() - timedelta(minutes=5)))
    session.commit()
    assert jobs.renew(session, "alive") == 1
    assert jobs.requeue_stale(session, timedelta(minutes=1)) == 1  # the dead one's only
    states = dict(session.execute(select(Job.id, Job.state)).all())
    assert states == {mine.id: "running", theirs.id: "queued"}


def test_a_long_recording_or_scan_never_holds_up_the_index(
    quiet: TestClient, world: World, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recordings and scans run in the worker's own lane: while one is being made (held here until the
    test lets go), a plan uploaded meanwhile is indexed and found."""
    import threading

    from flows.renditions import recording

    busy, release = threading.Event(), threading.Event()

    def a_long_encode(state: object, worker: str) -> int:
        busy.set()
        release.wait(STARTUP_DEADLINE)
        return 0

    monkeypatch.setattr(recording, "run_one", a_long_encode)
    hoso = quiet.app.state.hoso  # type: ignore[attr-defined]
    hoso.settings = hoso.settings.model_copy(update={"rendition_worker": True})  # the suite's default is off
    worker = Worker(hoso)
    worker.start()
    try:
        assert busy.wait(STARTUP_DEADLINE), "the recordings lane never ran"
        lan = login(quiet, "gv.lan")
        plan = upload(quiet, lan, "khbd.pdf", lesson_plan_pdf("Hình thang"), title="Hình thang")
        deadline = time.monotonic() + STARTUP_DEADLINE
        while not find(quiet, lan, "hinh thang")["hits"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [hit["id"] for hit in find(quiet, lan, "hinh thang")["hits"]] == [plan]
        assert not release.is_set()  # found while the long encode still held its lane
    finally:
        release.set()
        worker.stop()
