"""Mixed load on the province shape: one `hoso serve` beside two web processes and a worker (issue #17).

The archive runs as real OS processes on PostgreSQL (a fresh database) and S3 (moto's server in its
own process), with the shared search engine (`HOSO_SEARCH_ENGINE=postgres`). The client is asyncio
httpx on the same box, so the figures are what a 2-core machine does with its own client on it.

1. Closed loop: 50 clients (30 upload 100–300 KB plans, 10 search, 5 list, 5 download), each sending
   its next request when the last one answered, for `--seconds`: requests/s, p50/p95/p99 per kind,
   errors — against 1 process (worker inside) and against 2 web processes + 1 worker. Goal: ≥ 1.6×.
2. Open loop on the two-process shape: requests arrive on a fixed schedule (10 uploads/s, 10
   searches/s, 2 lists/s) whether or not earlier ones answered; latency counts from the scheduled
   time (so a queue building up is measured, not hidden). Goals: upload p95 ≤ 1 s, search and list
   p95 ≤ 300 ms.
3. Consistency: uploads sent to one web process are searched for on the other until found: the lag
   from acknowledgement to found (goal ≤ 5 s), and whether any job ran twice.

    .venv/bin/python bench/load.py --seconds 45     # PostgreSQL at HOSO_BENCH_DATABASE_URL or 127.0.0.1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))

import httpx  # noqa: E402
from ingest import start_moto  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

import migrations as migrate  # noqa: E402
from archive import seed, service  # noqa: E402
from archive.db import make_engine, make_sessionmaker  # noqa: E402
from archive.models import Job, Role  # noqa: E402
from archive.schemas import MembershipCreate, PersonCreate, SchoolCreate  # noqa: E402
from tests.factories import pdf_bytes  # noqa: E402

PASSWORD = "mat-khau-bench-2026"
TEACHERS = 30
MIX = {"upload": 30, "search": 10, "list": 5, "download": 5}
WORDS = ["phân số", "hình học", "đường tròn", "tiếng việt", "khoa học", "lịch sử", "địa lý", "âm nhạc"]


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, seconds: float, ok: bool, detail: str = "") -> None:
        self.latencies[kind].append(seconds)
        if not ok:
            self.errors[kind] += 1
            self.samples.setdefault(kind, detail[:200])

    def count(self) -> int:
        return sum(len(v) for v in self.latencies.values())


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Archive:
    """The database, the store and the processes of one run."""

    def __init__(self, pg: str, folder: Path) -> None:
        self.folder, self.admin = folder, make_engine(pg).execution_options(isolation_level="AUTOCOMMIT")
        self.name = f"hoso_bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = pg.rsplit("/", 1)[0] + "/" + self.name
        migrate.upgrade(self.url)
        self.moto, endpoint = start_moto()
        self.env = {
            **os.environ,
            "HOSO_DATA_DIR": str(folder),
            "HOSO_DATABASE_URL": self.url,
            "HOSO_S3_ENDPOINT": endpoint,
            "HOSO_S3_BUCKET": "hoso-bench",
            "HOSO_S3_ACCESS_KEY": "bench",
            "HOSO_S3_SECRET_KEY": "bench-secret",
            "HOSO_S3_SECURE": "false",
            "HOSO_S3_REGION": "us-east-1",
            "HOSO_SEARCH_ENGINE": "postgres",
            "HOSO_SECRET_KEY": "bench-" + uuid.uuid4().hex,
            "HOSO_RETENTION_SWEEP_HOURS": "0",
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self._people()

    def _people(self) -> None:
        sessions = make_sessionmaker(make_engine(self.url))
        with sessions() as session:
            seed.seed_record_types(session)
            service.create_school(session, None, SchoolCreate(code="THA", name="Trường Tiểu học An Bình"))
            for n in range(TEACHERS):
                person = service.create_person(
                    session, None, PersonCreate(username=f"gv{n:02d}", full_name=f"Giáo viên {n}", password=PASSWORD)
                )
                service.add_membership(session, None, person, MembershipCreate(role=Role.teacher, school_code="THA"))
            session.commit()

    def start(self, args: list[str], port: int | None = None) -> str:
        command = [sys.executable, "-m", "api.cli", *args] + (["--port", str(port)] if port else [])
        log = (self.folder / f"{args[0]}-{port}.log").open("ab")
        self.procs.append(subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT))
        if port is None:
            return ""
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    return url
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"{args} did not start")

    def peak_rss_mb(self) -> float:
        """The largest VmHWM among the archive's processes and their children (uvicorn's)."""
        peak = 0
        for proc in self.procs:
            pids = [proc.pid, *_children(proc.pid)]
            for pid in pids:
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
                peak = max(peak, int(line.split()[1]))
        return peak / 1024

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=30)
        self.procs = []

    def jobs_run_twice(self) -> int:
        with make_engine(self.url).connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Job).where(Job.attempts > 1)).scalar() or 0)

    def close(self) -> None:
        self.stop()
        self.moto.terminate()
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(c) for c in found] + [g for c in found for g in _children(int(c))]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def word(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(9))


class Client:
    """One teacher's requests; `urls` are the web processes, taken in turn."""

    def __init__(self, http: httpx.AsyncClient, token: str, urls: list[str], rng: random.Random) -> None:
        self.http, self.urls, self.rng = http, urls, rng
        self.headers = {"Authorization": f"Bearer {token}"}
        self.turn = 0
        self.records: list[str] = []

    def url(self) -> str:
        self.turn += 1
        return self.urls[self.turn % len(self.urls)]

    async def upload(self, title: str, url: str | None = None) -> httpx.Response:
        body = pdf_bytes(title, pad=self.rng.randrange(100_000, 300_000))
        meta = {"school_code": "THA", "record_type": "lesson_plan", "title": title, "school_year": "2025-2026"}
        meta |= {"subject": "Toán", "grade": 5, "class_name": "5A", "month": 11}
        files = {"metadata": (None, json.dumps(meta)), "file": ("khbd.pdf", body, "application/pdf")}
        response = await self.http.post(f"{url or self.url()}/api/v1/records", headers=self.headers, files=files)
        if response.status_code == 201:
            self.records.append(response.json()["id"])
        return response

    async def search(self, q: str | None = None, url: str | None = None) -> httpx.Response:
        params = {"q": q or self.rng.choice(WORDS)}
        return await self.http.get(f"{url or self.url()}/api/v1/search", headers=self.headers, params=params)

    async def list(self) -> httpx.Response:
        return await self.http.get(f"{self.url()}/api/v1/records", headers=self.headers, params={"page_size": 50})

    async def download(self) -> httpx.Response:
        if not self.records:
            return await self.list()
        record = self.rng.choice(self.records)
        return await self.http.get(f"{self.url()}/api/v1/records/{record}/content", headers=self.headers)

    async def do(self, kind: str) -> httpx.Response:
        if kind == "upload":
            return await self.upload(f"Kế hoạch bài dạy {self.rng.choice(WORDS)} {word(self.rng)}")
        return await getattr(self, kind)()


async def clients(http: httpx.AsyncClient, urls: list[str], n: int) -> list[Client]:
    made = []
    for i in range(n):
        r = await http.post(
            f"{urls[0]}/api/v1/auth/token", data={"username": f"gv{i % TEACHERS:02d}", "password": PASSWORD}
        )
        r.raise_for_status()
        made.append(Client(http, r.json()["access_token"], urls, random.Random(i)))
    return made


async def timed(tally: Tally, kind: str, call: object, started: float) -> None:
    try:
        response = await call  # type: ignore[misc]
        ok = response.status_code < 400
        tally.add(kind, time.perf_counter() - started, ok, f"{response.status_code} {response.text}")
    except httpx.HTTPError as exc:
        tally.add(kind, time.perf_counter() - started, False, repr(exc))


async def closed_loop(urls: list[str], seconds: float) -> tuple[Tally, float]:
    tally = Tally()
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        pool = await clients(http, urls, sum(MIX.values()))
        kinds = [kind for kind, n in MIX.items() for _ in range(n)]
        for c in pool[:10]:  # something to download from the start
            await c.upload("Kế hoạch bài dạy khởi động")
        deadline = time.perf_counter() + seconds

        async def loop(client: Client, kind: str) -> None:
            while time.perf_counter() < deadline:
                await timed(tally, kind, client.do(kind), time.perf_counter())

        began = time.perf_counter()
        await asyncio.gather(*(loop(c, k) for c, k in zip(pool, kinds, strict=True)))
        return tally, time.perf_counter() - began


async def open_loop(urls: list[str], seconds: float, rates: dict[str, float]) -> Tally:
    tally = Tally()
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        pool = await clients(http, urls, 20)
        for c in pool[:5]:
            await c.upload("Kế hoạch bài dạy khởi động")
        start, tasks = time.perf_counter() + 0.5, []
        for kind, rate in rates.items():
            for n in range(int(seconds * rate)):
                due = start + n / rate
                tasks.append((due, kind, pool[n % len(pool)]))
        tasks.sort(key=lambda t: t[0])
        running = []
        for due, kind, client in tasks:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            running.append(asyncio.create_task(timed(tally, kind, client.do(kind), due)))
        await asyncio.gather(*running)
    return tally


async def consistency(urls: list[str], uploads: int) -> list[float]:
    """Seconds from an upload's acknowledgement on one process to a search on the other finding it."""
    lags = []
    async with httpx.AsyncClient(timeout=120) as http:
        (client,) = await clients(http, urls, 1)
        rng = random.Random(7)
        for _ in range(uploads):
            token = word(rng)
            response = await client.upload(f"Kế hoạch bài dạy kiểm tra {token}", url=urls[0])
            response.raise_for_status()
            acked = time.perf_counter()
            while time.perf_counter() - acked < 30:
                hits = (await client.search(token, url=urls[-1])).json()["hits"]
                if any(h["id"] == response.json()["id"] for h in hits):
                    break
                await asyncio.sleep(0.1)
            lags.append(time.perf_counter() - acked)
            await asyncio.sleep(0.5)
    return lags


def report(label: str, tally: Tally, elapsed: float | None = None) -> float:
    total = tally.count()
    rate = total / elapsed if elapsed else float("nan")
    errors = sum(tally.errors.values())
    print(f"\n{label}: {total} requests" + (f", {rate:.1f} req/s" if elapsed else "") + f", {errors} errors")
    print(f"  {'kind':<9} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for kind, values in sorted(tally.latencies.items()):
        row = [pct(values, p) * 1000 for p in (50, 95, 99)]
        print(f"  {kind:<9} {len(values):>6} {row[0]:>8.0f} {row[1]:>8.0f} {row[2]:>8.0f} {tally.errors[kind]:>7}")
    for kind, sample in tally.samples.items():
        print(f"  first {kind} error: {sample}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=45)
    parser.add_argument("--open-seconds", type=float, default=30)
    parser.add_argument("--consistency-uploads", type=int, default=20)
    args = parser.parse_args()
    pg = os.environ.get("HOSO_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with tempfile.TemporaryDirectory(prefix="hoso-load-") as tmp:
        archive = Archive(pg, Path(tmp))
        try:
            one = archive.start(["serve"], free_port())
            tally, elapsed = asyncio.run(closed_loop([one], args.seconds))
            single = report("closed loop, 1 process (worker inside)", tally, elapsed)
            print(f"  peak RSS {archive.peak_rss_mb():.0f} MB")
            archive.stop()

            urls = [archive.start(["serve", "--no-worker"], free_port()) for _ in range(2)]
            archive.start(["worker"])
            tally, elapsed = asyncio.run(closed_loop(urls, args.seconds))
            double = report("closed loop, 2 web processes + 1 worker", tally, elapsed)
            print(f"  peak RSS {archive.peak_rss_mb():.0f} MB (largest process)")
            print(f"  throughput ratio 2 processes / 1: {double / single:.2f}× (goal ≥ 1.6×)")

            rates = {"upload": 10.0, "search": 10.0, "list": 2.0}
            report(f"open loop {rates} on 2 web + 1 worker", asyncio.run(open_loop(urls, args.open_seconds, rates)))
            print("  goals: upload p95 ≤ 1000 ms, search p95 ≤ 300 ms, list p95 ≤ 300 ms")

            lags = asyncio.run(consistency(urls, args.consistency_uploads))
            print(
                f"\nconsistency: upload on one process → found by search on the other: median "
                f"{statistics.median(lags):.2f} s, max {max(lags):.2f} s, over 5 s: {sum(lag > 5 for lag in lags)}"
                f"/{len(lags)}; jobs with more than one attempt: {archive.jobs_run_twice()}"
            )
        finally:
            archive.close()


if __name__ == "__main__":
    main()
