"""OCRmyPDF, run as its own process: a scan or photo to PDF/A-2b with a Vietnamese text layer.

Why OCRmyPDF rather than Tesseract and Ghostscript by hand: it rasterises each page only when it
must, runs Tesseract's text-only PDF renderer and grafts that invisible text layer under the page's
own image (the image is kept, not re-drawn), then has Ghostscript write PDF/A-2 and checks the
result's identification — the two-layer PDF/A (image + text) TT 05/2025 Điều 8 asks for. Debian's
package is used (deps/debian-run.txt says why), so it runs under Debian's python3, never imported
into hoso's virtualenv.

Like LibreOffice (libreoffice.py), the process runs in its own session and is killed as a group
at the time limit or when the worker stops: OCRmyPDF starts Tesseract and Ghostscript children,
and killing only the parent would leave them running. Progress comes from its own log (`-v 1`
writes "<page> Grafting" as each page's text layer is joined to it), read from a file as it grows,
so a 300-page register shows its pages done on the record page instead of a silent wait.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

LANGUAGES = "vie"  # Tesseract's Vietnamese model reads the Latin letters of English words too
DEFAULT_IMAGE_DPI = 300  # a photo that states no density is laid out as 300 dpi (its pixels unchanged)
POLL_SECONDS = 0.1  # how soon a finished OCRmyPDF is noticed: a longer sleep is added to every job
PROGRESS_SECONDS = 2.0  # how often pages done are handed to the caller (one small write each)
_GRAFTED = re.compile(rb"^\s*(\d+) Grafting", re.MULTILINE)

# OCRmyPDF's exit codes (ocrmypdf.ExitCode) that say the input, not the machine, is at fault
INPUT_ERRORS = {2: "bad_args", 4: "input_file", 6: "already_done_ocr", 8: "encrypted_pdf"}
INVALID_PDFA = 10


class Missing(Exception):
    """OCRmyPDF or Tesseract is not installed (deps/debian-run.txt)."""


class TimedOut(Exception):
    """OCRmyPDF ran past its time limit and was killed with its whole process group."""


class Stopped(Exception):
    """The worker is stopping: OCRmyPDF was killed, the job goes back to the queue."""


class Failed(Exception):
    """OCRmyPDF exited with an error; `code` is its exit code, `input_fault` whether the file is to blame."""

    def __init__(self, code: int, tail: str) -> None:
        super().__init__(f"ocrmypdf exited {code}: {tail}")
        self.code, self.tail = code, tail
        self.input_fault = code in INPUT_ERRORS or code == INVALID_PDFA


def executable() -> str:
    found = shutil.which("ocrmypdf")
    if found is None or shutil.which("tesseract") is None:
        raise Missing("ocrmypdf or tesseract not found")
    return found


@functools.cache
def version() -> str:
    """'OCRmyPDF 14.0.1 / Tesseract 5.3.0', as PREMIS names the tool of a normalization event."""

    def first_words(command: list[str]) -> str:
        out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else ""

    ocr = first_words([executable(), "--version"]).split("+")[0]
    tess = first_words(["tesseract", "--version"]).removeprefix("tesseract ").strip()
    return f"OCRmyPDF {ocr} / Tesseract {tess}"


def command(source: Path, out: Path, image_dpi: int | None = None, languages: str = LANGUAGES) -> list[str]:
    """The command hoso runs; the bench runs the same one by hand, so the two measure the same work."""
    args = [executable(), "-l", languages, "--output-type", "pdfa-2", "--optimize", "1", "-v", "1"]
    if image_dpi is not None:
        args += ["--image-dpi", str(image_dpi)]
    return [*args, str(source), str(out)]


def run(
    args: list[str],
    limit: float,
    stopping: threading.Event,
    log_path: Path,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Run OCRmyPDF to the end, or kill it whole at `limit` seconds or when `stopping` is set.

    `progress(pages_done)` is called when the count of grafted pages grows, at most every
    `PROGRESS_SECONDS`."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Tesseract and Ghostscript go with it
            env={**os.environ, "TMPDIR": str(log_path.parent)},  # its work folders beside the job's files
        )
    started = time.monotonic()
    reported, last_look = 0, started
    try:
        while process.poll() is None:
            now = time.monotonic()
            if now - started > limit:
                _kill_group(process)
                raise TimedOut(f"ocrmypdf ran past {limit:.0f} s")
            if stopping.is_set():
                _kill_group(process)
                raise Stopped("the worker is stopping")
            if progress is not None and now - last_look >= PROGRESS_SECONDS:
                last_look = now
                done = pages_done(log_path)
                if done > reported:
                    reported = done
                    progress(done)
            time.sleep(POLL_SECONDS)
    finally:
        if process.poll() is None:
            _kill_group(process)
    if process.returncode != 0:
        raise Failed(process.returncode, _tail(log_path))
    if progress is not None:
        done = pages_done(log_path)
        if done > reported:
            progress(done)


def pages_done(log_path: Path) -> int:
    """The pages whose text layer is grafted so far, read from OCRmyPDF's log."""
    try:
        return len(set(_GRAFTED.findall(log_path.read_bytes())))
    except OSError:
        return 0


def _tail(log_path: Path, lines: int = 5) -> str:
    try:
        text = log_path.read_bytes()[-8192:].decode("utf-8", "replace")
    except OSError:
        return ""
    kept = [line for line in text.splitlines() if line.strip() and "Opened a file" not in line]
    return " | ".join(kept[-lines:])


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
