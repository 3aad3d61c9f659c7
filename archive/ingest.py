"""The ingest pipeline: spooled upload → checks → content-addressed blob → one DB transaction.

Order matters for "nothing half-stored": the content is checked first (its type, and that it is
a real document of that type: `check_document`), before any byte is put; then the blob goes (an
orphan blob is collectable garbage, never a dangling row), then inside one serialised transaction
the version number is taken, the sidecar written, and record + version + audit event committed
together. A failure before the commit removes the sidecar; a crash before it leaves no row, and the
next attempt at that version number replaces the orphan sidecar.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import (
    access,
    audit,
    filing,
    renditions,
    scans,
    sidecar,
)
from archive.content_checks import check_content, check_document, identified  # noqa: F401  (their home before)
from archive.db import utcnow, write_transaction
from archive.exceptions import (
    Conflict,
    HosoError,
    IntegrityFailure,
    NotFound,
)
from archive.media_models import MediaFacts
from archive.models import (
    Blob,
    Dossier,
    Person,
    Record,
    RecordStatus,
    RecordType,
    School,
    Version,
    VersionKind,
    new_uuid,
)
from archive.schemas import RecordCreate, VersionMetadataUpdate
from archive.spool import Received, Spool
from archive.storage import ObjectExists, ObjectStore, blob_key

log = logging.getLogger(__name__)


@dataclass
class PreparedRecord:
    """A new record's metadata, checked against the database before any byte is stored."""

    meta: RecordCreate
    school: School
    record_type: RecordType
    dossier: Dossier | None


def prepare_record(session: Session, actor: Person, meta: RecordCreate) -> PreparedRecord:
    school = session.scalar(select(School).where(School.code == meta.school_code))
    if school is None:
        raise NotFound(f"Không có trường mã {meta.school_code!r}.", f"No school with code {meta.school_code!r}.")
    record_type = session.scalar(select(RecordType).where(RecordType.code == meta.record_type))
    if record_type is None:
        raise NotFound(
            f"Không có loại hồ sơ {meta.record_type!r}.",
            f"No record type {meta.record_type!r}.",
        )
    access.require_can_create(actor, school.id)
    dossier = None
    if meta.dossier_id:
        dossier = session.get(Dossier, meta.dossier_id)
        if dossier is None or dossier.school_id != school.id:
            raise NotFound("Không tìm thấy hồ sơ (dossier) của trường này.", "No such dossier at this school.")
        filing.require_open(dossier)
    return PreparedRecord(meta=meta, school=school, record_type=record_type, dossier=dossier)


def prepare_version(session: Session, actor: Person, record_id: str) -> Record:
    record = session.get(Record, record_id)
    if record is None:
        raise NotFound("Không tìm thấy tài liệu.", "Record not found.")
    access.require_can_edit(actor, record)
    return record


def store_blob(store: ObjectStore, received: Received) -> Received:
    """Put the bytes under their content address once; identical bytes are stored only once.

    Returns `received` with the store's version of the blob (S3), which its Blob row records: every
    later read names that version, so bytes put over the key afterwards are never served."""
    key = blob_key(received.sha256)
    try:
        # Put first, ask later: the store refuses an existing key itself, so a new upload costs one
        # existence check (one HEAD on S3), not two.
        result = store.put_file(key, received.path, received.sha256, received.size, content_type=received.media_type)
    except ObjectExists:
        info = store.head(key)
        if info.size != received.size:
            raise IntegrityFailure(
                f"Kho đã có {key} với kích thước khác: cần kiểm tra toàn vẹn.",
                f"{key} exists with a different size: run a fixity check.",
            ) from None
        # the same bytes were stored before (or by a concurrent upload); a Blob row already made
        # keeps the version it recorded then
        return replace(received, version_id=info.version_id)
    if result.sha256 != received.sha256:
        store.delete(key)
        raise IntegrityFailure(
            "Dữ liệu bị thay đổi khi ghi vào kho; hãy tải lên lại.",
            "The bytes changed while being stored; upload again.",
        )
    return replace(received, version_id=result.version_id)


@contextmanager
def versioning(session: Session, store: ObjectStore) -> Iterator[list[str]]:
    """A write transaction that takes back the sidecars it wrote if it does not commit, and seals
    them once it has (`archive.sidecar`: only sealed sidecars come back in a rebuild)."""
    written: list[str] = []
    try:
        with write_transaction(session):
            yield written
    except BaseException:
        for key in written:
            _remove_sidecar(store, key)
        raise
    try:
        sidecar.seal(store, written)
    except Exception:  # committed all the same: the worker's start and fixity seal what is missing
        log.exception("could not seal %d committed sidecars", len(written))


def commit_version(
    session: Session,
    store: ObjectStore,
    actor: Person,
    record: Record,
    received: Received,
    name: str,
    written: list[str],
    action: str,
    details: dict[str, object],
    kind: VersionKind = VersionKind.original,
    deferred: list[tuple[str, dict[str, Any]]] | None = None,
    derived_from: Version | None = None,
) -> Version:
    """Inside `versioning`: blob row, version row, sidecar and the audit event, together.

    With `deferred`, the sidecar is not written here but handed back as (key, body): a caller
    committing many versions at once writes them side by side (`write_sidecars`) before it commits.
    A signed version keeps the format of the version it signs (`derived_from`: an incremental update
    keeps the PDF's header); a recording's ffprobe facts go with it. A new original queues its
    renditions here (`archive.renditions`, `.scans`)."""
    blob = session.get(Blob, received.sha256)
    blob_version_id = blob.version_id if blob is not None else received.version_id
    if blob is None:
        session.add(
            Blob(
                sha256=received.sha256,
                size=received.size,
                media_type=received.media_type,
                version_id=received.version_id,
            )
        )
    number = record.current_version + 1
    key = sidecar.key_for(record, number)
    version = Version(
        record_id=record.id,
        number=number,
        blob_sha256=received.sha256,
        size=received.size,
        media_type=received.media_type,
        original_filename=name,
        kind=kind.value,
        sidecar_key=key,
        created_by_id=actor.id,
        created_at=utcnow(),
        derived_from=derived_from.number if derived_from is not None else None,
    )
    version.created_by = actor
    record.current_version = number
    record.updated_at = version.created_at
    session.add(version)
    _alongside(session, record, version, received, derived_from)
    if deferred is not None:
        deferred.append((key, sidecar.build(record, version, blob_version_id)))
    else:
        sidecar.write(store, key, sidecar.build(record, version, blob_version_id))
        written.append(key)
    audit.append(
        session,
        actor=actor,
        action=action,
        object_type="record",
        object_id=record.id,
        school_id=record.school_id,
        record_id=record.id,
        details={
            "version": number,
            "sha256": received.sha256,
            "size": received.size,
            "media_type": received.media_type,
            "filename": name,
            **details,
        },
    )
    return version


def _alongside(
    session: Session, record: Record, version: Version, received: Received, derived_from: Version | None
) -> None:
    """What a new version brings into its own transaction: its PRONOM format, a recording's ffprobe
    facts, and for an original the renditions it needs (a scan's check and its OCR job among them)."""
    if received.format is not None:
        version.format_puid, version.format_name = received.format.puid, received.format.name
    elif derived_from is not None and version.kind == VersionKind.signed.value:
        version.format_puid, version.format_name = derived_from.format_puid, derived_from.format_name
    if received.media is not None:
        session.add(MediaFacts(record_id=record.id, version_number=version.number, **asdict(received.media)))
    if version.kind == VersionKind.original.value:
        renditions.queue_for(session, record, version)
        scans.record_scan(session, record, version, received)


def write_sidecars(store: ObjectStore, deferred: list[tuple[str, dict[str, Any]]], written: list[str]) -> None:
    """Write deferred sidecars in parallel (each put waits on its own fsync); all or an exception."""
    from concurrent.futures import ThreadPoolExecutor

    if not deferred:
        return
    written.extend(key for key, _ in deferred)  # taken back by `versioning` if anything fails
    with ThreadPoolExecutor(max_workers=min(8, len(deferred))) as pool:
        for future in [pool.submit(sidecar.write, store, key, body) for key, body in deferred]:
            future.result()


def store_bytes(store: ObjectStore, tmp_dir: Path, data: bytes, limit: int) -> Received:
    """Store bytes hoso made itself (a signed PDF, a .p7s) under their content address."""
    with Spool(tmp_dir, limit) as spool:
        spool.write(data)
        return store_blob(store, spool.finish())


def _remove_sidecar(store: ObjectStore, key: str | None) -> None:
    if key is None:
        return
    try:
        store.delete(key)
    except HosoError:
        log.exception("could not remove the orphan sidecar %s", key)


def create_record(
    session: Session,
    store: ObjectStore,
    actor: Person,
    prepared: PreparedRecord,
    received: Received,
    filename: str,
    within: Callable[[Record], None] | None = None,
    details: dict[str, object] | None = None,
) -> Record:
    """A new record from checked metadata and a received file. `within(record)` runs inside the
    record's own transaction: what must commit with it or not at all (the upload session marked
    done, the client's idempotency key), so a crash can never leave one without the other.
    `details` go into its audit event (the photos a PDF was made of)."""
    name = check_content(received, prepared.record_type, filename)
    received = store_blob(store, identified(received))
    meta = prepared.meta
    now = utcnow()
    record = Record(
        id=new_uuid(),
        school_id=prepared.school.id,
        record_type_id=prepared.record_type.id,
        dossier_id=prepared.dossier.id if prepared.dossier else None,
        author_id=actor.id,
        title=meta.title,
        subject=meta.subject,
        grade=meta.grade,
        class_name=meta.class_name,
        school_year=meta.school_year,
        semester=meta.semester,
        month=meta.month,
        doc_metadata=meta.doc_metadata.model_dump(mode="json", exclude_none=True),
        current_version=0,
        created_at=now,
        updated_at=now,
    )
    record.school, record.record_type, record.author = prepared.school, prepared.record_type, actor
    with versioning(session, store) as written:
        _file(session, record, prepared.dossier)
        session.add(record)
        commit_version(
            session,
            store,
            actor,
            record,
            received,
            name,
            written,
            "record.created",
            {"title": record.title, **(details or {})},
        )
        if within is not None:
            within(record)
    return record


def _file(session: Session, record: Record, chosen: Dossier | None) -> None:
    """Inside the record's transaction: the dossier named (still open), else the one the list decides."""
    if chosen is not None:
        fresh = session.get(Dossier, chosen.id, populate_existing=True)
        filing.require_open(fresh or chosen)
        return
    record.dossier_id = filing.dossier_for(session, record)


def add_version(
    session: Session,
    store: ObjectStore,
    actor: Person,
    record: Record,
    received: Received,
    filename: str,
    update: VersionMetadataUpdate | None = None,
) -> Version:
    name = check_content(received, record.record_type, filename)
    received = store_blob(store, identified(received))
    with versioning(session, store) as written:
        record = session.get(Record, record.id, populate_existing=True) or record
        latest = session.scalar(
            select(Version).where(Version.record_id == record.id, Version.number == record.current_version)
        )
        changes = update.model_dump(exclude_unset=True, mode="json") if update else {}
        if latest is not None and latest.blob_sha256 == received.sha256 and not changes:
            raise Conflict(
                "Tệp giống hệt phiên bản hiện tại; không tạo phiên bản mới.",
                "The file is identical to the current version; no new version was made.",
            )
        for field, value in changes.items():
            setattr(record, field, value if field != "doc_metadata" else (value or {}))
        version = commit_version(
            session,
            store,
            actor,
            record,
            received,
            name,
            written,
            "record.version_added",
            {"changed": sorted(changes)},
        )
    return version


def record_from_stored(
    session: Session,
    store: ObjectStore,
    actor: Person,
    written: list[Any],
    *,
    school: School,
    record_type_code: str,
    title: str,
    school_year: str,
    received: Received,
    filename: str,
    dossier: Dossier | None = None,
    doc_metadata: dict[str, Any] | None = None,
    details: dict[str, object] | None = None,
) -> Record:
    """A record hoso writes itself (a biên bản, a decision), versioned and audited like an upload, inside
    the caller's `versioning` transaction (its blob already stored with `store_bytes`), so a step and the
    document that records it are written together or not at all."""
    record_type = session.scalar(select(RecordType).where(RecordType.code == record_type_code))
    if record_type is None:
        raise HosoError(
            f"Thiếu loại hồ sơ {record_type_code!r} (chạy hoso db upgrade).",
            f"Record type {record_type_code!r} is missing (run hoso db upgrade).",
        )
    now = utcnow()
    record = Record(
        id=new_uuid(),
        school_id=school.id,
        record_type_id=record_type.id,
        dossier_id=dossier.id if dossier else None,
        author_id=actor.id,
        title=title,
        school_year=school_year,
        status=RecordStatus.approved.value,
        doc_metadata=doc_metadata or {},
        current_version=0,
        created_at=now,
        updated_at=now,
    )
    record.school, record.record_type, record.author = school, record_type, actor
    if dossier is None:
        record.dossier_id = filing.dossier_for(session, record)
    session.add(record)
    session.flush()
    commit_version(session, store, actor, record, received, filename, written, "record.created", details or {})
    return record
