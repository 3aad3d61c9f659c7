"""Ingest through the API with 20 concurrent uploaders, beside 20 concurrent raw puts (issue #17).

bench/ingest.py times one uploader through the service layer. This one times what a district's
morning looks like: `--clients` teachers uploading 100–300 KB lesson plans at once over HTTP
(`POST /api/v1/records`: spool, hash, sniff, checks, content-addressed put, sidecar, one
transaction with its audit event, the index job queued), each sending its next when the last was
acknowledged, against real `hoso serve` processes on PostgreSQL. The baseline is the same number
of threads putting the same-sized bytes straight into the same store (`ObjectStore.put`): what the
store itself can take at that concurrency. Goal: hoso ≥ 0.5× the raw put's documents per second.

Shapes: 1 process (the worker inside, the embedded default), and 2 web processes + 1 worker (the
worker indexes beside the uploads, as in production). Stores: S3 (moto's server in its own
process, over HTTP) and the folder store.

    .venv/bin/python bench/ingest_api.py --docs 400     # PostgreSQL at HOSO_BENCH_DATABASE_URL or 127.0.0.1
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))

import httpx  # noqa: E402
from load import Archive, clients, free_port  # noqa: E402

from archive.storage import make_store  # noqa: E402
from flows.settings import Settings  # noqa: E402
from tests.factories import pdf_bytes  # noqa: E402

TWO = [["serve", "--no-worker"], ["serve", "--no-worker"], ["worker"]]


def store_settings(env: dict[str, str], folder: Path) -> Settings:
    """The store the archive's processes use, from the same environment (S3 when it names one)."""
    s3: dict[str, Any] = {}
    if "HOSO_S3_ENDPOINT" in env:
        s3 = {
            "s3_endpoint": env["HOSO_S3_ENDPOINT"],
            "s3_bucket": env["HOSO_S3_BUCKET"],
            "s3_access_key": env["HOSO_S3_ACCESS_KEY"],
            "s3_secret_key": env["HOSO_S3_SECRET_KEY"],
            "s3_secure": False,
            "s3_region": env["HOSO_S3_REGION"],
        }
    return Settings(data_dir=folder, secret_key="bench", **s3)


def raw_puts(settings: Settings, docs: list[bytes], concurrency: int) -> float:
    """Documents per second of `concurrency` threads putting `docs` into the store."""
    store = make_store(settings)
    store.put("raw/warm.pdf", io.BytesIO(docs[0]), len(docs[0]), content_type="application/pdf")

    def put(i: int) -> None:
        store.put(f"raw/{i}.pdf", io.BytesIO(docs[i]), len(docs[i]), content_type="application/pdf")

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(put, range(len(docs))))
    return len(docs) / (time.perf_counter() - started)


async def api_uploads(urls: list[str], n: int, concurrency: int) -> tuple[float, int]:
    """Documents per second of `concurrency` clients uploading `n` plans in all; and the errors."""
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    async with httpx.AsyncClient(timeout=300, limits=limits) as http:
        pool = await clients(http, urls, concurrency)
        await pool[0].upload("Kế hoạch bài dạy khởi động")  # the first request's imports and caches
        left, errors = n, 0

        async def loop(client: object) -> None:
            nonlocal left, errors
            while left > 0:
                left -= 1
                response = await client.upload(f"Kế hoạch bài dạy số {left}")  # type: ignore[attr-defined]
                errors += response.status_code != 201

        started = time.perf_counter()
        await asyncio.gather(*(loop(c) for c in pool))
        return n / (time.perf_counter() - started), errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=400, help="documents per measurement")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--stores", default="s3,folder")
    args = parser.parse_args()
    pg = os.environ.get("HOSO_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    rng = random.Random(3)
    docs = [pdf_bytes(f"Kế hoạch bài dạy {i}", pad=rng.randrange(100_000, 300_000)) for i in range(args.docs)]
    print(f"Ingest, {args.clients} at once: {args.docs} PDFs of 100–300 KB a measurement, PostgreSQL")
    for kind in args.stores.split(","):
        with tempfile.TemporaryDirectory(prefix=f"hoso-ingest-{kind}-") as tmp:
            archive = Archive(pg, Path(tmp))
            try:
                if kind == "folder":
                    archive.env = {k: v for k, v in archive.env.items() if not k.startswith("HOSO_S3_")}
                raw = raw_puts(store_settings(archive.env, Path(tmp) / "raw"), docs, args.clients)
                print(f"\n{kind}: raw put, {args.clients} threads      {raw:7.1f} docs/s")
                for label, shape in (("1 process, worker inside", [["serve"]]), ("2 web + 1 worker", TWO)):
                    urls = [archive.start(command, free_port()) for command in shape if command[0] == "serve"]
                    for command in shape:
                        if command[0] == "worker":
                            archive.start(command)
                    rate, errors = asyncio.run(api_uploads(urls, args.docs, args.clients))
                    print(
                        f"{kind}: hoso API, {label:<24} {rate:7.1f} docs/s, {errors} errors   "
                        f"ratio {rate / raw:.2f}  (goal ≥ 0.50)"
                    )
                    archive.stop()
            finally:
                archive.close()


if __name__ == "__main__":
    main()
