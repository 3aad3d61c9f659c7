"""Verified local copies of the PDFs being previewed, so turning a page does not fetch the file again.

A page image is rendered from the whole PDF (PDFium seeks through it). Before this cache, every page
of every look read the blob from the store and re-hashed it: for a two-page plan nothing, for a
300-page scanned học bạ of 60 MB on S3, 60 MB over the network per page turned. Now the first page
fetches the blob once, hashed as it streams (`blobs.read_verified`: a mismatch is reported and
nothing is kept), into `<tmp>/previews/<sha256>.pdf`, made read-only and moved into place atomically;
the next pages, thumbnails and page counts open that file. A copy is trusted because hoso verified
it when it wrote it, and it is only ever used for page images: downloads, signing and packages read
the blob itself, verified each time.

The folder is bounded (`BUDGET` bytes, the least recently used copies go first) and shared by the
processes of one machine: a copy appears whole or not at all (`os.replace`), and one that another
process evicts between lookup and use is fetched again.

A destroyed blob's copy (TT 06/2025: destruction deletes the content) is dropped at once on the
machine that executed the destruction (`drop`); on the other machines it waits for the LRU. That
is enough because a copy is reachable only through a record whose status is checked first: the
record viewer (api/routers/previews.py) and a read copy (retention/copies/service.py) answer 410
for a destroyed record before they look for its copy, and a blob still used by another record is
not destroyed. A copy is named by its SHA-256, so the same bytes uploaded again later are the
same copy, rightly.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

BUDGET = 2 * 1024**3  # 2 GiB of previews per machine: a morning's queue for several principals


def folder_of(tmp_dir: Path) -> Path:
    folder = tmp_dir / "previews"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def copy_of(tmp_dir: Path, sha256: str, fetch: Callable[[], Iterator[bytes]], budget: int = BUDGET) -> Path:
    """The verified local copy of blob `sha256`, fetched (and hashed) with `fetch` if there is none."""
    folder = folder_of(tmp_dir)
    target = folder / f"{sha256}.pdf"
    try:
        os.utime(target)  # most recently used
        return target
    except FileNotFoundError:
        pass
    fd, name = tempfile.mkstemp(dir=folder, prefix=".filling-")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in fetch():  # raises BlobMismatch before the last chunk if the bytes are wrong
                out.write(chunk)
        os.chmod(name, 0o400)
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    evict(folder, budget, keep=target)
    return target


def evict(folder: Path, budget: int, keep: Path | None = None) -> int:
    """Remove the least recently used copies until the folder is within `budget`; how many went."""
    for stale in folder.glob(".filling-*"):  # a fill a crash interrupted
        try:
            if stale.stat().st_mtime < time.time() - 3600:
                stale.unlink(missing_ok=True)
        except FileNotFoundError:
            continue
    copies = []
    for path in folder.glob("*.pdf"):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        copies.append((stat.st_mtime, stat.st_size, path))
    total, removed = sum(size for _, size, _ in copies), 0
    for _, size, path in sorted(copies, key=lambda c: c[0]):
        if total <= budget:
            break
        if path == keep:
            continue
        path.unlink(missing_ok=True)
        total -= size
        removed += 1
    return removed


def drop(tmp_dir: Path, sha256: str) -> bool:
    """Remove this machine's copy of blob `sha256` (its record was destroyed); whether there was one."""
    target = tmp_dir / "previews" / f"{sha256}.pdf"
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    return True
