"""Resumable uploads: a 2 GB recording sent in chunks survives a dropped connection and a reload.

The model is tus 1.0: create (metadata and total size, checked at once: a refused upload costs
no bytes), then append chunks at the offset the server reports, then the last chunk turns the
spool into a record through the same ingest as a one-shot upload (hash, sniffed type, limits,
content-addressed blob, one transaction). Chunks are appended to a spool file on the data disk and
fsynced before the offset moves; a tail written but not acknowledged is cut on the next append.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from archive import ingest, mediatype
from archive.db import utcnow, write_transaction
from archive.exceptions import Conflict, InvalidInput, NotFound, UploadTooLarge
from archive.models import Person, Record, UploadSession
from archive.schemas import RecordCreate, check_filename
from archive.spool import Received
from archive.storage import ObjectStore

LIFETIME = timedelta(hours=48)


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
            state="open",
            created_at=now,
            expires_at=now + LIFETIME,
        )
        session.add(upload)
    return upload


def load(session: Session, actor: Person, upload_id: str) -> UploadSession:
    upload = session.get(UploadSession, upload_id)
    if upload is None or upload.person_id != actor.id:
        raise NotFound("Không có phiên tải lên này.", "No such upload.")
    if upload.state == "open" and upload.expires_at <= utcnow():
        raise Conflict("Phiên tải lên đã hết hạn; hãy tải lại từ đầu.", "The upload expired; start again.")
    return upload


def append(
    session: Session,
    store: ObjectStore,
    tmp_dir: Path,
    actor: Person,
    upload_id: str,
    offset: int,
    chunks: Iterable[bytes],
) -> UploadSession:
    """Write a chunk at `offset` (which must be the server's); the last one creates the record."""
    upload = load(session, actor, upload_id)
    if upload.state != "open":
        raise Conflict("Phiên tải lên đã kết thúc.", "The upload is finished.", state=upload.state)
    if offset != upload.offset:
        raise Conflict(
            f"Vị trí tiếp tục là {upload.offset}, không phải {offset}.",
            f"The upload continues at offset {upload.offset}, not {offset}.",
            offset=upload.offset,
        )
    path = spool_path(tmp_dir, upload.id)
    with open(path, "ab") as out:
        out.truncate(upload.offset)  # a tail written before a crash, never acknowledged
        out.seek(upload.offset)
        written = upload.offset
        for chunk in chunks:
            written += len(chunk)
            if written > upload.size:
                raise InvalidInput(
                    f"Dữ liệu gửi vượt quá kích thước đã khai báo ({upload.size} byte).",
                    f"More bytes than the declared size ({upload.size}).",
                )
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    session.commit()
    with write_transaction(session):
        upload = load(session, actor, upload_id)
        upload.offset = written
    if written == upload.size:
        finish(session, store, actor, upload, path)
    return upload


def finish(session: Session, store: ObjectStore, actor: Person, upload: UploadSession, path: Path) -> Record:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        head = f.read(mediatype.HEAD_BYTES)
        digest.update(head)
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    received = Received(path=path, sha256=digest.hexdigest(), size=upload.size, media_type=mediatype.sniff(head, path))
    meta = RecordCreate.model_validate(upload.meta)
    prepared = ingest.prepare_record(session, actor, meta)
    record = ingest.create_record(session, store, actor, prepared, received, upload.filename)
    with write_transaction(session):
        fresh = session.get(UploadSession, upload.id)
        assert fresh is not None
        fresh.state, fresh.record_id = "done", record.id
    path.unlink(missing_ok=True)
    upload.state, upload.record_id = "done", record.id
    return record


def cancel(session: Session, tmp_dir: Path, actor: Person, upload_id: str) -> None:
    upload = load(session, actor, upload_id)
    with write_transaction(session):
        upload.state = "cancelled"
    spool_path(tmp_dir, upload.id).unlink(missing_ok=True)
