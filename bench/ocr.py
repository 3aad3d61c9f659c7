"""Scans → searchable PDF/A: hoso's OCR job beside `ocrmypdf` run by hand on the same scans.

The same N scanned pages (image-only PDFs of a học bạ strip of Vietnamese text at 300 dpi, a few
pages each) are made PDF/A-2b twice:

- baseline: the very command hoso runs (`flows.renditions.ocrmypdf.command`: `-l vie --output-type
  pdfa-2 --optimize 1`), one process per file, as a person would run it by hand;
- hoso: the files uploaded through `archive.ingest` (untimed: that checks them against TT 05 and
  queues their jobs), then the worker's step `flows.renditions.ocr.run_one` until the queue is
  empty — claim, copy each original out with its hash checked, run OCRmyPDF with its time limit
  and progress, check the XMP says PDF/A-2B, identify it (fido), store it and commit it as a
  derived version with its sidecar and audit event.

Goal (issue #16): ≥ 90% of the raw tool's pages per second (the job adds only bookkeeping).

    .venv/bin/python bench/ocr.py            # --scans 4 --pages 2
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

from PIL import Image, ImageDraw, ImageFont  # noqa: E402
from pypdf import PdfReader, PdfWriter  # noqa: E402

import migrations as migrate  # noqa: E402
from archive import ingest, seed, service  # noqa: E402
from archive.db import make_engine, make_sessionmaker  # noqa: E402
from archive.models import Person, Role  # noqa: E402
from archive.schemas import MembershipCreate, PersonCreate, RecordCreate, SchoolCreate  # noqa: E402
from archive.spool import spool_stream  # noqa: E402
from archive.storage import make_store  # noqa: E402
from flows.indexing import Describer  # noqa: E402
from flows.renditions import ocr, ocrmypdf  # noqa: E402
from flows.settings import Settings  # noqa: E402
from flows.state import AppState  # noqa: E402
from search.engine import open_engine  # noqa: E402

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DPI = 300


def scan(i: int, pages: int) -> bytes:
    """An image-only PDF of `pages` A5 pages of Vietnamese text at 300 dpi."""
    font = ImageFont.truetype(FONT, DPI * 12 // 72)
    images = []
    for p in range(pages):
        image = Image.new("RGB", (DPI * 58 // 10, DPI * 83 // 10), "white")  # A5
        draw = ImageDraw.Draw(image)
        for line in range(24):
            text = f"Học sinh số {i}.{p}.{line}: Nguyễn Văn An, lớp 5A, điểm trung bình 8,5 — xếp loại khá"
            draw.text((DPI // 2, DPI // 2 + line * DPI // 3), text, fill="black", font=font)
        images.append(image)
    raw = io.BytesIO()
    images[0].save(raw, format="PDF", resolution=DPI, save_all=True, append_images=images[1:])
    out = io.BytesIO()
    PdfWriter(clone_from=PdfReader(io.BytesIO(raw.getvalue()))).write(out)
    return out.getvalue()


def by_hand(files: list[Path], out: Path) -> float:
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for f in files:
        subprocess.run(ocrmypdf.command(f, out / f.name), capture_output=True, check=True)
    return time.perf_counter() - start


def hoso_job(data: Path, blobs: list[bytes]) -> float:
    data.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data, secret_key="bench-" + "x" * 40)
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
        meta = RecordCreate(school_code="BENCH", record_type="transcript", title="Học bạ", school_year="2025-2026")
        for blob in blobs:
            actor = session.get(Person, teacher.id)
            assert actor is not None
            prepared = ingest.prepare_record(session, actor, meta)
            with spool_stream(io.BytesIO(blob), settings.tmp_dir, settings.max_upload_bytes) as spool:
                ingest.create_record(session, store, actor, prepared, spool.finish(), "hoc-ba.pdf")
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        store=store,
        search=open_engine(settings.search_engine, settings.data_dir),
        describe=Describer(store, settings),
    )
    ocrmypdf.version()  # asked once per process, as the worker does; not the OCR's cost
    start = time.perf_counter()
    done = 0
    while taken := ocr.run_one(state, "bench"):
        done += taken
    elapsed = time.perf_counter() - start
    assert done == len(blobs), f"hoso took {done} of {len(blobs)} jobs"
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scans", type=int, default=4)
    parser.add_argument("--pages", type=int, default=2, help="pages per scan")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hoso-bench-ocr-"))
    try:
        blobs = [scan(i, args.pages) for i in range(args.scans)]
        files = []
        (work / "in").mkdir()
        for i, blob in enumerate(blobs):
            files.append(work / "in" / f"scan{i}.pdf")
            files[-1].write_bytes(blob)
        pages = args.scans * args.pages
        hand_s = by_hand(files, work / "hand")
        hoso_s = hoso_job(work / "hoso", blobs)
        hand_rate, hoso_rate = pages / hand_s, pages / hoso_s
        print(
            f"OCR → PDF/A-2b  {args.scans} scans × {args.pages} pages (A5, 300 dpi), {ocrmypdf.version()}\n"
            f"  ocrmypdf by hand, one per file   {hand_rate:6.3f} pages/s\n"
            f"  hoso OCR job                     {hoso_rate:6.3f} pages/s\n"
            f"  ratio {hoso_rate / hand_rate:5.2f}  (goal ≥ 0.90)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
