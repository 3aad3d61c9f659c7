"""Batch signing: one authorization signs every approved item of a batch, then the approval record.

The run takes a lease on the batch (a conditional UPDATE: of two requests, one wins). Each item is
signed in memory, its signed file stored under its content address, and then one transaction adds
the signed version, the signature row and marks the item signed — checking that the lease is still
ours. A run that dies leaves each item either signed once or untouched; the next run (after the
lease lapses) does the rest. The key lives only in this process, so a resumed run needs the
principal's authorization again; nothing secret is ever written down.

Documents are signed a few at a time on one event loop, so the TSA round trips of B-T and above
overlap; the CPU work stays on one core.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from archive import audit, blobs, ingest
from archive.db import utcnow, write_transaction
from archive.exceptions import Conflict, HosoError
from archive.models import Blob, Person, Record, RecordStatus, RecordType, VersionKind, new_uuid
from archive.settings import Settings
from archive.storage import ObjectStore
from signing import (
    approval_record,
    cades,
    certcheck,
    keys,
    ownership,
    pades,
    periods,
    placement,
    stamp,
    trust,
    workflow,
)
from signing.exceptions import ItemError, LeaseLost, ServiceUnavailable
from signing.keys import KeySource
from signing.models import (
    ApprovalBatch,
    ApprovalItem,
    BatchState,
    PreparedSignature,
    Signature,
    SignatureKind,
    SignState,
    StampPlace,
    left_to_sign,
)

log = logging.getLogger(__name__)
PDF = "application/pdf"
P7S = "application/pkcs7-signature"
IN_MEMORY_LIMIT = 64 * 1024 * 1024  # PDFs are signed in memory; anything larger is streamed (CAdES)

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


# -- starting: every check that can refuse happens before anything is signed ----------------------


def check_ready(
    session: Session,
    settings: Settings,
    batch_id: str,
    actor: Person,
    key: KeySource,
    level: str,
    confirm_certificate: str | None = None,
) -> tuple[ApprovalBatch, str]:
    """Every refusal, before anything is signed: signer, batch, level, certificate and whose it is
    (a first use registers it once `confirm_certificate` names its fingerprint); returns the signer's title."""
    batch = workflow.load_batch(session, batch_id)
    title = workflow.signer_title(actor, batch.school_id, workflow.batch_signer_roles(session, batch))
    if batch.state == BatchState.signed.value:
        raise Conflict("Đợt duyệt này đã được ký xong.", "This batch has already been signed.", batch_id=batch_id)
    counts = workflow.counts(session, batch_id)
    if counts["pending"]:
        raise Conflict(
            f"Còn {counts['pending']} hồ sơ chưa duyệt hoặc trả lại; hãy quyết định hết trước khi ký.",
            f"{counts['pending']} items are still undecided; decide them all before signing.",
            pending=counts["pending"],
        )
    if not counts["approved"] + counts["returned"]:
        raise Conflict("Đợt duyệt chưa có hồ sơ nào.", "The batch has no items.", batch_id=batch_id)
    live = session.scalar(
        select(func.count())
        .select_from(PreparedSignature)
        .where(PreparedSignature.batch_id == batch_id, PreparedSignature.expires_at > utcnow())
    )
    if live and key.kind != "client":
        raise Conflict(
            "Đợt duyệt đang được ký trên máy của hiệu trưởng (thiết bị ký số); hãy đợi hoặc để phiên đó hết hạn.",
            "The batch is being signed on the principal's PC (client-side key); wait, or let that session expire.",
            batch_id=batch_id,
        )
    pades.PadesSetup.check_level(level, settings.tsa_url)
    certcheck.check_signer(settings, key.certificate, key.chain)
    ownership.require_signer(session, actor, key.certificate, confirm_certificate)
    return batch, title


def begin(
    session: Session,
    settings: Settings,
    batch_id: str,
    actor: Person,
    key: KeySource,
    level: str,
    confirm_certificate: str | None = None,
) -> str:
    """Check the signer, the batch and the certificate, then take the lease; returns the lease token."""
    batch, title = check_ready(session, settings, batch_id, actor, key, level, confirm_certificate)
    owner = uuid.uuid4().hex
    now = utcnow()
    with write_transaction(session):
        taken = session.execute(
            update(ApprovalBatch)
            .where(
                ApprovalBatch.id == batch_id,
                (ApprovalBatch.state == BatchState.open.value)
                | ((ApprovalBatch.state == BatchState.signing.value) & (ApprovalBatch.lease_until < now)),
            )
            .values(
                state=BatchState.signing.value,
                lease_owner=owner,
                lease_until=now + timedelta(seconds=settings.signing_lease_seconds),
                signer_id=actor.id,
                signer_title=title,
                level=level,
                key_source=key.kind,
                started_at=now,
                last_error=None,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken != 1:
            raise Conflict(
                "Đợt duyệt đang được ký bởi một yêu cầu khác; hãy đợi.",
                "The batch is being signed by another request; wait for it.",
                batch_id=batch_id,
            )
        audit.append(
            session,
            actor=actor,
            action="approval_batch.signing_started",
            object_type="approval_batch",
            object_id=batch_id,
            school_id=batch.school_id,
            details={"level": level, "key_source": key.kind, **keys.describe(key.certificate)},
        )
    return owner


# -- running ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Planned:
    title: str
    sha256: str
    size: int
    media_type: str


class _GroupCommit:
    """Signed items wait here while the previous group commits; then they commit together.

    Documents are signed a few at a time, and committing each alone cost one SQLite/PostgreSQL
    commit (an fsync) and the sidecar's fsyncs, serialised: the database was half the batch's time.
    The first item commits at once; whatever finishes meanwhile forms the next group.
    """

    MAX = 64

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.waiting: list[tuple[Any, asyncio.Future[None]]] = []
        self.busy = False

    async def submit(self, entry: Any) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((entry, future))
        if not self.busy:
            self.busy = True
            asyncio.get_running_loop().create_task(self._drain())
        await future

    async def _drain(self) -> None:
        try:
            while self.waiting:
                group, self.waiting = self.waiting[: self.MAX], self.waiting[self.MAX :]
                try:
                    await self.run.db(self.run._commit_group, [entry for entry, _ in group])
                except BaseException as e:
                    for _, future in group:
                        if not future.done():
                            future.set_exception(e)
                else:
                    for _, future in group:
                        if not future.done():
                            future.set_result(None)
        finally:
            self.busy = False


class _Run:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: ObjectStore,
        settings: Settings,
        batch_id: str,
        actor_id: int,
        key: KeySource,
        owner: str,
        progress: Progress | None,
        image: bytes | None,
    ) -> None:
        self.sessions, self.store, self.settings = sessions, store, settings
        self.batch_id, self.actor_id, self.key, self.owner = batch_id, actor_id, key, owner
        self.progress = progress
        self.image = image
        self.session = sessions()
        self.lock = asyncio.Lock()
        self.report = Report(batch_id=batch_id, state=BatchState.signing.value)
        self.planned: dict[int, _Planned] = {}
        self.commits = _GroupCommit(self)

    # DB work runs in a worker thread, one piece at a time (the lock), on the run's own session.
    async def db(self, fn: Callable[..., Any], *args: Any) -> Any:
        async with self.lock:
            return await asyncio.to_thread(fn, *args)

    def _batch_in_tx(self) -> ApprovalBatch:
        batch = self.session.get(ApprovalBatch, self.batch_id, populate_existing=True)
        assert batch is not None
        if batch.lease_owner != self.owner or batch.state != BatchState.signing.value:
            raise LeaseLost(
                "Một yêu cầu ký khác đã tiếp quản đợt duyệt này.", "Another signing run took this batch over."
            )
        batch.lease_until = utcnow() + timedelta(seconds=self.settings.signing_lease_seconds)
        return batch

    def _claim(self, target: str) -> ApprovalBatch:
        """Inside the write transaction that stores a signature for `target`: may this run store it?"""
        batch = self._batch_in_tx()
        self._consume(target)
        return batch

    def _consume(self, target: str) -> None:
        """Storing a signature for `target` uses up whatever authorised it (a client-side run's preparation)."""

    def _actor(self) -> Person:
        actor = self.session.get(Person, self.actor_id)
        assert actor is not None
        return actor

    def _todo(self) -> tuple[ApprovalBatch, list[int], int]:
        """The items left to sign, with what signing each needs read in one query (not one per item)."""
        from archive.models import Version

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
        self.planned = {row[0]: _Planned(title=row[1], sha256=row[2], size=row[3], media_type=row[4]) for row in rows}
        approved = workflow.counts(self.session, self.batch_id)["approved"]
        self.session.commit()
        return batch, [row[0] for row in rows], approved

    def _load_item(self, item_id: int) -> tuple[ApprovalItem, str, int, str]:
        item = self.session.get(ApprovalItem, item_id, populate_existing=True)
        assert item is not None
        version = next(v for v in _versions(self.session, item.record_id) if v.number == item.version_number)
        self.session.commit()
        return item, version.blob_sha256, version.size, version.media_type

    # What is signed is what the teacher stored: the version hoso wrote, its hash checked on the way.
    # Bytes that fail their hash are never signed: that one item fails, the blob is reported.
    def _read(self, sha256: str) -> bytes:
        try:
            return b"".join(blobs.open_verified(self.sessions, self.store, sha256))
        except blobs.BlobMismatch as e:
            raise self._damaged(e) from e

    def _digest(self, sha256: str) -> bytes:
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
        batch = self._claim(f"item:{item_id}")
        item = self.session.get(ApprovalItem, item_id, populate_existing=True)
        assert item is not None
        if item.sign_state != SignState.unsigned.value:
            return None  # an earlier run finished it after all
        record = self.session.get(Record, item.record_id, populate_existing=True)
        assert record is not None
        return batch, item, record

    def _commit_signed(self, item_id: int, data: bytes, signed: pades.Signed, level: str) -> None:
        received = ingest.store_bytes(self.store, self.settings.tmp_dir, data, len(data) + 1)
        self._commit_group([(item_id, received, signed, level)])

    def _commit_group(self, entries: list[tuple[int, ingest.Received, pades.Signed, str]]) -> None:
        """One transaction for several signed items (their blobs are already stored): one commit, one fsync.

        Each item is still claimed on its own inside the transaction, so an item signed by an earlier
        run is skipped and the lease is checked; a failure takes the whole group back, and the next
        run signs those items again (their stored blobs are then unreferenced, collectable garbage).
        """
        signed_now = 0
        with ingest.versioning(self.session, self.store) as written:
            from archive.models import Version

            deferred: list[tuple[str, dict[str, Any]]] = []
            actor = self._actor()
            batch = self._batch_in_tx()  # the lease, checked (and extended) once for the group
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
                self._consume(f"item:{item_id}")
                record = records[item.record_id]
                record.status = RecordStatus.approved.value
                base = bases[(record.id, item.version_number)]
                version = ingest.commit_version(
                    self.session,
                    self.store,
                    actor,
                    record,
                    received,
                    _signed_name(base.original_filename),
                    written,
                    "record.signed",
                    {"batch_id": batch.id, "signed_version_of": item.version_number, "level": level},
                    kind=VersionKind.signed,
                    deferred=deferred,
                )
                self.session.add(
                    _signature_row(
                        record.id,
                        version.number,
                        SignatureKind.pades,
                        None,
                        batch,
                        self.key,
                        level,
                        signed.signed_at,
                        {"page": signed.page_index, "box": signed.box, "stamp": signed.place.value},
                    )
                )
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

    def _commit_detached(self, item_id: int, p7s: bytes, level: str) -> None:
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
                _signature_row(
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
                actor=self._actor(),
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

    def _commit_failed(self, item_id: int, error: HosoError) -> None:
        with write_transaction(self.session):
            claimed = self._unsigned_item(item_id)
            if claimed is None:
                return
            batch, item, _record = claimed
            item.sign_state = SignState.failed.value
            item.error = error.vi
            audit.append(
                self.session,
                actor=self._actor(),
                action="record.sign_failed",
                object_type="record",
                object_id=item.record_id,
                school_id=batch.school_id,
                record_id=item.record_id,
                details={"batch_id": batch.id, "error": error.en},
            )
        self.report.failed.append({"item_id": item_id, "record_id": item.record_id, "error": error.vi})

    def _pause(self, message: str) -> None:
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
                actor=self._actor(),
                action="approval_batch.paused",
                object_type="approval_batch",
                object_id=self.batch_id,
                details={"error": message},
            )

    async def sign_item(self, setup: pades.PadesSetup, item_id: int, level: str) -> Awaitable[None] | None:
        """Sign one item. A PDF's signed copy is stored and the wait for its group commit is returned,
        to be awaited outside the signing slot: the next document is signed meanwhile, and the
        commits gather into larger groups (one transaction and one fsync for many)."""
        plan = self.planned[item_id]
        sha256, size, media_type = plan.sha256, plan.size, plan.media_type
        try:
            if media_type == PDF and size <= IN_MEMORY_LIMIT:
                data = await asyncio.to_thread(self._read, sha256)
                signed = await pades.sign(setup, data, f"HOSO_DUYET_{self.batch_id[:8]}_{item_id}")
                tmp, limit = self.settings.tmp_dir, len(signed.pdf) + 1
                received = await asyncio.to_thread(ingest.store_bytes, self.store, tmp, signed.pdf, limit)
                return self.commits.submit((item_id, received, dataclasses.replace(signed, pdf=b""), level))
            digest = await asyncio.to_thread(self._digest, sha256)
            p7s = await cades.sign_digest(setup.signer, digest, setup.timestamper)
            await self.db(self._commit_detached, item_id, p7s, "B-B" if setup.level == "B-B" else "B-T")
        except ItemError as e:
            await self.db(self._commit_failed, item_id, e)
        return None

    def _progressed(self, item_id: int) -> None:
        if self.progress:
            self.progress(self.report.signed + len(self.report.failed), self.total, self.planned[item_id].title)

    async def run(self) -> Report:
        batch, todo, approved = await self.db(self._todo)
        self.total = approved
        level = batch.level or "B-B"
        when = datetime.now(UTC)
        stamp_pdf = stamp.render(
            title=batch.signer_title or "HIỆU TRƯỞNG",
            name=self.key.certificate.subject.native.get("common_name", ""),
            when=when,
            image=self.image,
            font=self.settings.stamp_font,
        )
        async with aiohttp.ClientSession() as http:
            if self.key.attach is not None:
                self.key.attach(http)
            vc = None
            if level in ("B-LT", "B-LTA"):
                vc = trust.validation_context(
                    self.settings, other_certs=self.key.chain, fetcher_backend=AIOHttpFetcherBackend(http)
                )
            setup = pades.PadesSetup.build(
                self.key.signer,
                level,
                stamp_pdf,
                self.settings.stamp_page,
                self.settings.tsa_url,
                vc,
                reason=f"Đã duyệt ({periods.label(batch.period)})",
                http=http,
                stamp_fallback=self.settings.stamp_fallback,
            )
            self.setup = setup
            gate = asyncio.Semaphore(self.settings.signing_concurrency)

            async def one(item_id: int) -> None:
                async with gate:
                    committed = await self.sign_item(setup, item_id, level)
                if committed is not None:  # waits for its group's commit without holding a signing slot
                    await committed
                self._progressed(item_id)

            tasks = [asyncio.create_task(one(i)) for i in todo]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
            await self.finish(setup, when)
        return self.report

    async def finish(self, setup: pades.PadesSetup, when: datetime) -> None:
        """The approval record, generated once, signed with the same key; then the batch closes."""
        record_id = await self.db(self._approval_record, when)
        data = await asyncio.to_thread(self._read, record_id[1])
        signed = await pades.sign(setup, data, f"HOSO_BIEN_BAN_{self.batch_id[:8]}")
        await self.db(self._close, record_id[0], signed)

    def _approval_record(self, when: datetime) -> tuple[str, str]:
        batch = self.session.get(ApprovalBatch, self.batch_id, populate_existing=True)
        assert batch is not None
        if batch.approval_record_id:
            record = self.session.get(Record, batch.approval_record_id)
            assert record is not None
            first = next(v for v in _versions(self.session, record.id) if v.number == 1)
            self.session.commit()
            return record.id, first.blob_sha256
        items = workflow.items_of(self.session, self.batch_id)
        rows = []
        for item in items:
            version = next(v for v in _versions(self.session, item.record_id) if v.number == item.version_number)
            r = item.record
            rows.append(
                approval_record.Row(
                    teacher=r.author.full_name,
                    subject=r.subject or "",
                    grade=(r.class_name or (str(r.grade) if r.grade else "")),
                    title=r.title,
                    decision=item.decision,
                    sign_state=item.sign_state,
                    sha256=version.blob_sha256,
                    comment=item.comment,
                    record_type=r.record_type.name_vi,
                    stamp_place=item.stamp_place,
                )
            )
        pdf = approval_record.render(
            school=batch.school.name,
            period=batch.period,
            signer=self.key.certificate.subject.native.get("common_name", ""),
            signer_title=batch.signer_title or "",
            when=when,
            rows=rows,
            round_=batch.round,
        )
        received = ingest.store_bytes(self.store, self.settings.tmp_dir, pdf, len(pdf) + 1)
        with ingest.versioning(self.session, self.store) as written:
            batch = self._batch_in_tx()
            actor = self._actor()
            rtype = self.session.scalar(select(RecordType).where(RecordType.code == "approval_record"))
            if rtype is None:
                raise HosoError(
                    "Thiếu loại hồ sơ 'approval_record' (chạy hoso db upgrade).",
                    "Record type 'approval_record' is missing (run hoso db upgrade).",
                )
            now = utcnow()
            record = Record(
                id=new_uuid(),
                school_id=batch.school_id,
                record_type_id=rtype.id,
                author_id=actor.id,
                title=approval_record.title([row.record_type for row in rows], batch.period, batch.round),
                school_year=periods.school_year_of(batch.period),
                month=periods.month_of(batch.period),
                status=RecordStatus.approved.value,
                doc_metadata={"typeName": "Biên bản", "organName": batch.school.name, "language": "vi"},
                current_version=0,
                created_at=now,
                updated_at=now,
            )
            record.school, record.record_type, record.author = batch.school, rtype, actor
            self.session.add(record)
            self.session.flush()
            ingest.commit_version(
                self.session,
                self.store,
                actor,
                record,
                received,
                f"bien-ban-duyet-{batch.period}.pdf",
                written,
                "record.created",
                {"title": record.title, "batch_id": batch.id},
            )
            batch.approval_record_id = record.id
        return record.id, received.sha256

    def _close(self, record_id: str, signed: pades.Signed) -> None:
        received = ingest.store_bytes(self.store, self.settings.tmp_dir, signed.pdf, len(signed.pdf) + 1)
        with ingest.versioning(self.session, self.store) as written:
            batch = self._claim(f"record:{self.batch_id}")
            actor = self._actor()
            record = self.session.get(Record, record_id, populate_existing=True)
            assert record is not None
            if record.current_version == 1:
                version = ingest.commit_version(
                    self.session,
                    self.store,
                    actor,
                    record,
                    received,
                    f"bien-ban-duyet-{batch.period}-da-ky.pdf",
                    written,
                    "record.signed",
                    {"batch_id": batch.id, "level": batch.level},
                    kind=VersionKind.signed,
                )
                self.session.add(
                    _signature_row(
                        record.id,
                        version.number,
                        SignatureKind.pades,
                        None,
                        batch,
                        self.key,
                        batch.level or "B-B",
                        signed.signed_at,
                        {"page": signed.page_index, "box": signed.box, "stamp": signed.place.value},
                    )
                )
            batch.state = BatchState.signed.value
            batch.finished_at = utcnow()
            batch.lease_owner = None
            batch.lease_until = None
            counts = workflow.counts(self.session, batch.id)
            audit.append(
                self.session,
                actor=actor,
                action="approval_batch.signed",
                object_type="approval_batch",
                object_id=batch.id,
                school_id=batch.school_id,
                details={**counts, "approval_record_id": record_id, "level": batch.level},
            )
        self.report.state = BatchState.signed.value
        self.report.approval_record_id = record_id


def run(
    sessions: sessionmaker[Session],
    store: ObjectStore,
    settings: Settings,
    batch_id: str,
    actor_id: int,
    key: KeySource,
    owner: str,
    progress: Progress | None = None,
    image: bytes | None = None,
) -> Report:
    """Sign what is left of the batch under the lease `owner`; pauses (state open) if a service is down."""
    job = _Run(sessions, store, settings, batch_id, actor_id, key, owner, progress, image)
    try:
        return asyncio.run(job.run())
    except ServiceUnavailable as e:
        job._pause(e.vi)
        job.report.state = BatchState.open.value
        job.report.paused = e.vi
        return job.report
    except LeaseLost:
        raise
    except BaseException as e:
        try:
            job._pause(f"Lỗi không mong đợi: {e}")
        except Exception:
            log.exception("could not release the lease of batch %s", batch_id)
        raise
    finally:
        job.session.close()


def sign_batch(
    sessions: sessionmaker[Session],
    store: ObjectStore,
    settings: Settings,
    batch_id: str,
    actor: Person,
    key: KeySource,
    level: str | None = None,
    progress: Progress | None = None,
    confirm_certificate: str | None = None,
) -> Report:
    """Check, take the lease and run, in the caller's thread (the CLI)."""
    level = level or settings.default_signature_level
    with sessions() as session:
        owner = begin(session, settings, batch_id, actor, key, level, confirm_certificate)
    return run(sessions, store, settings, batch_id, actor.id, key, owner, progress)


def signatures_needed(session: Session, batch_id: str) -> int:
    """How many signatures the rest of the batch takes: unsigned approved items, plus the approval record."""
    left = session.scalar(select(func.count()).select_from(ApprovalItem).where(left_to_sign(batch_id)))
    return (left or 0) + 1


# -- helpers ---------------------------------------------------------------------------------------


def _versions(session: Session, record_id: str) -> list[Any]:
    from archive.models import Version

    return list(session.scalars(select(Version).where(Version.record_id == record_id)))


def _signed_name(filename: str) -> str:
    stem = filename[:-4] if filename.lower().endswith(".pdf") else filename
    return f"{stem}-da-ky.pdf"


def _signature_row(
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
