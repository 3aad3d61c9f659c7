"""The database half of a signing run: what is stored, once, under the run's right to write.

Each signed item is committed in one transaction that adds the signed version, the signature row
and marks the item signed, checking inside it that this run may still write the batch (the hook
`SigningStore.hold_batch`) and using up whatever authorised the signature (`SigningStore.consume`).
A run that dies leaves each item either signed once or untouched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from archive import audit, blobs, ingest
from archive.db import utcnow, write_transaction
from archive.exceptions import HosoError
from archive.models import Blob, Person, Record, RecordStatus, Version, VersionKind
from archive.storage import ObjectStore
from signing import cades, keys, pades, placement, workflow
from signing.batch import rendition
from signing.batch.group import GroupCommit
from signing.exceptions import ItemError, LeaseLost
from signing.keys import KeySource
from signing.models import (
    ApprovalBatch,
    ApprovalItem,
    BatchState,
    Signature,
    SignatureKind,
    SignState,
    StampPlace,
    left_to_sign,
)
from signing.settings import SigningSettings

P7S = "application/pkcs7-signature"
Progress = Callable[[int, int, str], None]


@dataclass
class Report:
    batch_id: str
    state: str
    signed: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    paused: str | None = None
    approval_record_id: str | None = None
    # signed items whose signature is not where a reader looks first (signing.placement.NOTEWORTHY)
    placed: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _Planned:
    title: str
    sha256: str
    size: int
    media_type: str
    # a DOCX/XLSX whose PDF rendition exists (archive/renditions.py): that PDF is stamped, and the
    # original keeps its detached signature beside it
    rendition: Version | None = None


class SigningStore:
    """A signing run's session and everything it writes; `SigningRun` (signing/batch/run.py) adds the signing.

    Subclasses change who may write through the two hooks below, and nothing else:

    - `hold_batch()`: called inside every write transaction of the run; returns the batch if this
      run may still write it, else raises `LeaseLost`. A server-side run checks (and extends) its
      lease; a client-side run checks that no server-side run holds the batch.
    - `consume(target)`: called inside the transaction that stores the signature for `target`
      ("item:<id>", or "record:<batch id>" for the approval record); uses up whatever authorised
      that signature, or raises. A server-side run has nothing to use up.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: ObjectStore,
        settings: SigningSettings,
        batch_id: str,
        actor_id: int,
        key: KeySource,
        owner: str = "",
        progress: Progress | None = None,
        image: bytes | None = None,
    ) -> None:
        self.sessions, self.store, self.settings = sessions, store, settings
        self.batch_id, self.actor_id, self.key, self.owner = batch_id, actor_id, key, owner
        self.progress = progress
        self.image = image
        self.session = sessions()
        self.lock = asyncio.Lock()
        self.report = Report(batch_id=batch_id, state=BatchState.signing.value)
        self.planned: dict[int, _Planned] = {}
        self.commits = GroupCommit(self)
        # items whose stamped PDF is a rendition: (the rendition's number, the original's .p7s), stored
        # with the signed PDF in its group commit
        self.detached_too: dict[int, tuple[int, ingest.Received]] = {}

    # DB work runs in a worker thread, one piece at a time (the lock), on the run's own session.
    async def db(self, fn: Callable[..., Any], *args: Any) -> Any:
        async with self.lock:
            return await asyncio.to_thread(fn, *args)

    def hold_batch(self) -> ApprovalBatch:
        """Hook: inside a write transaction, the batch if this run may still write it (else `LeaseLost`).

        The server-side run's lease is ours and not lapsed; it is extended by each write."""
        batch = self.session.get(ApprovalBatch, self.batch_id, populate_existing=True)
        assert batch is not None
        if batch.lease_owner != self.owner or batch.state != BatchState.signing.value:
            raise LeaseLost(
                "Một yêu cầu ký khác đã tiếp quản đợt duyệt này.", "Another signing run took this batch over."
            )
        batch.lease_until = utcnow() + timedelta(seconds=self.settings.signing_lease_seconds)
        return batch

    def consume(self, target: str) -> None:
        """Hook: storing a signature for `target` uses up whatever authorised it (a client-side run's
        preparation); a server-side run's authorization is its lease, so there is nothing to use up."""

    def claim(self, target: str) -> ApprovalBatch:
        """Inside the write transaction that stores a signature for `target`: may this run store it?"""
        batch = self.hold_batch()
        self.consume(target)
        return batch

    def actor(self) -> Person:
        actor = self.session.get(Person, self.actor_id)
        assert actor is not None
        return actor

    def _todo(self) -> tuple[ApprovalBatch, list[int], int]:
        """The items left to sign, with what signing each needs read in one query (not one per item)."""
        batch = self.session.get(ApprovalBatch, self.batch_id, populate_existing=True)
        assert batch is not None
        rows = self.session.execute(
            select(ApprovalItem.id, Record.title, Version.blob_sha256, Version.size, Version.media_type)
            .join(Record, Record.id == ApprovalItem.record_id)
            .join(
                Version, (Version.record_id == ApprovalItem.record_id) & (Version.number == ApprovalItem.version_number)
            )
            .where(left_to_sign(self.batch_id))
            .order_by(ApprovalItem.id)
        ).all()
        self.planned = {
            row[0]: _Planned(title=row[1], sha256=row[2], size=row[3], media_type=row[4], rendition=row[5])
            for row in rendition.with_renditions(self.session, rows)
        }
        approved = workflow.counts(self.session, self.batch_id)["approved"]
        self.session.commit()
        return batch, [row[0] for row in rows], approved

    def renditions_signed(self, item: ApprovalItem) -> str | None:
        return rendition.signed_sha256(self.session, item)

    def load_item(self, item_id: int) -> tuple[ApprovalItem, str, int, str]:
        item = self.session.get(ApprovalItem, item_id, populate_existing=True)
        assert item is not None
        version = next(v for v in versions_of(self.session, item.record_id) if v.number == item.version_number)
        self.session.commit()
        return item, version.blob_sha256, version.size, version.media_type

    # What is signed is what the teacher stored: the version hoso wrote, its hash checked on the way.
    # Bytes that fail their hash are never signed: that one item fails, the blob is reported.
    def read(self, sha256: str) -> bytes:
        try:
            return b"".join(blobs.open_verified(self.sessions, self.store, sha256))
        except blobs.BlobMismatch as e:
            raise self._damaged(e) from e

    def digest(self, sha256: str) -> bytes:
        """The stored content's SHA-256, hashed as it streams (a 2 GB recording is never held or copied)."""
        try:
            return cades.sha256_of(blobs.open_verified(self.sessions, self.store, sha256))
        except blobs.BlobMismatch as e:
            raise self._damaged(e) from e

    def _damaged(self, mismatch: blobs.BlobMismatch) -> ItemError:
        blobs.report(self.sessions, mismatch, f"signing batch {self.batch_id}", self.actor_id)
        return ItemError(
            "Dữ liệu lưu trữ của tài liệu không khớp mã băm đã ghi nhận (bị thay đổi hoặc hỏng): không ký. "
            "Đã báo cho cán bộ lưu trữ.",
            "The document's stored bytes do not match their recorded hash (altered or damaged): not signed. "
            "The archivist has been told.",
        )

    def _unsigned_item(self, item_id: int) -> tuple[ApprovalBatch, ApprovalItem, Record] | None:
        """Inside a write transaction: the lease is still ours, and the item is not done yet (never twice)."""
        batch = self.claim(f"item:{item_id}")
        item = self.session.get(ApprovalItem, item_id, populate_existing=True)
        assert item is not None
        if item.sign_state != SignState.unsigned.value:
            return None  # an earlier run finished it after all
        record = self.session.get(Record, item.record_id, populate_existing=True)
        assert record is not None
        return batch, item, record

    def commit_signed(self, item_id: int, data: bytes, signed: pades.Signed, level: str) -> None:
        received = ingest.store_bytes(self.store, self.settings.tmp_dir, data, len(data) + 1)
        self.commit_group([(item_id, received, signed, level)])

    def commit_group(self, entries: list[tuple[int, ingest.Received, pades.Signed, str]]) -> None:
        """One transaction for several signed items (their blobs are already stored): one commit, one fsync.

        Each item is still claimed on its own inside the transaction, so an item signed by an earlier
        run is skipped and the lease is checked; a failure takes the whole group back, and the next
        run signs those items again (their stored blobs are then unreferenced, collectable garbage).
        """
        signed_now = 0
        with ingest.versioning(self.session, self.store) as written:
            deferred: list[tuple[str, dict[str, Any]]] = []
            actor = self.actor()
            batch = self.hold_batch()  # the lease, checked (and extended) once for the group
            ids = [entry[0] for entry in entries]
            fresh = {"populate_existing": True}
            items = {
                i.id: i
                for i in self.session.scalars(
                    select(ApprovalItem).where(ApprovalItem.id.in_(ids)).execution_options(**fresh)
                )
            }
            record_ids = [i.record_id for i in items.values()]
            records = {
                r.id: r
                for r in self.session.scalars(
                    select(Record).where(Record.id.in_(record_ids)).execution_options(**fresh)
                )
            }
            bases = {
                (v.record_id, v.number): v
                for v in self.session.scalars(select(Version).where(Version.record_id.in_(record_ids)))
            }
            for item_id, received, signed, level in entries:
                item = items[item_id]
                if item.sign_state != SignState.unsigned.value:
                    continue  # an earlier run finished it after all (never twice)
                self.consume(f"item:{item_id}")
                record = records[item.record_id]
                record.status = RecordStatus.approved.value
                also = self.detached_too.get(item_id)
                base = bases[(record.id, also[0] if also else item.version_number)]
                extra = rendition.audit_details(item.version_number, also)
                version = ingest.commit_version(
                    self.session,
                    self.store,
                    actor,
                    record,
                    received,
                    _signed_name(base.original_filename),
                    written,
                    "record.signed",
                    {"batch_id": batch.id, "signed_version_of": base.number, "level": level, **extra},
                    kind=VersionKind.signed,
                    deferred=deferred,
                    derived_from=base,
                )
                if also is not None:  # the original's hash and its .p7s, beside the stamped rendition
                    self._add_detached(record, item.version_number, also[1], batch, level)
                place = {"page": signed.page_index, "box": signed.box, "stamp": signed.place.value}
                self.session.add(
                    signature_row(
                        record.id, version.number, SignatureKind.pades, None, batch, self.key, level,
                        signed.signed_at, place,
                    )
                )  # fmt: skip
                item.sign_state = SignState.signed.value
                item.signed_version = version.number
                item.stamp_place = signed.place.value
                if signed.place in placement.NOTEWORTHY:
                    self.report.placed.append(
                        {"item_id": item.id, "record_id": record.id, "title": record.title, "stamp_place": signed.place}
                    )
                signed_now += 1
            ingest.write_sidecars(self.store, deferred, written)
        self.report.signed += signed_now

    def _add_detached(
        self, record: Record, number: int, p7s: ingest.Received, batch: ApprovalBatch, level: str
    ) -> None:
        """Beside the stamped rendition: the original's detached CAdES signature, in the same transaction."""
        if self.session.get(Blob, p7s.sha256) is None:
            self.session.add(Blob(sha256=p7s.sha256, size=p7s.size, media_type=P7S, version_id=p7s.version_id))
        cades_level = "B-B" if level == "B-B" else "B-T"
        detached = {"stamp": StampPlace.detached.value}
        self.session.add(
            signature_row(
                record.id, number, SignatureKind.cades_detached, p7s.sha256, batch, self.key, cades_level,
                datetime.now(UTC), detached,
            )
        )  # fmt: skip

    def commit_detached(self, item_id: int, p7s: bytes, level: str) -> None:
        received = ingest.store_bytes(self.store, self.settings.tmp_dir, p7s, len(p7s) + 1)
        with write_transaction(self.session):
            claimed = self._unsigned_item(item_id)
            if claimed is None:
                return
            batch, item, record = claimed
            if self.session.get(Blob, received.sha256) is None:
                self.session.add(
                    Blob(sha256=received.sha256, size=received.size, media_type=P7S, version_id=received.version_id)
                )
            record.status = RecordStatus.approved.value
            record.updated_at = utcnow()
            self.session.add(
                signature_row(
                    record.id,
                    item.version_number,
                    SignatureKind.cades_detached,
                    received.sha256,
                    batch,
                    self.key,
                    level,
                    datetime.now(UTC),
                    {"stamp": StampPlace.detached.value},
                )
            )
            item.sign_state = SignState.signed.value
            item.signed_version = item.version_number
            item.stamp_place = StampPlace.detached.value
            audit.append(
                self.session,
                actor=self.actor(),
                action="record.signed",
                object_type="record",
                object_id=record.id,
                school_id=record.school_id,
                record_id=record.id,
                details={
                    "batch_id": batch.id,
                    "version": item.version_number,
                    "detached_sha256": received.sha256,
                    "level": f"CAdES-{level}",
                },
            )
        self.report.signed += 1

    def commit_failed(self, item_id: int, error: HosoError) -> None:
        with write_transaction(self.session):
            claimed = self._unsigned_item(item_id)
            if claimed is None:
                return
            batch, item, _record = claimed
            item.sign_state = SignState.failed.value
            item.error = error.vi
            audit.append(
                self.session,
                actor=self.actor(),
                action="record.sign_failed",
                object_type="record",
                object_id=item.record_id,
                school_id=batch.school_id,
                record_id=item.record_id,
                details={"batch_id": batch.id, "error": error.en},
            )
        self.report.failed.append({"item_id": item_id, "record_id": item.record_id, "error": error.vi})

    def pause(self, message: str) -> None:
        self.session.rollback()
        with write_transaction(self.session):
            self.session.execute(
                update(ApprovalBatch)
                .where(ApprovalBatch.id == self.batch_id, ApprovalBatch.lease_owner == self.owner)
                .values(state=BatchState.open.value, lease_owner=None, lease_until=None, last_error=message)
                .execution_options(synchronize_session=False)
            )
            audit.append(
                self.session,
                actor=self.actor(),
                action="approval_batch.paused",
                object_type="approval_batch",
                object_id=self.batch_id,
                details={"error": message},
            )


# -- helpers ---------------------------------------------------------------------------------------


def versions_of(session: Session, record_id: str) -> list[Any]:
    return list(session.scalars(select(Version).where(Version.record_id == record_id)))


def _signed_name(filename: str) -> str:
    stem = filename[:-4] if filename.lower().endswith(".pdf") else filename
    return f"{stem}-da-ky.pdf"


def signature_row(
    record_id: str,
    version_number: int,
    kind: SignatureKind,
    detached_sha256: str | None,
    batch: ApprovalBatch,
    key: KeySource,
    level: str,
    signed_at: datetime,
    details: dict[str, Any],
) -> Signature:
    info = keys.describe(key.certificate)
    return Signature(
        record_id=record_id,
        version_number=version_number,
        kind=kind.value,
        detached_sha256=detached_sha256,
        batch_id=batch.id,
        signer_id=batch.signer_id,
        signer_subject=info["subject"][:500],
        signer_serial=info["serial"],
        signer_issuer=info["issuer"][:500],
        level=level if kind == SignatureKind.pades else f"CAdES-{level}",
        signed_at=signed_at,
        details=details,
    )
