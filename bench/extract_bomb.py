"""Memory under a decompression-bomb DOCX: hoso's bounded extraction and ingest check beside python-docx.

Issue #13 §4: an 88 KB DOCX with a 60 MB document.xml took the server from 414 MB to 1.78 GB RSS.
Each step runs in a fresh Python process on the same file and reports that process's peak RSS
(`ru_maxrss`) and wall time, beside an idle process that imports the same modules:

- python-docx (the extraction before the fix: `docx.Document(path)` and every paragraph's text);
- hoso's extraction now (`search.extract.extract_text`: a pull parser, 16 MiB byte cap, MAX_CHARS);
- hoso's ingest check (`archive.ooxmlcheck.check`: the directory, then an inflate pass in 1 MiB chunks).

    .venv/bin/python bench/extract_bomb.py            # --mb 60 (document.xml size), the issue's file
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.factories import docx_bomb  # noqa: E402

PRELUDE = """
import resource, sys, time
sys.path.insert(0, {root!r})
import docx, lxml.etree, zipfile
from archive import mediatype, ooxmlcheck
from archive.exceptions import HosoError
from search import extract
path = {path!r}
start = time.perf_counter()
"""
STEPS = {
    "idle (imports only)": "result = 'nothing read'",
    "python-docx (before)": "result = len(''.join(p.text for p in docx.Document(path).paragraphs))",
    "hoso extraction (after)": "result = len(extract.extract_text(__import__('pathlib').Path(path), mediatype.DOCX))",
    "hoso ingest check": """
try:
    ooxmlcheck.check(__import__('pathlib').Path(path), 'bomb.docx')
    result = 'accepted'
except HosoError as e:
    result = 'refused: ' + e.en[:60]
""",
}
REPORT = """
elapsed = time.perf_counter() - start
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, f"{elapsed:.2f}", result, sep="\\t")
"""


def run(step: str, path: Path) -> tuple[int, float, str]:
    code = PRELUDE.format(root=str(ROOT), path=str(path)) + STEPS[step] + REPORT
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    rss, seconds, result = out.strip().split("\t", 2)
    return int(rss), float(seconds), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=60, help="size of the inflated document.xml in MB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bomb.docx"
        path.write_bytes(docx_bomb(args.mb * 1024 * 1024))
        print(f"bomb: {path.stat().st_size / 1024:,.0f} KB on disk, document.xml {args.mb} MB inflated")
        print(f"{'step':<26} {'peak RSS':>10} {'time':>8}  result")
        figures = {}
        for step in STEPS:
            rss, seconds, result = run(step, path)
            figures[step] = rss
            print(f"{step:<26} {rss:>7} MB {seconds:>7.2f}s  {result}")
        idle = figures["idle (imports only)"]
        before = figures["python-docx (before)"] - idle
        after = figures["hoso extraction (after)"] - idle
        print(f"extraction above idle: python-docx {before} MB, hoso {after} MB (ratio {before / max(after, 1):.0f}×)")


if __name__ == "__main__":
    main()
