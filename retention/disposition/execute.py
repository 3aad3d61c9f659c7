"""Step 4: within the window, delete the blobs, keep the tombstones, write the biên bản hủy.

The records' copies for use go with them: a BẢN SAO or authenticated copy is the whole content,
so its file is deleted with the blobs and its request voided (audited); a waiting request can then
never be issued, and downloading an issued one answers 410 (retention/copies/service.py). So does
the SIP kept when a dossier holding them was handed over (retention/dossiers/handover.py): it
holds their bytes, so its file is deleted and its row marked destroyed.

A decision older than `EXECUTION_DAYS` has lapsed and must be decided again. Every blob to delete
is checked unlocked by the store's own rule (`archive.storage.check_unlocked`) before any is
deleted, and the biên bản is stored before the first delete, so a refusal destroys nothing and a
crash half-way leaves a re-run that finishes the job (a blob already gone is skipped).
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import audit, blobs, pdfdoc, preview_copies
from archive.calendar import VN_TIME
from archive.db import utcnow, write_transaction
from archive.exceptions import Conflict
from archive.models import Blob, Person, Record, RecordStatus, School, Version
from archive.storage import ObjectLocked, ObjectMissing, ObjectStore, blob_key, check_unlocked
from retention import holds
from retention.copies import service as copies
from retention.disposition.common import EXECUTION_DAYS, PROPOSERS, execute_before, items_of, load, require
from retention.disposition.document import Paper, filed
from retention.dossiers import handover
from retention.models import Disposition, DispositionItem, DispositionState, RecordRetention, RetentionState
from retention.schedule import BlobsOf, version_blobs


def execute(
    session: Session,
    store: ObjectStore,
    tmp_dir: Path,
    actor: Person,
    disposition_id: int,
    blobs_of: BlobsOf = version_blobs,
) -> Disposition:
    """Step 4: within the window, delete the blobs, keep the tombstones, write the biên bản hủy."""
    disposition = load(session, disposition_id)
    require(
        actor,
        disposition.school_id,
        PROPOSERS,
        "Chỉ cán bộ lưu trữ/văn thư hoặc hiệu trưởng thực hiện việc hủy.",
        "Only the archivist/clerk or the principal executes a destruction.",
    )
    now = _within_window(session, actor, disposition)
    pairs = items_of(session, disposition)
    _none_held(session, [record for _item, record in pairs])
    ids = {record.id for _, record in pairs}
    doomed = _doomed(session, pairs, ids, blobs_of)
    _all_unlocked(session, store, doomed)
    versions_of = {
        record.id: list(session.scalars(select(Version).where(Version.record_id == record.id).order_by(Version.number)))
        for _, record in pairs
    }
    paper = _bien_ban(session, disposition, pairs, versions_of, len(doomed), now)
    copy_files = copies.stored_keys(session, ids)  # BẢN SAO and authenticated copies: the content, stamped
    sips = handover.packages_holding(session, ids)  # a handed-over dossier's SIP holds the documents too
    sip_files = [p.store_key for p in sips if p.store_key]

    def delete_blobs() -> None:  # only once the biên bản exists
        for key in [blob_key(sha) for sha in sorted(doomed)] + copy_files + sip_files:
            with contextlib.suppress(ObjectMissing):  # a re-run after a crash: already gone
                store.delete(key)

    with filed(session, store, tmp_dir, actor, paper, disposition, before=delete_blobs):
        for item, record in pairs:
            _destroy(session, actor, disposition, item, record, versions_of[record.id], now)
        copies.void_for_destruction(session, actor, ids, disposition.id)
        for sip in sips:
            sip.state, sip.store_key = "destroyed", None
        for blob in session.scalars(select(Blob).where(Blob.sha256.in_(doomed))):
            blob.destroyed_at = now
        disposition.state, disposition.executed_by_id, disposition.executed_at = (
            DispositionState.executed,
            actor.id,
            now,
        )
        audit.append(
            session,
            actor=actor,
            action="disposition.executed",
            object_type="disposition",
            object_id=disposition.id,
            school_id=disposition.school_id,
            details={
                "records": sorted(ids),
                "blobs_deleted": len(doomed),
                "decision_number": disposition.decision_number,
                "copies_deleted": len(copy_files),
                "sips_deleted": [f"{p.handover_id}/{p.dossier_id}" for p in sips],
            },
        )
    for sha in doomed:  # this machine's page-image copies (archive/preview_copies.py: why others may wait)
        preview_copies.drop(tmp_dir, sha)
    return disposition


def _within_window(session: Session, actor: Person, disposition: Disposition) -> datetime:
    """Now, when the disposition is decided and its decision still in force; a lapsed one is marked so."""
    if disposition.state == DispositionState.executed:
        raise Conflict("Đợt hủy này đã được thực hiện.", "This disposition was executed already.")
    if disposition.state != DispositionState.decided or disposition.decided_at is None:
        raise Conflict("Đợt hủy chưa có quyết định hủy.", "The disposition has no destruction decision.")
    now = utcnow()
    if now > (execute_before(disposition) or now):
        with write_transaction(session):
            disposition.state = DispositionState.lapsed
            audit.append(
                session,
                actor=actor,
                action="disposition.lapsed",
                object_type="disposition",
                object_id=disposition.id,
                school_id=disposition.school_id,
                details={"decided_at": disposition.decided_at.isoformat()},
            )
        raise Conflict(
            f"Quyết định hủy đã quá {EXECUTION_DAYS} ngày ({disposition.decided_at.astimezone(VN_TIME):%d/%m/%Y}); "
            "hiệu trưởng phải quyết định lại.",
            f"The decision is older than {EXECUTION_DAYS} days; the principal must decide again.",
        )
    return now


def _none_held(session: Session, records: list[Record]) -> None:
    for record in records:
        on = holds.holds_on(session, record)
        if on:
            raise Conflict(
                f"Hồ sơ '{record.title}' đang bị tạm giữ (lệnh #{on[0].id}: {on[0].reason}); không được hủy.",
                f"Record '{record.title}' is under legal hold #{on[0].id} ({on[0].reason}); it cannot be destroyed.",
                hold_id=on[0].id,
            )


def _doomed(
    session: Session, pairs: list[tuple[DispositionItem, Record]], ids: set[str], blobs_of: BlobsOf
) -> set[str]:
    """The listed records' blobs that no record outside the list still uses."""
    doomed: set[str] = set()
    for _item, record in pairs:
        doomed |= blobs_of(session, record.id)
    shared = set(
        session.scalars(
            select(Version.blob_sha256).where(Version.blob_sha256.in_(doomed), Version.record_id.not_in(ids))
        )
    )
    return doomed - shared


def _all_unlocked(session: Session, store: ObjectStore, doomed: set[str]) -> None:
    """Each blob checked by the store's own lock rule before any is deleted: all or nothing."""
    now = utcnow()
    for sha in sorted(doomed):
        try:
            info = store.head(blob_key(sha), blobs.version_of(session, sha))
        except ObjectMissing:
            continue  # a re-run after a crash: already gone
        try:
            check_unlocked(info, now)
        except ObjectLocked as e:
            raise Conflict(
                f"Kho lưu trữ còn khóa tệp {sha[:12]}… đến {info.retain_until}; không hủy gì cả.",
                f"The store still locks blob {sha[:12]}… (until {info.retain_until}); nothing was destroyed.",
            ) from e


def _bien_ban(
    session: Session,
    disposition: Disposition,
    pairs: list[tuple[DispositionItem, Record]],
    versions_of: dict[str, list[Version]],
    deleted: int,
    now: datetime,
) -> Paper:
    school = session.get(School, disposition.school_id)
    assert school is not None
    local = now.astimezone(VN_TIME)
    rows = [
        [
            str(n),
            record.title,
            record.school_year,
            versions_of[record.id][0].blob_sha256 if versions_of[record.id] else "",
        ]
        for n, (_item, record) in enumerate(pairs, start=1)
    ]
    return Paper(
        "bien-ban-huy",
        "Biên bản hủy tài liệu",
        pdfdoc.Document(
            unit=school.name,
            title="Biên bản hủy tài liệu hết giá trị",
            before=[
                f"Hôm nay, {local:%H:%M} ngày {local:%d/%m/%Y}, thực hiện Quyết định số "
                f"{disposition.decision_number}, đã hủy {len(pairs)} tài liệu điện tử dưới đây "
                "(xóa khỏi kho lưu trữ; giữ lại siêu dữ liệu và mã SHA-256).",
            ],
            header=["TT", "Tên tài liệu", "Năm học", "SHA-256 (bản gốc)"],
            rows=rows,
            widths_mm=[10, 70, 20, 80],
            after=[f"Số tệp đã xóa: {deleted}."],
            signers=["NGƯỜI THỰC HIỆN", "HIỆU TRƯỞNG"],
        ),
    )


def _destroy(
    session: Session,
    actor: Person,
    disposition: Disposition,
    item: DispositionItem,
    record: Record,
    versions: list[Version],
    now: datetime,
) -> None:
    """One record destroyed: its tombstone kept, its status and retention state moved, audited."""
    item.tombstone = tombstone(record, versions, disposition.decision_number, now)
    record.status = RecordStatus.destroyed.value
    record.updated_at = now
    retention_row = session.get(RecordRetention, record.id)
    if retention_row is not None:
        retention_row.state = RetentionState.destroyed
    audit.append(
        session,
        actor=actor,
        action="record.destroyed",
        object_type="record",
        object_id=record.id,
        school_id=record.school_id,
        record_id=record.id,
        details={"disposition_id": disposition.id, "decision_number": disposition.decision_number},
    )


def tombstone(record: Record, versions: list[Version], decision_number: str | None, now: datetime) -> dict[str, Any]:
    """What remains of a destroyed record: its metadata and every version's hash."""
    return {
        "record_id": record.id,
        "title": record.title,
        "record_type": record.record_type.code,
        "school_code": record.school.code,
        "school_year": record.school_year,
        "author": record.author.username,
        "created_at": record.created_at.isoformat(),
        "versions": [
            {
                "number": v.number,
                "sha256": v.blob_sha256,
                "size": v.size,
                "media_type": v.media_type,
                "filename": v.original_filename,
                "kind": v.kind,
            }
            for v in versions
        ],
        "decision_number": decision_number,
        "destroyed_at": now.isoformat(),
    }
