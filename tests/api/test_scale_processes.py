"""The production shape on PostgreSQL, as separate OS processes: two `hoso serve` (one of them with
`--workers 2`) without a worker inside, and `hoso worker` apart (issue #17).

What one process indexed, another finds (the PostgreSQL search engine is shared); a job runs once
however many processes could take it; a worker killed with its job claimed leaves a lease that the
next worker takes over and finishes.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from archive.db import utcnow
from archive.models import Job, JobState
from flows.settings import Settings
from retention.models import FixityRun
from tests.api.test_cli import hoso_env
from tests.api.test_server_process import Server, wait_until
from tests.conftest import PG_URL, STARTUP_DEADLINE
from tests.factories import World, lesson_plan_pdf, meta

pytestmark = pytest.mark.skipif(not PG_URL, reason="several nodes share PostgreSQL (HOSO_TEST_DATABASE_URL)")
SHARED = {"HOSO_SEARCH_ENGINE": "postgres", "HOSO_JOB_LEASE_SECONDS": "2"}


class WorkerProcess:
    """`hoso worker` in its own process; its job claims carry its name (host:pid:worker)."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings, self.log = settings, log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        assert self.proc is not None
        return f"{socket.gethostname()}:{self.proc.pid}:worker"

    def start(self) -> None:
        env = hoso_env(self.settings, **SHARED)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "worker"], env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        up = wait_until(lambda: "đang chạy" in self.log.read_text() or self.proc.poll() is not None, STARTUP_DEADLINE)
        if not up:
            raise RuntimeError("the worker did not start")
        assert self.proc.poll() is None, self.log.read_text()[-2000:]

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


@pytest.fixture
def nodes(settings: Settings, world: World, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    # the nodes share PostgreSQL (records, jobs, leases, sessions, throttles, uploads, the search index)
    # and the store (a folder here, S3 in production); the search engine's folder is never used
    one = Server(settings, tmp_path / "web1.log", SHARED, ("--workers", "2", "--no-worker"))
    two = Server(settings, tmp_path / "web2.log", SHARED, ("--no-worker",))
    try:
        one.start()
        two.start()
        yield one, two
    finally:
        one.stop()
        two.stop()


@pytest.fixture
def worker(settings: Settings, tmp_path: Path) -> Iterator[WorkerProcess]:
    started = WorkerProcess(settings, tmp_path / "worker.log")
    started.start()
    yield started
    started.stop()


def auth(server: Server, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token(username)}"}


def upload(server: Server, headers: dict[str, str], title: str) -> str:
    response = httpx.post(
        f"{server.url}/api/v1/records",
        headers=headers,
        files={"metadata": (None, json.dumps(meta(title=title))), "file": ("khbd.pdf", lesson_plan_pdf(title))},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def found(server: Server, headers: dict[str, str], q: str) -> set[str]:
    response = httpx.get(f"{server.url}/api/v1/search", headers=headers, params={"q": q}, timeout=60)
    assert response.status_code == 200, response.text
    return {hit["id"] for hit in response.json()["hits"]}


def fixity_runs(session: Session) -> int:
    session.commit()
    return session.scalar(select(func.count()).select_from(FixityRun).where(FixityRun.finished_at.is_not(None))) or 0


def finished(session: Session, job_id: int) -> Job | None:
    """The job once it is done (None before): its run's row is finished a moment before the job is."""
    session.commit()
    job = session.get(Job, job_id, populate_existing=True)
    return job if job is not None and job.state == JobState.done else None


def test_two_web_processes_and_a_worker_share_search_and_jobs(
    nodes: tuple[Server, Server], worker: WorkerProcess, settings: Settings, engine: Engine, session: Session
) -> None:
    one, two = nodes
    assert "Started parent process" in one.log.read_text()  # uvicorn's supervisor of the two children
    lan_one, lan_two = auth(one, "gv.lan"), auth(two, "gv.lan")
    first = upload(one, lan_one, "Kế hoạch bài dạy: Đường tròn")
    assert wait_until(lambda: first in found(two, lan_two, "duong tron")), "not searchable on the other node"
    assert found(one, lan_one, "Đường tròn") == {first}

    # a fixity run asked for on one node runs once, in the worker process
    queued = httpx.post(f"{two.url}/api/v1/fixity", headers=auth(two, "ht.hoa"), timeout=60)
    assert queued.status_code == 202, queued.text
    assert wait_until(lambda: finished(session, queued.json()["job_id"]) is not None)
    job = finished(session, queued.json()["job_id"])
    assert job is not None and job.attempts == 1 and job.locked_by == worker.name and fixity_runs(session) == 1

    # the worker dies holding a job (its claim is what a SIGKILL right after claiming leaves) …
    dead = worker.name
    worker.kill()
    queued = httpx.post(f"{one.url}/api/v1/fixity", headers=auth(one, "ht.hoa"), timeout=60)
    assert queued.status_code == 202, queued.text
    session.execute(
        update(Job)
        .where(Job.id == queued.json()["job_id"])
        .values(state=JobState.running, locked_by=dead, locked_at=utcnow(), attempts=1)
    )
    session.commit()
    second = upload(two, lan_two, "Kế hoạch bài dạy: Hình vuông")  # queued while no worker runs
    assert second not in found(one, lan_one, "hinh vuong")
    # … and the next worker, on any machine, takes its lease over once it lapses and finishes it
    worker.start()
    assert wait_until(lambda: finished(session, queued.json()["job_id"]) is not None)
    job = finished(session, queued.json()["job_id"])
    assert job is not None and job.locked_by == worker.name != dead and fixity_runs(session) == 2
    assert wait_until(lambda: second in found(one, lan_one, "hinh vuong"))


def test_reindex_fills_the_postgres_index_from_the_database(settings: Settings, world: World) -> None:
    """`hoso reindex` rebuilds the shared index (derived data) from the records alone."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.api.test_cli import hoso
    from tests.factories import login
    from tests.search.test_search_api import find
    from tests.search.test_search_api import upload as upload_here

    shared = settings.model_copy(update={"search_engine": "postgres", "index_worker": False})
    with TestClient(create_app(shared)) as client:
        lan = login(client, "gv.lan")
        made = {upload_here(client, lan, f"khbd-{n}.pdf", lesson_plan_pdf(f"Tam giác {n}")) for n in range(2)}
        assert find(client, lan, "tam giac")["total"] == 0  # no worker ran: nothing indexed yet
        rebuilt = hoso(settings, "reindex", env=hoso_env(settings, **SHARED))
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert "2" in rebuilt.stdout and "postgres" in rebuilt.stdout
        assert {hit["id"] for hit in find(client, lan, "tam giac")["hits"]} == made
