"""The real server in its own process: cut-off uploads, SIGKILL mid-ingest, memory on a 1 GB upload."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from archive import audit, sidecar
from archive.db import make_engine, make_sessionmaker
from archive.models import Blob, Record, Version
from archive.storage import blob_key, make_store
from flows.settings import Settings
from tests.api.test_cli import hoso
from tests.conftest import STARTUP_DEADLINE, free_port
from tests.factories import World, meta, mp4_bytes

BOUNDARY = "hosoTestBoundary"


class Server:
    def __init__(
        self, settings: Settings, log: Path, extra_env: dict[str, str] | None = None, args: tuple[str, ...] = ()
    ) -> None:
        self.settings, self.port, self.log = settings, free_port(), log
        self.extra_env = extra_env or {}  # e.g. the test's S3 bucket
        self.args = args  # e.g. ("--workers", "2", "--no-worker")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from tests.api.test_cli import hoso_env

        env = hoso_env(self.settings, HOSO_MAX_UPLOAD_BYTES=str(self.settings.max_upload_bytes), **self.extra_env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port), *self.args],
            env=env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        # wait on the condition (it answers, or it died), with a deadline no busy machine reaches
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def token(self, username: str = "gv.lan") -> str:
        from tests.factories import PASSWORD

        r = httpx.post(f"{self.url}/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        r.raise_for_status()
        return r.json()["access_token"]

    def peak_rss_kib(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise RuntimeError("no VmHWM")


@pytest.fixture
def server(settings: Settings, world: World, tmp_path: Path) -> Iterator[Server]:
    srv = Server(settings, tmp_path / "server.log")
    srv.start()
    yield srv
    srv.stop()


def multipart_head(metadata: dict[str, object], filename: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{json.dumps(metadata)}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()


TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()


def raw_upload(server: Server, token: str, total_file_bytes: int, send_bytes: int, pace: float = 0.0) -> None:
    """Send the request over a raw socket, stop after `send_bytes` of the file, and hang up."""
    head = multipart_head(meta(record_type="lesson_recording", title="Tiết dạy"), "tiet.mp4")
    length = len(head) + total_file_bytes + len(TAIL)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            (
                f"POST /api/v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n"
            ).encode()
            + head
        )
        first = mp4_bytes(65536)
        sent = 0
        while sent < send_bytes:
            chunk = first if sent == 0 else b"\x00" * 65536
            chunk = chunk[: send_bytes - sent]
            try:
                sock.sendall(chunk)
            except OSError:
                return  # the server went away (killed)
            sent += len(chunk)
            if pace:
                time.sleep(pace)


def counts(engine: Engine) -> tuple[int, int]:
    with make_sessionmaker(engine)() as s:
        return (
            s.scalar(select(func.count()).select_from(Record)) or 0,
            s.scalar(select(func.count()).select_from(Version)) or 0,
        )


def assert_consistent(engine: Engine, settings: Settings) -> None:
    """No row points at a missing blob; every record has its versions; the audit chain holds."""
    store = make_store(settings)
    with make_sessionmaker(engine)() as s:
        for blob in s.scalars(select(Blob)):
            assert store.exists(blob_key(blob.sha256)), f"row points at a missing blob {blob.sha256}"
        for record in s.scalars(select(Record)):
            numbers = sorted(v.number for v in s.scalars(select(Version).where(Version.record_id == record.id)))
            assert numbers == list(range(1, record.current_version + 1))
        assert audit.verify_chain(s).ok


def wait_until(condition, timeout: float = 120.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_client_disconnect_midway_stores_nothing(server: Server, engine: Engine, settings: Settings) -> None:
    raw_upload(server, server.token(), total_file_bytes=5_000_000, send_bytes=1_000_000)
    assert wait_until(lambda: not any(settings.tmp_dir.glob("*.upload")))
    assert counts(engine) == (0, 0)
    assert list(make_store(settings).list("blobs/")) == []
    # the server is still healthy and takes the next upload
    ok = httpx.post(
        f"{server.url}/api/v1/records",
        headers={"Authorization": f"Bearer {server.token()}"},
        files={"metadata": (None, json.dumps(meta(record_type="lesson_recording"))), "file": ("a.mp4", mp4_bytes())},
    )
    assert ok.status_code == 201, ok.text


def test_sigkill_mid_ingest_leaves_no_visible_record(server: Server, engine: Engine, settings: Settings) -> None:
    token = server.token()
    sender = threading.Thread(
        target=raw_upload, args=(server, token, 40_000_000, 40_000_000), kwargs={"pace": 0.002}, daemon=True
    )
    sender.start()
    assert wait_until(lambda: any(p.stat().st_size > 2_000_000 for p in settings.tmp_dir.glob("*.upload")))
    server.kill()
    sender.join(timeout=10)
    assert counts(engine) == (0, 0)
    assert_consistent(engine, settings)
    server.start()  # a restart sweeps the cut-off spool and serves again
    assert not any(settings.tmp_dir.glob("*.upload"))


def test_sigkill_at_random_moments_never_leaves_a_dangling_row(
    server: Server, engine: Engine, settings: Settings
) -> None:
    """Uploads in a loop, killed at random instants: whatever was acknowledged is whole, nothing dangles,
    and `rebuild-db` from the bucket brings back exactly the committed records (no phantom)."""
    rng = random.Random(20261123)
    acknowledged: list[str] = []
    recording = mp4_bytes(3_000_000)  # made once (ffmpeg); each upload differs by its random tail
    for _round in range(4):
        token = server.token()
        before = len(acknowledged)
        stop = threading.Event()

        def loop(stop: threading.Event = stop, token: str = token, round_: int = _round) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    r = httpx.post(
                        f"{server.url}/api/v1/records",
                        headers={"Authorization": f"Bearer {token}"},
                        files={
                            "metadata": (None, json.dumps(meta(record_type="lesson_recording", title=f"{round_}-{n}"))),
                            "file": ("a.mp4", recording + os.urandom(16 + rng.randrange(1000))),
                        },
                        timeout=30,
                    )
                    if r.status_code == 201:
                        acknowledged.append(r.json()["id"])
                except httpx.TransportError:
                    return

        worker = threading.Thread(target=loop, daemon=True)
        worker.start()
        # killed at a random moment after this round's first acknowledgement: on a loaded machine a fixed
        # delay could pass before any upload was answered, and the test would prove nothing
        assert wait_until(lambda before=before: len(acknowledged) > before, STARTUP_DEADLINE)
        time.sleep(rng.random())
        server.kill()
        stop.set()
        worker.join(timeout=30)
        assert_consistent(engine, settings)
        server.start()
    with make_sessionmaker(engine)() as s:
        present = set(s.scalars(select(Record.id)))
    assert acknowledged and set(acknowledged) <= present  # every acknowledged upload survived

    store = make_store(settings)
    assert wait_until(lambda: sidecar.is_present(store, sidecar.ALL_SEALED), STARTUP_DEADLINE)  # the worker's pass
    server.stop()
    rebuilt = settings.model_copy(update={"database_url": f"sqlite:///{settings.data_dir.parent / 'rebuilt.db'}"})
    assert hoso(rebuilt, "db", "upgrade").returncode == 0
    result = hoso(rebuilt, "rebuild-db")
    assert result.returncode == 0, result.stdout + result.stderr
    engine_b = make_engine(rebuilt.resolved_database_url)
    with make_sessionmaker(engine_b)() as s:
        assert set(s.scalars(select(Record.id))) == present  # exactly the committed records
    engine_b.dispose()


@pytest.mark.slow
def test_one_gigabyte_upload_keeps_server_memory_flat(server: Server, engine: Engine, settings: Settings) -> None:
    settings.max_upload_bytes = 3 * 1024**3
    server.stop()
    server.settings = settings
    server.start()
    httpx.get(f"{server.url}/api/v1/health", timeout=10)
    idle_mib = server.peak_rss_kib() / 1024  # the libraries loaded (pyHanko, reportlab…), before any upload
    size = 1024**3
    head = multipart_head(meta(record_type="lesson_recording", title="Tiết dạy 1 GB"), "tiet-1gb.mp4")

    def body() -> Iterator[bytes]:
        yield head
        yield mp4_bytes(1024 * 1024)
        block = b"\x00" * (1024 * 1024)
        for _ in range(size // len(block) - 1):
            yield block
        yield TAIL

    response = httpx.post(
        f"{server.url}/api/v1/records",
        headers={
            "Authorization": f"Bearer {server.token()}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(len(head) + size + len(TAIL)),
        },
        content=body(),
        timeout=600,
    )
    assert response.status_code == 201, response.text
    peak_mib = server.peak_rss_kib() / 1024
    print(f"hoso server RSS: idle {idle_mib:.1f} MiB, peak during a 1 GiB upload {peak_mib:.1f} MiB")
    assert peak_mib - idle_mib < 48, f"a 1 GiB upload grew the server by {peak_mib - idle_mib:.1f} MiB"
    versions = httpx.get(
        f"{server.url}/api/v1/records/{response.json()['id']}/versions",
        headers={"Authorization": f"Bearer {server.token()}"},
    ).json()
    assert versions[0]["size"] == size


def _sparse_blobs(settings: Settings, engine: Engine, count: int, size: int) -> None:
    """Blobs of `size` bytes that take no disk (sparse files of zeros): hashing one takes minutes."""
    from archive.folder_store import FolderStore

    store = make_store(settings)
    assert isinstance(store, FolderStore)
    with make_sessionmaker(engine)() as s:
        for n in range(count):
            sha = f"{n:064x}"  # not the bytes' hash: fixity would report it, if it ever got to the end
            path = Path(store.root, *blob_key(sha).split("/"))
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as f:
                f.truncate(size)
            s.add(Blob(sha256=sha, size=size, media_type="video/mp4"))
        s.commit()


def test_sigterm_stops_the_server_promptly_even_while_a_long_fixity_run_hashes(
    server: Server, engine: Engine, settings: Settings
) -> None:
    """It hung over 15 s: the worker's join waited for a fixity run to hash every blob."""
    from archive.models import Job
    from retention.models import FixityRun

    _sparse_blobs(settings, engine, count=2, size=256 * 1024**3)
    started = httpx.post(f"{server.url}/api/v1/fixity", headers={"Authorization": f"Bearer {server.token('ht.hoa')}"})
    assert started.status_code == 202

    def hashing() -> bool:
        with make_sessionmaker(engine)() as s:
            return s.scalar(select(func.count()).select_from(FixityRun).where(FixityRun.state == "running")) == 1

    assert wait_until(hashing, timeout=60)  # a sparse 256 GiB blob hashes for minutes
    assert server.proc is not None
    signalled = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(timeout=30)  # a generous hard deadline; the graceful path takes about a second
        print(f"hoso serve exited {time.monotonic() - signalled:.1f} s after SIGTERM during a fixity run")
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()
        raise AssertionError("hoso serve was still running 30 s after SIGTERM") from None
    log = server.log.read_text()
    assert "fixity run stopped by the shutdown" in log, log[-3000:]  # the graceful path, not a kill
    assert "background worker stopped" in log and "Application shutdown complete" in log, log[-3000:]
    with make_sessionmaker(engine)() as s:
        run = s.scalars(select(FixityRun)).one()
        job = s.scalars(select(Job).where(Job.kind == "fixity_run")).one()
    assert run.state == "interrupted" and job.state == "queued"  # the next start runs it again
