"""Reading a blob as hoso stored it: by the object version it wrote, its hash checked on the way.

Two ways stored bytes can stop being the bytes served, both measured on main (2026-12-01):
- On S3, a plain PutObject or a delete marker on a blob key: Object Lock keeps the old version,
  but a GET of the key reads the latest, so hoso served the replacement or called the record
  missing. Each blob's `version_id` is recorded at its put and every read names it.
- On any store, bytes changed at rest (a flipped byte on disk): the download went out whole, with
  the right ETag. `verified` hashes a full-object stream as it passes and holds back the last
  chunk until the hash is known: a mismatch raises before the last bytes leave, so a client sees
  a failed download, never a complete body of wrong bytes. Whoever read it calls `report` (the
  event audited, the blob flagged for the archivist on the fixity page).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import audit
from archive.db import utcnow, write_transaction
from archive.exceptions import IntegrityFailure
from archive.models import Blob, Version
from archive.storage import ObjectStore, blob_key

log = logging.getLogger(__name__)


class BlobMismatch(IntegrityFailure):
    """The bytes read under a blob's address are not the bytes it was stored with."""

    code = "blob_mismatch"

    def __init__(self, sha256: str, actual: str | None, size: int, read: int) -> None:
        super().__init__(
            f"Dữ liệu lưu trữ của tệp {sha256[:12]}… không khớp mã băm đã ghi nhận: tệp bị thay đổi hoặc hỏng, "
            "đã báo cho cán bộ lưu trữ.",
            f"The stored bytes of blob {sha256[:12]}… do not match its recorded hash: altered or damaged; "
            "the archivist has been told.",
            sha256=sha256,
        )
        self.sha256, self.actual, self.size, self.read = sha256, actual, size, read


class PackageRefused(IntegrityFailure):
    """A package (evidence, transfer) would have carried a blob whose bytes fail their hash: not sealed."""

    code = "package_refused"

    def __init__(self, mismatch: BlobMismatch, path: str) -> None:
        super().__init__(
            f"Không niêm phong gói: tệp {path} có dữ liệu lưu trữ không khớp mã băm đã ghi nhận "
            f"({mismatch.sha256[:12]}…). Đã báo cho cán bộ lưu trữ; cần kiểm tra toàn vẹn trước khi xuất lại.",
            f"Package not sealed: the stored bytes of {path} do not match their recorded hash "
            f"({mismatch.sha256[:12]}…). The archivist has been told; run a fixity check before exporting again.",
            sha256=mismatch.sha256,
            path=path,
        )
        self.mismatch = mismatch


def packed(read: Callable[[], Iterator[bytes]], path: str) -> Callable[[], Iterator[bytes]]:
    """A package writer's source that turns a BlobMismatch into PackageRefused naming the file."""

    def chunks() -> Iterator[bytes]:
        try:
            yield from read()
        except BlobMismatch as mismatch:
            raise PackageRefused(mismatch, path) from mismatch

    return chunks


def version_of(session: Session, sha256: str) -> str | None:
    """The store version hoso wrote for this blob (None: the folder store, or stored before versions)."""
    return session.scalar(select(Blob.version_id).where(Blob.sha256 == sha256))


def get(
    session: Session, store: ObjectStore, sha256: str, start: int = 0, length: int | None = None
) -> Iterator[bytes]:
    """The blob's bytes from the version hoso wrote, unchecked (a range, or a caller hashing itself)."""
    return store.get(blob_key(sha256), start, length, version_id=version_of(session, sha256))


def get_pinned(sessions: Callable[[], Session], store: ObjectStore, sha256: str) -> Iterator[bytes]:
    """`get` of the whole blob, looking its version up in a short session of its own."""
    with sessions() as session:
        version_id = version_of(session, sha256)
    return store.get(blob_key(sha256), version_id=version_id)


def read_verified(session: Session, store: ObjectStore, sha256: str) -> Iterator[bytes]:
    """The whole blob from the version hoso wrote, cut with BlobMismatch if its hash is wrong."""
    row = session.execute(select(Blob.version_id, Blob.size).where(Blob.sha256 == sha256)).first()
    version_id, size = (row[0], row[1]) if row else (None, None)
    return verified(store.get(blob_key(sha256), version_id=version_id), sha256, size)


def open_verified(sessions: Callable[[], Session], store: ObjectStore, sha256: str) -> Iterator[bytes]:
    """`read_verified`, looking the blob up in a short session of its own (for a reader in a thread)."""
    with sessions() as session:
        row = session.execute(select(Blob.version_id, Blob.size).where(Blob.sha256 == sha256)).first()
    version_id, size = (row[0], row[1]) if row else (None, None)
    return verified(store.get(blob_key(sha256), version_id=version_id), sha256, size)


def verified(chunks: Iterable[bytes], sha256: str, size: int | None) -> Iterator[bytes]:
    """Pass `chunks` on, hashing them; raise BlobMismatch before the last chunk if they are not
    the `size` bytes hashing to `sha256`. Only a whole object can be checked: a range cannot."""
    digest = hashlib.sha256()
    read = 0
    held: bytes | None = None
    for chunk in chunks:
        if not chunk:
            continue
        digest.update(chunk)
        read += len(chunk)
        if size is not None and read > size:  # longer than stored: never send past the declared length
            raise BlobMismatch(sha256, None, size, read)
        if held is not None:
            yield held
        held = chunk
    actual = digest.hexdigest()
    if actual != sha256 or (size is not None and read != size):
        raise BlobMismatch(sha256, actual, size or 0, read)
    if held is not None:
        yield held


def flag(session: Session, mismatch: BlobMismatch, where: str, actor_id: int | None = None) -> None:
    """Inside a write transaction: mark the blob for the archivist and audit what was found, where."""
    blob = session.get(Blob, mismatch.sha256, populate_existing=True)
    if blob is not None and blob.flagged_at is None:
        blob.flagged_at = utcnow()
        blob.flag_reason = f"{where}: hash mismatch"[:400]
    records = list(session.scalars(select(Version.record_id).where(Version.blob_sha256 == mismatch.sha256).distinct()))
    audit.append(
        session,
        actor=None,
        action="blob.mismatch",
        object_type="blob",
        object_id=mismatch.sha256,
        record_id=records[0] if len(records) == 1 else None,
        details={
            "where": where,
            "actual_sha256": mismatch.actual,
            "size": mismatch.size,
            "read": mismatch.read,
            "records": records,
            "reported_by": actor_id,
        },
    )


def report(sessions: Callable[[], Session], mismatch: BlobMismatch, where: str, actor_id: int | None = None) -> None:
    """`flag` in a session of its own (the reader's may be mid-response or rolled back); never raises,
    so the caller's own error (the cut download, the refused package) is what people see."""
    try:
        with sessions() as session, write_transaction(session):
            flag(session, mismatch, where, actor_id)
    except Exception:
        log.exception("could not record the mismatch of blob %s", mismatch.sha256)
    log.error("blob %s: stored bytes do not match their hash (%s)", mismatch.sha256, where)
