"""Retention at scale: the sweep over a million records' metadata, and fixity beside `sha256sum`.

1. Sweep: N synthetic records (SQLite, the embedded default) get their term computed and those
   past it moved to review — set-based SQL, two statements for the whole table. Prints seconds.
2. Fixity: M blobs in the folder store are re-hashed by `hoso fixity`'s code path (stream from the
   store, hash in a thread pool, compare, record the run, walk the audit chain) and, as the
   baseline, by coreutils `sha256sum` over the very same files; both with a warm page cache.
   Prints MB/s and the ratio. Goal (issue #4): ≥ 70% of sha256sum.

    make bench     # or: .venv/bin/python bench/retention.py --records 1000000 --blobs 200 --blob-mb 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

import migrations as migrate  # noqa: E402
from archive import seed  # noqa: E402
from archive.db import make_engine, make_sessionmaker  # noqa: E402
from archive.folder_store import FolderStore  # noqa: E402
from archive.models import Blob, Person, Record, RecordType, School  # noqa: E402
from archive.storage import blob_key  # noqa: E402
from retention import fixity  # noqa: E402
from retention import service as retention  # noqa: E402


def sweep_bench(work: Path, n: int) -> None:
    url = f"sqlite:///{work / 'sweep.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        seed.seed_record_types(session)
        session.add(School(code="BENCH", name="Trường Thử"))
        session.add(Person(username="gv.bench", full_name="Giáo viên Thử"))
        session.commit()
        school = session.scalar(select(School.id))
        author = session.scalar(select(Person.id))
        types = list(session.scalars(select(RecordType.id)))
        now = datetime.now(UTC)
        start = time.perf_counter()
        chunk = 50_000
        for offset in range(0, n, chunk):
            rows = [
                {
                    "id": str(uuid.UUID(int=i)),
                    "school_id": school,
                    "record_type_id": types[i % len(types)],
                    "author_id": author,
                    "title": f"Hồ sơ {i}",
                    "school_year": f"{1990 + i % 36}-{1991 + i % 36}",
                    "status": "approved",
                    "doc_metadata": {},
                    "current_version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(offset, min(n, offset + chunk))
            ]
            session.execute(insert(Record), rows)  # core insert: no per-row change tracking
            session.commit()
        print(f"  {n:,} synthetic records written in {time.perf_counter() - start:.1f} s (setup, not measured)")
        start = time.perf_counter()
        result = retention.sweep(session)
        first = time.perf_counter() - start
        start = time.perf_counter()
        again = retention.sweep(session)
        second = time.perf_counter() - start
    engine.dispose()
    print(
        f"Sweep: {n:,} records — first sweep {first:.1f} s (computed {result['computed']:,}, "
        f"moved to review {result['moved_to_review']:,}); next sweep {second:.1f} s "
        f"(moved {again['moved_to_review']:,})"
    )


def fixity_bench(work: Path, blobs: int, blob_mb: int) -> None:
    url = f"sqlite:///{work / 'fixity.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    store = FolderStore(work / "objects")
    paths = []
    with sessions() as session:
        for i in range(blobs):
            data = os.urandom(blob_mb * 1024 * 1024)
            import hashlib

            sha = hashlib.sha256(data).hexdigest()
            spool = work / f"spool-{i}"
            spool.write_bytes(data)
            store.put_file(blob_key(sha), spool, sha, len(data))
            session.add(Blob(sha256=sha, size=len(data), media_type="application/octet-stream"))
            paths.append(str(Path(store.root, *blob_key(sha).split("/"))))
        session.commit()
        total_mb = blobs * blob_mb
        subprocess.run(["sha256sum", *paths], check=True, capture_output=True)  # warm the page cache
        start = time.perf_counter()
        subprocess.run(["sha256sum", *paths], check=True, capture_output=True)
        baseline = total_mb / (time.perf_counter() - start)
        start = time.perf_counter()
        run = fixity.run(session, store, started_by="bench")
        ours = total_mb / (time.perf_counter() - start)
        assert run.state == "ok", run.mismatched
    engine.dispose()
    print(
        f"Fixity: {blobs} blobs × {blob_mb} MB — sha256sum {baseline:7.1f} MB/s   hoso fixity {ours:7.1f} MB/s   "
        f"ratio {ours / baseline:5.0%}  (goal: ≥ 70%)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--blobs", type=int, default=200)
    parser.add_argument("--blob-mb", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hoso-bench-retention-"))
    try:
        print("Retention benchmark (SQLite + folder store, one process)")
        sweep_bench(work, args.records)
        fixity_bench(work, args.blobs, args.blob_mb)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
