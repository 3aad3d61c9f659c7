"""Ingest throughput: hoso's whole ingest path beside a raw ObjectStore.put of the same bytes.

1,000 lesson-plan-sized PDFs (100–300 KB) go through the service layer (spool + hash + sniff +
checks + content-addressed put + sidecar + one DB transaction with its audit event) and, as the
baseline, straight into `ObjectStore.put`. Run on the folder store and on S3 (moto's server in
its own process, over HTTP). Goal (issue #2): ingest at ≥50% of the raw put throughput.

    make bench            # or: .venv/bin/python bench/ingest.py --docs 1000
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

import migrations as migrate  # noqa: E402
from archive import ingest, seed, service  # noqa: E402
from archive.db import make_engine, make_sessionmaker  # noqa: E402
from archive.models import Person, Role  # noqa: E402
from archive.schemas import MembershipCreate, PersonCreate, RecordCreate, SchoolCreate  # noqa: E402
from archive.spool import spool_stream  # noqa: E402
from archive.storage import make_store  # noqa: E402
from flows.settings import Settings  # noqa: E402
from tests.factories import pdf_bytes  # noqa: E402


def documents(n: int, seed_value: int) -> list[bytes]:
    rng = random.Random(seed_value)
    return [pdf_bytes(f"doc {seed_value}-{i}", pad=rng.randrange(100_000, 300_000)) for i in range(n)]


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    return proc, f"127.0.0.1:{port}"


def bench_store(label: str, settings: Settings, n: int) -> tuple[float, float]:
    migrate.upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    session = make_sessionmaker(engine)()
    seed.seed_record_types(session)
    service.create_school(session, None, SchoolCreate(code="BENCH", name="Trường thử"))
    teacher = service.create_person(
        session, None, PersonCreate(username="gv.bench", full_name="GV", password="mat-khau-dai-123")
    )
    service.add_membership(session, None, teacher, MembershipCreate(role=Role.teacher, school_code="BENCH"))
    store = make_store(settings)

    raw_docs, ingest_docs = documents(n, 1), documents(n, 2)
    total_mb = sum(map(len, raw_docs)) / 1e6

    start = time.perf_counter()
    for i, data in enumerate(raw_docs):
        store.put(f"raw/{i}.pdf", io.BytesIO(data), len(data), content_type="application/pdf")
    raw_s = time.perf_counter() - start

    meta = RecordCreate(school_code="BENCH", record_type="lesson_plan", title="KHBD", school_year="2025-2026")
    session.close()
    sessions = make_sessionmaker(engine)
    start = time.perf_counter()
    for data in ingest_docs:
        with sessions() as request_session:  # one session per upload, as the API has per request
            actor = request_session.get(Person, teacher.id)
            assert actor is not None
            prepared = ingest.prepare_record(request_session, actor, meta)
            with spool_stream(io.BytesIO(data), settings.tmp_dir, settings.max_upload_bytes) as spool:
                ingest.create_record(request_session, store, actor, prepared, spool.finish(), "ke-hoach.pdf")
    ingest_s = time.perf_counter() - start
    engine.dispose()

    raw_rate, ingest_rate = n / raw_s, n / ingest_s
    print(
        f"{label:<8} raw put {raw_rate:8.1f} docs/s ({total_mb / raw_s:7.1f} MB/s)   "
        f"hoso ingest {ingest_rate:8.1f} docs/s   ratio {ingest_rate / raw_rate:5.2f}  (goal ≥ 0.50)"
    )
    return raw_rate, ingest_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--stores", default="folder,s3")
    args = parser.parse_args()
    print(f"Ingest benchmark: {args.docs} PDFs of 100–300 KB, SQLite metadata, one process")
    for kind in args.stores.split(","):
        work = Path(tempfile.mkdtemp(prefix=f"hoso-bench-{kind}-"))
        base = Settings(data_dir=work, secret_key="bench", database_url=os.environ.get("HOSO_BENCH_DATABASE_URL"))
        moto = None
        try:
            if kind == "s3":
                moto, endpoint = start_moto()
                base = base.model_copy(
                    update={
                        "s3_endpoint": endpoint,
                        "s3_access_key": "bench",
                        "s3_secret_key": "bench",
                        "s3_secure": False,
                        "s3_region": "us-east-1",
                    }
                )
            bench_store(kind, base, args.docs)
        finally:
            if moto:
                moto.terminate()
                moto.wait()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
