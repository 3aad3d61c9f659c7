"""Receive an upload into a temp file on the data disk, hashing and counting as it arrives.

Memory holds one chunk and the first 64 KB (for type sniffing), whatever the upload's size. The
size limit is enforced as bytes arrive, so an oversized upload is refused without reading the rest.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from archive import mediatype
from archive.exceptions import UploadTooLarge
from archive.formats import Format
from archive.media_facts import Probe


@dataclass(frozen=True)
class Received:
    path: Path
    sha256: str
    size: int
    media_type: str
    version_id: str | None = None  # the store's version of the blob, once stored (`ingest.store_blob`)
    format: Format | None = None  # its PRONOM format, once identified (`ingest.identified`)
    media: Probe | None = None  # a recording's ffprobe facts, once identified (`archive.media_facts`)


def too_large(limit: int) -> UploadTooLarge:
    mib = limit / (1024 * 1024)
    return UploadTooLarge(
        f"Tệp vượt quá giới hạn {mib:,.0f} MB.", f"The file exceeds the {mib:,.0f} MB limit.", limit=limit
    )


class Spool:
    def __init__(self, tmp_dir: Path, limit: int) -> None:
        self.limit = limit
        fd, name = tempfile.mkstemp(dir=tmp_dir, suffix=".upload")
        self.path = Path(name)
        self._out = os.fdopen(fd, "wb")
        self._sha = hashlib.sha256()
        self._head = bytearray()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        if self.size + len(chunk) > self.limit:
            raise too_large(self.limit)
        self._out.write(chunk)
        self._sha.update(chunk)
        if len(self._head) < mediatype.HEAD_BYTES:
            self._head += chunk[: mediatype.HEAD_BYTES - len(self._head)]
        self.size += len(chunk)

    def finish(self) -> Received:
        self._out.close()
        return Received(
            path=self.path,
            sha256=self._sha.hexdigest(),
            size=self.size,
            media_type=mediatype.sniff(bytes(self._head), self.path),
        )

    def discard(self) -> None:
        if not self._out.closed:
            self._out.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def spool_stream(source: BinaryIO, tmp_dir: Path, limit: int, chunk: int = 1024 * 1024) -> Spool:
    """Spool a readable stream (a local file, in the CLI import); the caller discards the spool."""
    spool = Spool(tmp_dir, limit)
    try:
        while data := source.read(chunk):
            spool.write(data)
    except BaseException:
        spool.discard()
        raise
    return spool
