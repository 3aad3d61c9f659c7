"""Resumable uploads: a 2 GB recording sent in chunks survives a dropped connection and a reload.

The model is tus 1.0: create (metadata and total size, checked at once: a refused upload costs
no bytes), then append chunks at the offset the server reports, then the last chunk turns the
spool into a record through the same ingest as a one-shot upload (hash, sniffed type, limits,
content-addressed blob, one transaction). Chunks are appended to a spool file on the data disk and
fsynced before the offset moves; a tail written but not acknowledged is cut on the next append.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import ingest, mediatype
from archive.db import utcnow, write_transaction
from archive.exceptions import Conflict, InvalidInput, NotFound, UploadTooLarge
from archive.models import Person, Record, UploadSession, UploadState
from archive.schemas import RecordCreate, UploadOut, check_filename
from archive.spool import Received
from archive.storage import ObjectStore

LIFETIME = timedelta(hours=48)


def out(upload: UploadSession) -> UploadOut:
    """An upload as its client follows it (the offset to send from, and the record once it is done)."""
    return UploadOut(
        id=upload.id,
        filename=upload.filename,
        size=upload.size,
        offset=upload.offset,
        state=upload.state,
        record_id=upload.record_id,
        expires_at=upload.expires_at,
        url=f"/api/v1/uploads/{upload.id}",
    )


class RunningHashes:
    """The SHA-256 of each spool as its chunks arrive, kept in this process, so the last chunk does not
    re-read a 2 GB recording to hash it. A hash is only trusted at the offset it reached: a chunk that
    was not acknowledged, an append from another process or after a restart finds none, and the
    upload's end hashes the spool from disk as before."""

    LIMIT = 10_000  # abandoned uploads' entries are dropped oldest first

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.known: dict[str, tuple[int, Any]] = {}

    def take(self, path: Path, offset: int) -> Any:
        with self.lock:
            entry = self.known.pop(str(path), None)
        if offset == 0:
            return hashlib.sha256()
        return entry[1] if entry is not None and entry[0] == offset else None

    def put(self, path: Path, offset: int, digest: Any) -> None:
        with self.lock:
            if len(self.known) >= self.LIMIT:
                self.known.pop(next(iter(self.known)))
            self.known[str(path)] = (offset, digest)

    def done(self, path: Path, size: int) -> str | None:
        with self.lock:
            entry = self.known.pop(str(path), None)
        return entry[1].hexdigest() if entry is not None and entry[0] == size else None


RUNNING = RunningHashes()


def spool_path(tmp_dir: Path, upload_id: str) -> Path:
    folder = tmp_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{upload_id}.part"


def create(session: Session, actor: Person, meta: RecordCreate, filename: str, size: int, limit: int) -> UploadSession:
    if size <= 0:
        raise InvalidInput("Tệp rỗng.", "The file is empty.")
    if size > limit:
        mib = limit / 1024 / 1024
        raise UploadTooLarge(f"Tệp vượt quá giới hạn {mib:,.0f} MB.", f"The file exceeds the {mib:,.0f} MB limit.")
    try:
        name = check_filename(filename)
    except ValueError as e:
        raise InvalidInput(f"Tên tệp không hợp lệ: {e}", f"Invalid file name: {e}") from None
    ingest.prepare_record(session, actor, meta)  # school, type and the right to upload there: checked now
    now = utcnow()
    with write_transaction(session):
        upload = UploadSession(
            person_id=actor.id,
            meta=meta.model_dump(mode="json"),
            filename=name,
            size=size,
            offset=0,
            state=UploadState.open,
            created_at=now,
            expires_at=now + LIFETIME,
        )
        session.add(upload)
    return upload


def load(session: Session, actor: Person, upload_id: str) -> UploadSession:
    upload = session.get(UploadSession, upload_id)
    if upload is None or upload.person_id != actor.id:
        raise NotFound("Không có phiên tải lên này.", "No such upload.")
    if upload.state == UploadState.open and upload.expires_at <= utcnow():
        raise Conflict("Phiên tải lên đã hết hạn; hãy tải lại từ đầu.", "The upload expired; start again.")
    return upload


def begin_append(
    session: Session, actor: Person, upload_id: str, offset: int, tmp_dir: Path
) -> tuple[UploadSession, Path]:
    """Checks before the bytes of a chunk are read: whose upload, still open, the right offset."""
    upload = load(session, actor, upload_id)
    if upload.state != UploadState.open:
        raise Conflict("Phiên tải lên đã kết thúc.", "The upload is finished.", state=upload.state)
    if offset != upload.offset:
        raise Conflict(
            f"Vị trí tiếp tục là {upload.offset}, không phải {offset}.",
            f"The upload continues at offset {upload.offset}, not {offset}.",
            offset=upload.offset,
        )
    session.commit()
    return upload, spool_path(tmp_dir, upload.id)


class ChunkWriter:
    """Appends one chunk to the upload's spool at its acknowledged offset, refusing bytes past the size."""

    def __init__(self, path: Path, offset: int, size: int) -> None:
        self.out = open(path, "ab")  # noqa: SIM115  (closed by close())
        try:  # one writer per upload, across processes: a second PATCH at once is refused, not interleaved
            fcntl.flock(self.out, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.out.close()
            raise Conflict(
                "Phần trước của tệp này vẫn đang được gửi; hãy đợi.", "Another chunk of this upload is being sent."
            ) from None
        if os.fstat(self.out.fileno()).st_size < offset:
            # The acknowledged bytes are not here: this spool is another machine's (the upload began on
            # another web node with its own HOSO_DATA_DIR/tmp). Before, truncate() filled the gap with
            # zeros and the record was stored corrupt; now the client is told to carry on there.
            self.out.close()
            raise Conflict(
                "Phần đã gửi của tệp này nằm trên máy chủ khác; hãy tiếp tục tải lên tại máy chủ đó.",
                "The bytes sent so far are on another server (its upload spool is not shared with this one).",
            )
        self.start = offset
        self.out.truncate(offset)  # a tail written before a crash, never acknowledged
        self.out.seek(offset)
        self.written, self.size, self.path = offset, size, path
        self.digest = RUNNING.take(path, offset)
        self.acknowledged = self.digest.copy() if self.digest is not None else None

    def write(self, chunk: bytes) -> None:
        if self.written + len(chunk) > self.size:
            raise InvalidInput(
                f"Dữ liệu gửi vượt quá kích thước đã khai báo ({self.size} byte).",
                f"More bytes than the declared size ({self.size}).",
            )
        self.out.write(chunk)
        self.written += len(chunk)
        if self.digest is not None:
            self.digest.update(chunk)

    def close(self, durable: bool) -> None:
        if durable:
            self.out.flush()
            os.fsync(self.out.fileno())
            if self.digest is not None:  # valid once this offset is acknowledged; the next append checks
                RUNNING.put(self.path, self.written, self.digest)
        elif self.acknowledged is not None:  # a chunk cut off or refused: the hash of what was acknowledged
            RUNNING.put(self.path, self.start, self.acknowledged)
        self.out.close()


def commit_append(
    session: Session,
    store: ObjectStore,
    actor: Person,
    upload_id: str,
    path: Path,
    start: int,
    written: int,
    then: Callable[[Record], None] | None = None,
) -> UploadSession:
    """The chunk is on disk (fsynced): move the offset. The last chunk turns the upload into a record
    in one transaction with the offset and the upload's end: a crash before it commits leaves the
    last chunk unacknowledged (sent again, nothing duplicated); after, a retry gets the record.
    `then(record)` runs in that transaction too (the submission of an upload-and-submit)."""
    if written == size_of(session, upload_id):
        upload = load(session, actor, upload_id)
        if upload.offset != start or upload.state != UploadState.open:
            raise Conflict("Phiên tải lên đã thay đổi trong lúc gửi.", "The upload moved on meanwhile.")
        finish(session, store, actor, upload, path, then)
        return upload
    with write_transaction(session):
        upload = load(session, actor, upload_id)
        if upload.offset != start or upload.state != UploadState.open:
            raise Conflict("Phiên tải lên đã thay đổi trong lúc gửi.", "The upload moved on meanwhile.")
        upload.offset = written
    return upload


def size_of(session: Session, upload_id: str) -> int | None:
    size = session.scalar(select(UploadSession.size).where(UploadSession.id == upload_id))
    session.commit()
    return size


def append(
    session: Session,
    store: ObjectStore,
    tmp_dir: Path,
    actor: Person,
    upload_id: str,
    offset: int,
    chunks: Iterable[bytes],
) -> UploadSession:
    """Write a chunk at `offset` (which must be the server's), in one call (the CLI, tests)."""
    upload, path = begin_append(session, actor, upload_id, offset, tmp_dir)
    writer = ChunkWriter(path, upload.offset, upload.size)
    try:
        for chunk in chunks:
            writer.write(chunk)
    finally:
        writer.close(durable=True)
    return commit_append(session, store, actor, upload_id, path, writer.start, writer.written)


def finish(
    session: Session,
    store: ObjectStore,
    actor: Person,
    upload: UploadSession,
    path: Path,
    then: Callable[[Record], None] | None = None,
) -> Record:
    sha256 = RUNNING.done(path, upload.size)
    with open(path, "rb") as f:
        head = f.read(mediatype.HEAD_BYTES)
        if sha256 is None:  # chunks from another process or before a restart: hash the spool from disk
            digest = hashlib.sha256(head)
            while chunk := f.read(1024 * 1024):
                digest.update(chunk)
            sha256 = digest.hexdigest()
    received = Received(path=path, sha256=sha256, size=upload.size, media_type=mediatype.sniff(head, path))
    meta = RecordCreate.model_validate(upload.meta)
    prepared = ingest.prepare_record(session, actor, meta)
    acknowledged = upload.offset

    def done(record: Record) -> None:
        fresh = session.get(UploadSession, upload.id, populate_existing=True)
        if fresh is None or fresh.state != UploadState.open or fresh.offset != acknowledged:
            raise Conflict("Phiên tải lên đã thay đổi trong lúc gửi.", "The upload moved on meanwhile.")
        fresh.state, fresh.record_id, fresh.offset = UploadState.done, record.id, upload.size
        if then is not None:
            then(record)

    record = ingest.create_record(session, store, actor, prepared, received, upload.filename, within=done)
    path.unlink(missing_ok=True)
    return record


def cancel(session: Session, tmp_dir: Path, actor: Person, upload_id: str) -> None:
    upload = load(session, actor, upload_id)
    with write_transaction(session):
        upload.state = UploadState.cancelled
    spool_path(tmp_dir, upload.id).unlink(missing_ok=True)
    RUNNING.done(spool_path(tmp_dir, upload.id), -1)  # forget its running hash
