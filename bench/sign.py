"""Monthly signing throughput: hoso's whole batch beside a naive pyHanko loop over the same plans.

N lesson plans (2-page PDFs) are uploaded, submitted and approved, then signed by `hoso`'s batch
runner end to end: stamp placement, signature, the signed version stored with its DB transaction
and audit event, the approval record at the end. The baseline is what a script would do with
pyHanko directly: `SimpleSigner.load_pkcs12` once, then for each document `signers.async_sign_pdf`
(no visible stamp, no storage, no DB) one after another. Both use the same key and, at B-T, the
same RFC 3161 TSA (certomancer, served over HTTP on 127.0.0.1 from its own process, its key parsed
once instead of per stamp: `tests.pki.keep_service_keys`; without that it answers ~27 stamps/s,
which would be the ceiling of any B-T run).

Goals (issue #3): ratio ≥ 5x; ≥ 80 docs/s at B-B and ≥ 50 docs/s at B-T.

    make bench            # or: .venv/bin/python bench/sign.py --docs 500 --levels B-B,B-T
"""

from __future__ import annotations

import argparse
import asyncio
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.sign import fields, signers, timestamps  # noqa: E402

import migrations as migrate  # noqa: E402
from archive import ingest, seed, service  # noqa: E402
from archive.db import make_engine, make_sessionmaker  # noqa: E402
from archive.models import Person, Role  # noqa: E402
from archive.schemas import MembershipCreate, PersonCreate, RecordCreate, SchoolCreate  # noqa: E402
from archive.spool import spool_stream  # noqa: E402
from archive.storage import make_store  # noqa: E402
from flows.settings import Settings  # noqa: E402
from signing import batch, keys, workflow  # noqa: E402
from signing.models import Decision  # noqa: E402
from tests.factories import lesson_plan_pdf  # noqa: E402
from tests.pki import PKCS12_PASSWORD, running_pki  # noqa: E402


def month(settings: Settings, docs: list[bytes]) -> tuple[str, int]:
    """A school with N submitted and approved plans; returns the batch id and the principal's id."""
    migrate.upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        seed.seed_record_types(session)
        service.create_school(session, None, SchoolCreate(code="BENCH", name="Trường Tiểu học Thử"))
        people = {}
        for username, role in (("gv.bench", Role.teacher), ("ht.bench", Role.principal)):
            person = service.create_person(
                session, None, PersonCreate(username=username, full_name=username, password="mat-khau-dai-123")
            )
            service.add_membership(session, None, person, MembershipCreate(role=role, school_code="BENCH"))
            people[role] = person.id
    store = make_store(settings)
    meta = RecordCreate(school_code="BENCH", record_type="lesson_plan", title="KHBD", school_year="2026-2027", month=11)
    batch_id = ""
    for data in docs:
        with sessions() as session:
            teacher = session.get(Person, people[Role.teacher])
            assert teacher is not None
            prepared = ingest.prepare_record(session, teacher, meta)
            with spool_stream(io.BytesIO(data), settings.tmp_dir, settings.max_upload_bytes) as spool:
                record = ingest.create_record(session, store, teacher, prepared, spool.finish(), "ke-hoach.pdf")
            batch_id = workflow.submit(session, teacher, record.id, "2026-11", None).batch_id
    with sessions() as session:
        principal = session.get(Person, people[Role.principal])
        assert principal is not None
        items = workflow.items_of(session, batch_id)
        workflow.decide(session, principal, batch_id, [workflow.DecisionIn(i.id, Decision.approved) for i in items])
    engine.dispose()
    return batch_id, people[Role.principal]


def hoso_rate(settings: Settings, docs: list[bytes], p12: bytes, level: str) -> float:
    batch_id, principal_id = month(settings, docs)
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    key = keys.from_pkcs12(p12, PKCS12_PASSWORD)
    with sessions() as session:
        principal = session.get(Person, principal_id)
        assert principal is not None
        start = time.perf_counter()
        report = batch.sign_batch(sessions, make_store(settings), settings, batch_id, principal, key, level)
        elapsed = time.perf_counter() - start
    engine.dispose()
    assert report.signed == len(docs) and report.state == "signed", report
    return len(docs) / elapsed


def naive_rate(docs: list[bytes], p12_path: Path, tsa_url: str | None) -> float:
    signer = signers.SimpleSigner.load_pkcs12(str(p12_path), passphrase=PKCS12_PASSWORD)
    assert signer is not None
    timestamper = timestamps.HTTPTimeStamper(tsa_url) if tsa_url else None
    meta = signers.PdfSignatureMetadata(field_name="Signature", subfilter=fields.SigSeedSubFilter.PADES)

    async def loop() -> None:
        for data in docs:
            out = io.BytesIO()
            await signers.async_sign_pdf(
                IncrementalPdfFileWriter(io.BytesIO(data)), meta, signer=signer, timestamper=timestamper, output=out
            )

    start = time.perf_counter()
    asyncio.run(loop())
    return len(docs) / (time.perf_counter() - start)


def tsa_capacity(tsa_url: str, n: int = 100, in_flight: int = 8) -> float:
    """Time stamps per second the TSA itself answers (8 requests in flight): the ceiling for B-T."""
    import hashlib

    import aiohttp

    async def run() -> float:
        async with aiohttp.ClientSession() as http:
            stamper = timestamps.HTTPTimeStamper(tsa_url, session=http)
            gate = asyncio.Semaphore(in_flight)

            async def one(i: int) -> None:
                async with gate:
                    await stamper.async_timestamp(hashlib.sha256(str(i).encode()).digest(), "sha256")

            await one(-1)
            start = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(n)))
            return n / (time.perf_counter() - start)

    return asyncio.run(run())


GOALS = {"B-B": 80.0, "B-T": 50.0}


def main() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the test PKI's request log
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=500)
    parser.add_argument("--levels", default="B-B,B-T")
    args = parser.parse_args()
    print(f"Signing benchmark: {args.docs} lesson plans, RSA-2048 PKCS#12, SQLite + folder store, one process")
    docs = [lesson_plan_pdf(f"Kế hoạch bài dạy số {i + 1}") for i in range(args.docs)]
    work = Path(tempfile.mkdtemp(prefix="hoso-bench-sign-"))
    try:
        with running_pki(work / "pki", separate_process=True) as pki:  # the TSA is another process, as in life
            p12 = pki.pkcs12("principal")
            p12_path = pki.pkcs12_file("principal")
            for level in args.levels.split(","):
                tsa = pki.tsa_url if level != "B-B" else None
                data_dir = work / level
                data_dir.mkdir(parents=True)
                settings = Settings(
                    data_dir=data_dir,
                    secret_key="bench",
                    trust_roots=str(pki.root_pem_path()),
                    tsa_url=tsa,
                )
                naive = naive_rate(docs, p12_path, tsa)
                ours = hoso_rate(settings, docs, p12, level)
                goal = GOALS.get(level, 0.0)
                ceiling = f"   (the TSA alone answers {tsa_capacity(tsa):.0f} stamps/s)" if tsa else ""
                print(
                    f"{level:<5} naive pyHanko loop {naive:7.1f} docs/s   hoso batch {ours:7.1f} docs/s   "
                    f"ratio {ours / naive:5.2f}x  (goals: ≥ 5x, ≥ {goal:.0f} docs/s){ceiling}"
                )
                shutil.rmtree(data_dir, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
