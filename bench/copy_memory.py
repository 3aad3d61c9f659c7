"""Peak memory of making a copy for use from a large PDF, beside pypdf's own floor.

A BẢN SAO copy and an authenticated copy (stamped pages, the authentication page before them, the
school's seal with a timestamp) are made from one PDF of noise images (incompressible, ~50 MB) the
way flows/copies.py makes them: through spooled files, the store hashing what it stores. The
baseline is pypdf alone opening that PDF and writing it to a file (`PdfWriter(clone_from=…)`): the
stamping cannot need less, since pypdf holds the document's objects while it works. Each case runs
in its own process, so the max RSS is its own. Python's heap is measured with tracemalloc.

Measured here (2026-12, a 48 MiB source): before the fix (bytes passed between the steps) the
peak heap was 115 MiB for a BẢN SAO copy and 266 MiB for an authenticated one (max RSS 230 and
393 MiB); after, 78 and 82 MiB — pypdf's own floor is 55 MiB.

    .venv/bin/python bench/copy_memory.py            # --mb 50
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import subprocess
import sys
import tempfile
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_pdf(path: Path, mb: int) -> None:
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=(595.3, 841.9))
    size, page = 0, 0
    while size < mb * 1024 * 1024 * 0.76:  # reportlab's ASCII85 adds about a third
        image = Image.frombytes("RGB", (1100, 1100), os.urandom(1100 * 1100 * 3))
        data = io.BytesIO()
        image.save(data, format="JPEG", quality=92)
        c.drawImage(ImageReader(io.BytesIO(data.getvalue())), 20, 100, width=550, height=550)
        c.drawString(40, 60, f"Trang {page + 1}")
        c.showPage()
        size, page = size + data.tell(), page + 1
    c.save()


def run_case(case: str, source: Path, work: Path) -> None:
    from archive.folder_store import FolderStore
    from flows import copies as flow
    from flows.settings import Settings
    from retention.copies import stamp as marks
    from signing import copy_seal, keys
    from tests.pki import PKCS12_PASSWORD, running_pki

    label = marks.CopyLabel("Trường Tiểu học An Bình", "01/2026/BS", datetime.now(UTC), "Tt.Nam")
    with running_pki(work / "pki", separate_process=True) as pki:
        store = FolderStore(work / "store")
        settings = Settings(data_dir=work / "data", trust_roots=str(pki.root_pem_path()), tsa_url=pki.tsa_url)
        key = keys.from_pkcs12(pki.pkcs12("school_seal"), PKCS12_PASSWORD)
        tracemalloc.start()
        if case == "pypdf":
            from pypdf import PdfReader, PdfWriter

            with source.open("rb") as f, (work / "out.pdf").open("wb") as out:
                PdfWriter(clone_from=PdfReader(f)).write(out)
        elif case == "copy":
            with source.open("rb") as f, flow._spool(settings) as pdf:
                marks.stamp_copy(f, label, pdf)
                flow._put(store, "THA", 2026, "bench", pdf)
        else:
            with source.open("rb") as f, flow._spool(settings) as pages, flow._spool(settings) as unsigned:
                count = marks.stamp_copy(f, label, pages)
                facts = marks.Authentication(
                    "Trường Tiểu học An Bình", "Học bạ", "id", "Học bạ", "2025-2026", "phiên bản 1", "0" * 64,
                    count, "Tt.Nam", "Thanh tra", "Vt.Thu (Văn thư)", datetime.now(UTC), "01/2026/BS",
                )  # fmt: skip
                pages.seek(0)
                marks.prepend(marks.authentication_page(facts), pages, unsigned)
                pages.truncate(0)
                unsigned.seek(0)
                with flow._spool(settings) as signed:
                    copy_seal.sign_copy(settings, key, unsigned, signed, marks.seal_box(), school="THA", number="01")
                    flow._put(store, "THA", 2026, "bench", signed)
        _, peak = tracemalloc.get_traced_memory()
    print(f"{peak / 2**20:.1f} {high_water_mib():.0f}")


def high_water_mib() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not inherited across exec from the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--case")
    parser.add_argument("--source")
    parser.add_argument("--work")
    args = parser.parse_args()
    if args.case:
        run_case(args.case, Path(args.source), Path(args.work))
        return
    with tempfile.TemporaryDirectory() as d:
        source = Path(d) / "source.pdf"
        make_pdf(source, args.mb)
        print(f"source: {source.stat().st_size / 2**20:.1f} MiB PDF of noise images")
        figures = {}
        for case in ("pypdf", "copy", "authenticated"):
            work = Path(d) / case
            work.mkdir()
            done = subprocess.run(
                [sys.executable, __file__, "--case", case, "--source", str(source), "--work", str(work)],
                capture_output=True,
                text=True,
                check=True,
            )
            heap, rss = (float(x) for x in done.stdout.split()[-2:])
            figures[case] = heap
            print(f"{case:>14}: peak Python heap {heap:6.1f} MiB, max RSS {rss:4.0f} MiB")
        for case in ("copy", "authenticated"):
            print(f"{case:>14}: {figures[case] / figures['pypdf']:.2f}× pypdf's own heap peak")


if __name__ == "__main__":
    main()
