"""Word → PDF renditions: hoso's rendition job beside `soffice --convert-to pdf` run cold per file.

The same N Vietnamese lesson plans (DOCX, two pages with a table) are converted twice:

- baseline: one `soffice --headless --convert-to pdf` process per file, as a script would do it
  (its profile made beforehand, untimed, so the baseline is not charged a first start);
- hoso: the files uploaded through `archive.ingest` (untimed: that queues their rendition jobs),
  then the worker's step `flows.renditions.run.run_batch` until the queue is empty — claim, read
  each original with its hash checked, convert `rendition_batch` files per office process, identify
  each PDF (fido), store it and commit it as a derived version with its sidecar and audit event.

Goal (issue #16): ≥ 2× the cold CLI's documents per second.

    .venv/bin/python bench/render.py            # --docs 16 --batch 8
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import docx  # noqa: E402

import migrations as migrate  # noqa: E402
from archive import ingest, seed, service  # noqa: E402
from archive.db import make_engine, make_sessionmaker  # noqa: E402
from archive.models import Person, Role  # noqa: E402
from archive.schemas import MembershipCreate, PersonCreate, RecordCreate, SchoolCreate  # noqa: E402
from archive.spool import spool_stream  # noqa: E402
from archive.storage import make_store  # noqa: E402
from flows.indexing import Describer  # noqa: E402
from flows.renditions import libreoffice  # noqa: E402
from flows.renditions import run as renditions  # noqa: E402
from flows.settings import Settings  # noqa: E402
from flows.state import AppState  # noqa: E402
from search.engine import open_engine  # noqa: E402


def plan(i: int) -> bytes:
    document = docx.Document()
    document.add_heading(f"Kế hoạch bài dạy số {i}: Phép cộng và phép trừ số nguyên", 1)
    for j in range(30):
        document.add_paragraph(f"Hoạt động {j}: học sinh thảo luận nhóm, ghi kết quả vào vở, trình bày trước lớp.")
    table = document.add_table(rows=6, cols=4)
    for row in table.rows:
        for cell in row.cells:
            cell.text = "Nội dung"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def cold_cli(files: list[Path], out: Path, profile: Path) -> float:
    soffice = libreoffice.executable()
    base = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf"]
    subprocess.run([*base, "--outdir", str(out / "warm"), str(files[0])], capture_output=True, check=True)
    start = time.perf_counter()
    for f in files:
        subprocess.run([*base, "--outdir", str(out), str(f)], capture_output=True, check=True)
    elapsed = time.perf_counter() - start
    made = len(list(out.glob("*.pdf")))
    assert made == len(files), f"the CLI made {made} of {len(files)} PDFs"
    return elapsed


def hoso_job(data: Path, blobs: list[bytes], batch: int) -> float:
    data.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data, secret_key="bench-" + "x" * 40, rendition_batch=batch)
    migrate.upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    store = make_store(settings)
    with sessions() as session:
        seed.seed_record_types(session)
        service.create_school(session, None, SchoolCreate(code="BENCH", name="Trường thử"))
        teacher = service.create_person(
            session, None, PersonCreate(username="gv.bench", full_name="GV", password="mat-khau-dai-123")
        )
        service.add_membership(session, None, teacher, MembershipCreate(role=Role.teacher, school_code="BENCH"))
        meta = RecordCreate(school_code="BENCH", record_type="lesson_plan", title="KHBD", school_year="2025-2026")
        for blob in blobs:
            actor = session.get(Person, teacher.id)
            assert actor is not None
            prepared = ingest.prepare_record(session, actor, meta)
            with spool_stream(io.BytesIO(blob), settings.tmp_dir, settings.max_upload_bytes) as spool:
                ingest.create_record(session, store, actor, prepared, spool.finish(), "ke-hoach.docx")
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        store=store,
        search=open_engine(settings.search_engine, settings.data_dir),
        describe=Describer(store, settings),
    )
    libreoffice.version()  # asked once per process, as the worker does; not the conversion's cost
    start = time.perf_counter()
    done = 0
    while taken := renditions.run_batch(state, "bench"):
        done += taken
    elapsed = time.perf_counter() - start
    assert done == len(blobs), f"hoso took {done} of {len(blobs)} jobs"
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8, help="documents per office process (rendition_batch)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hoso-bench-render-"))
    try:
        blobs = [plan(i) for i in range(args.docs)]
        files = []
        for i, blob in enumerate(blobs):
            (work / "in").mkdir(exist_ok=True)
            files.append(work / "in" / f"plan{i}.docx")
            files[-1].write_bytes(blob)
        cli_s = cold_cli(files, work / "cli", work / "cli-profile")
        hoso_s = hoso_job(work / "hoso", blobs, args.batch)
        cli_rate, hoso_rate = args.docs / cli_s, args.docs / hoso_s
        print(
            f"Word→PDF  {args.docs} plans, {libreoffice.version()}\n"
            f"  soffice --convert-to pdf, cold per file  {cli_rate:6.2f} docs/s\n"
            f"  hoso rendition job (batch {args.batch:>2})          {hoso_rate:6.2f} docs/s\n"
            f"  ratio {hoso_rate / cli_rate:5.2f}  (goal ≥ 2.00)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
