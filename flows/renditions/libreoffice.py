"""LibreOffice headless: Word and Excel files to PDF, several per process, under a time limit.

Measured here (LibreOffice 7.4.7, 2 shared cores, a two-page Vietnamese lesson plan): a cold
`soffice --convert-to pdf` takes 0.9-1.8 s, almost all of it starting the office; a fresh
profile adds ~1 s more (2.4 s); ten documents in one process take 1.75 s (0.18 s each). So a
rendition worker converts the jobs it has claimed in one process, on a profile it keeps (one
per worker slot, `-env:UserInstallation`, so two workers never share one: LibreOffice locks its
profile and a second process on it hands its work to the first or fails). Keeping one office
warm over UNO would need Debian's python3-uno beside our virtualenv for little more: batches of 8
already give 2.7× the cold CLI's documents per second for the whole job (bench/render.py).

A document that hangs the office must fail alone: the process runs in its own session (process
group) and is killed as a group at the time limit (`soffice` is a shell script that starts
`oosplash`, which starts `soffice.bin`: killing only the first leaves the others). The caller
then converts what the batch did not make one by one, each under its own limit.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

BASE_SECONDS = 60.0  # starting the office on a busy, shared CI machine, and one ordinary document
PER_DOCUMENT_SECONDS = 20.0


class TimedOut(Exception):
    """The office ran past its time limit and was killed with its whole process group."""


class Missing(Exception):
    """LibreOffice is not installed (deps/debian-run.txt: libreoffice-writer-nogui, libreoffice-calc-nogui)."""


def executable() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        raise Missing("soffice not found")
    return found


@functools.cache
def version() -> str:
    """'LibreOffice 7.4.7.2', as PREMIS names the tool of a normalization event."""
    out = subprocess.run([executable(), "--version"], capture_output=True, text=True, timeout=60, check=False)
    words = out.stdout.split()
    return " ".join(words[:2]) if len(words) >= 2 else "LibreOffice"


def limit_for(count: int) -> float:
    return BASE_SECONDS + PER_DOCUMENT_SECONDS * count


def convert(sources: Sequence[Path], out_dir: Path, profile: Path, timeout: float | None = None) -> dict[Path, Path]:
    """Convert `sources` (distinct file stems) to PDF in `out_dir` in one office process.

    Returns each source whose PDF was made, with its path; a source LibreOffice could not open
    (damaged, or asking for a password) is simply absent. Raises `TimedOut` past the limit.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    profile.mkdir(parents=True, exist_ok=True)
    command = [
        executable(),
        f"-env:UserInstallation={profile.resolve().as_uri()}",
        "--headless",
        "--invisible",
        "--norestore",
        "--nologo",
        "--nodefault",
        "--nolockcheck",
        "--convert-to",
        "pdf",
        "--outdir",
        str(out_dir),
        *[str(s) for s in sources],
    ]
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, killed whole at the limit
        env={**os.environ, "HOME": str(profile)},  # nothing of the office lands in the worker's home
    )
    try:
        process.wait(timeout=timeout if timeout is not None else limit_for(len(sources)))
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise TimedOut("LibreOffice ran past its time limit") from None
    finally:
        if process.poll() is None:  # interrupted (the worker stopping): take the office down too
            _kill_group(process)
    made = {}
    for source in sources:
        pdf = out_dir / f"{source.stem}.pdf"
        if pdf.is_file() and pdf.stat().st_size > 0:
            made[source] = pdf
    return made


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
