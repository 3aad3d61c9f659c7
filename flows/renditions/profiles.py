"""One LibreOffice profile per worker at a time, kept between jobs.

LibreOffice locks its profile (`-env:UserInstallation`): a second office started on a profile in use
hands its documents to the first or fails, so two workers — two `hoso serve` processes on one data
folder, or a bench beside a server — must never share one. A fresh profile per job would do it,
but costs ~1 s of a 2.4 s conversion (measured, flows/renditions/libreoffice.py). So profiles are
numbered slots under `<data>/renditions/`, each taken with an exclusive `flock` on its lock file:
the first free slot is this worker's until it lets go, and a crashed worker's lock goes with it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SLOTS = 64


@contextmanager
def slot(base: Path) -> Iterator[Path]:
    """A profile folder no other process uses while the block runs."""
    base.mkdir(parents=True, exist_ok=True)
    for number in range(SLOTS):
        fd = os.open(base / f"profile-{number}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield base / f"profile-{number}"
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    raise RuntimeError(f"all {SLOTS} LibreOffice profiles under {base} are in use")
