"""Signing with the key on the principal's PC: the server prepares, the PC signs digests, the server finishes.

A principal's USB token is plugged into their own PC, not into the server. So the server does all
the document work (pyHanko's interrupted signing): it allocates each signature in its PDF, computes
the CMS signed attributes for the principal's certificate and hands out their SHA-256. The PC
signs every digest after one PIN (`hoso sign-month --server`, or `hoso sign-agent` for the web
page) and posts the signature values back; the server checks each one against the certificate and
the digest it prepared, embeds it, and finishes: timestamp (B-T), revocation info (B-LT), document
timestamp (B-LTA). The signed version is committed exactly as a server-side run commits it.

A preparation lives until `HOSO_SIGNING_PREPARED_SECONDS`; its document waits under
`work/prepared/` in the object store, so any server instance can finish it and a restart loses
nothing acknowledged. Items are prepared in chunks; once they are all signed the next `prepare`
hands out the approval record, and completing that closes the batch.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import aiohttp
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from sqlalchemy import delete, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from archive import audit
from archive.db import utcnow, write_transaction
from archive.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from archive.models import Person, Record, new_uuid
from archive.storage import ObjectMissing, ObjectStore
from signing import batch as batch_runner
from signing import cades, keys, levels, ownership, pades, trust, workflow
from signing.exceptions import ItemError, LeaseLost
from signing.keys import KeySource, check_signature_value, client_key
from signing.models import ApprovalBatch, ApprovalItem, BatchState, PreparedSignature, StampPlace, left_to_sign
from signing.settings import SigningSettings

WORK_PREFIX = "work/prepared/"
PREPARE_LIMIT = 100


class PreparationExpired(Conflict):
    code = "preparation_expired"


@dataclass(frozen=True)
class _Row:
    """What finishing needs from a preparation, read before the session closes."""

    id: str
    target: str
    item_id: int | None
    record_id: str
    kind: str
    level: str
    signed_attrs: bytes
    document_digest: str | None
    reserved_start: int | None
    reserved_end: int | None
    work_key: str | None
    details: dict[str, Any]
    created_at: datetime


class ClientRun(batch_runner.SigningRun):
    """A batch run whose signature values come from the principal's PC instead of a key held here."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: ObjectStore,
        settings: SigningSettings,
        batch_id: str,
        actor_id: int,
        key: KeySource,
        consumes: dict[str, str] | None = None,
    ) -> None:
        super().__init__(sessions, store, settings, batch_id, actor_id, key)
        self.consumes = consumes or {}
        self.prepared: list[dict[str, Any]] = []

    def hold_batch(self) -> ApprovalBatch:
        batch = self.session.get(ApprovalBatch, self.batch_id, populate_existing=True)
        assert batch is not None
        if batch.state == BatchState.signed.value:
            raise LeaseLost("Đợt duyệt này đã được ký xong.", "This batch has already been signed.")
        if batch.state == BatchState.signing.value and batch.lease_until and batch.lease_until > utcnow():
            raise LeaseLost("Đợt duyệt đang được ký trên máy chủ.", "The batch is being signed on the server.")
        return batch

    def consume(self, target: str) -> None:
        """Storing a signature consumes its live preparation, in the same transaction (never twice)."""
        prepared_id = self.consumes.get(target)
        if prepared_id is None:  # an item failing while it is prepared: no preparation to consume
            return
        gone = cast(
            CursorResult[Any],
            self.session.execute(
                delete(PreparedSignature)
                .where(
                    PreparedSignature.id == prepared_id,
                    PreparedSignature.target == target,
                    PreparedSignature.expires_at > utcnow(),
                )
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        if gone != 1:
            raise PreparationExpired(
                "Tài liệu đã chuẩn bị để ký đã hết hạn; hãy chuẩn bị và ký lại.",
                "The prepared document expired; prepare and sign it again.",
                prepared_id=prepared_id,
            )

    # -- preparing -----------------------------------------------------------------------------

    def _save_prepared(
        self, target: str, item_id: int | None, record_id: str, title: str, level: str, made: Any
    ) -> None:
        prepared_id = new_uuid()
        work_key = None
        if isinstance(made, pades.Prepared):
            work_key = f"{WORK_PREFIX}{prepared_id}.pdf"
            self.store.put(work_key, io.BytesIO(made.pdf), len(made.pdf), content_type="application/pdf")
            attrs = made.signed_attrs
        else:
            attrs = made
        now = utcnow()
        row = PreparedSignature(
            id=prepared_id,
            batch_id=self.batch_id,
            target=target,
            item_id=item_id,
            record_id=record_id,
            kind="pades" if work_key else "cades_detached",
            signer_id=self.actor_id,
            certificate=self.key.certificate.dump(),
            chain=[base64.b64encode(c.dump()).decode() for c in self.key.chain],
            level=level,
            signed_attrs=attrs,
            digest=_sha256(attrs),
            document_digest=made.document_digest.hex() if work_key else None,
            reserved_start=made.reserved_start if work_key else None,
            reserved_end=made.reserved_end if work_key else None,
            work_key=work_key,
            details={"page": made.page_index, "box": made.box, "stamp": made.place.value} if work_key else {},
            created_at=now,
            expires_at=now + timedelta(seconds=self.settings.signing_prepared_seconds),
        )
        try:
            with write_transaction(self.session):
                self.hold_batch()
                self.session.add(row)
        except IntegrityError:
            self.session.rollback()
            _drop(self.store, work_key)
            raise Conflict(
                "Một phiên ký khác vừa chuẩn bị tài liệu này; hãy thử lại.",
                "Another signing session has just prepared this document; try again.",
            ) from None
        self.prepared.append(
            {
                "id": prepared_id,
                "target": target,
                "record_id": record_id,
                "title": title,
                "kind": row.kind,
                "digest_algorithm": "sha256",
                "digest": row.digest,
                "signed_attributes": base64.b64encode(attrs).decode(),
            }
        )

    async def prepare_all(self, item_ids: list[int], with_record: bool, level: str) -> None:
        batch = await self.db(self.hold_batch)
        when = datetime.now(UTC)
        setup = pades.PadesSetup(
            self.key.signer,
            level,
            self.stamp(batch, when),
            self.settings.stamp_page,
            None,
            None,
            self.reason(batch),
            stamp_fallback=self.settings.stamp_fallback,
        )
        for item_id in item_ids:
            item, sha256, size, media_type = await self.db(self.load_item, item_id)
            target = f"item:{item_id}"
            try:
                if media_type == batch_runner.PDF and size <= batch_runner.IN_MEMORY_LIMIT:
                    data = await asyncio.to_thread(self.read, sha256)
                    made: Any = await pades.prepare(setup, data, f"HOSO_DUYET_{self.batch_id[:8]}_{item_id}")
                else:
                    digest = await asyncio.to_thread(self.digest, sha256)
                    made = await cades.prepare_detached(self.key.signer, digest)  # type: ignore[arg-type]
            except ItemError as e:
                await self.db(self.commit_failed, item_id, e)
                continue
            await self.db(self._save_prepared, target, item_id, item.record_id, item.record.title, level, made)
        if with_record:
            record_id, sha256 = await self.db(self.approval_record, when)
            data = await asyncio.to_thread(self.read, sha256)
            made = await pades.prepare(setup, data, f"HOSO_BIEN_BAN_{self.batch_id[:8]}")
            title = await self.db(self._record_title, record_id)
            await self.db(self._save_prepared, f"record:{self.batch_id}", None, record_id, title, level, made)

    def _record_title(self, record_id: str) -> str:
        record = self.session.get(Record, record_id)
        assert record is not None
        title = record.title
        self.session.commit()
        return title

    # -- finishing -----------------------------------------------------------------------------

    async def complete_all(self, rows: list[_Row], values: dict[str, bytes]) -> None:
        async with aiohttp.ClientSession() as http:
            vc = None
            if any(r.level in ("B-LT", "B-LTA") for r in rows):
                vc = trust.validation_context(
                    self.settings, other_certs=self.key.chain, fetcher_backend=AIOHttpFetcherBackend(http)
                )
            setups: dict[str, pades.PadesSetup] = {}  # one TSA client per level, not per document
            for row in rows:
                if row.level not in setups:
                    setups[row.level] = pades.PadesSetup.build(
                        self.key.signer,
                        row.level,
                        None,
                        self.settings.stamp_page,
                        self.settings.tsa_url,
                        vc,
                        "",
                        http=http,
                    )
                await self.complete_one(setups[row.level], row, values[row.id])

    async def complete_one(self, setup: pades.PadesSetup, row: _Row, value: bytes) -> None:
        if row.kind == "cades_detached":
            p7s = await cades.finish_detached(self.key.signer, row.signed_attrs, value, setup.timestamper)
            assert row.item_id is not None
            await self.db(self.commit_detached, row.item_id, p7s, "B-B" if row.level == "B-B" else "B-T")
            return
        assert row.work_key and row.document_digest and row.reserved_start is not None and row.reserved_end is not None
        data = await asyncio.to_thread(self._read_key, row.work_key)
        prepared = pades.Prepared(
            pdf=data,
            document_digest=bytes.fromhex(row.document_digest),
            reserved_start=row.reserved_start,
            reserved_end=row.reserved_end,
            signed_attrs=row.signed_attrs,
            page_index=row.details.get("page", 0),
            box=tuple(row.details["box"]) if row.details.get("box") else None,
            place=StampPlace(row.details.get("stamp", StampPlace.last_page.value)),
        )
        pdf = await pades.finish(setup, prepared, value)
        signed = pades.Signed(
            pdf=pdf, page_index=prepared.page_index, box=prepared.box, signed_at=row.created_at, place=prepared.place
        )
        if row.item_id is not None:
            await self.db(self.commit_signed, row.item_id, pdf, signed, row.level)
        else:
            await self.db(self.close_batch, row.record_id, signed)
        await asyncio.to_thread(_drop, self.store, row.work_key)

    def _read_key(self, key: str) -> bytes:
        return b"".join(self.store.get(key))


# -- the two requests ------------------------------------------------------------------------------


def prepare(
    sessions: sessionmaker[Session],
    store: ObjectStore,
    settings: SigningSettings,
    batch_id: str,
    actor: Person,
    key: KeySource,
    level: str | None = None,
    limit: int = PREPARE_LIMIT,
    confirm_certificate: str | None = None,
) -> dict[str, Any]:
    """Prepare the next chunk of the batch for signatures made on the principal's PC.

    The certificate the PC sent must be the principal's (signing/ownership.py): its first use
    needs `confirm_certificate`, another person's is refused before anything is prepared."""
    level = levels.level_for(settings, levels.Purpose.approval, level)
    if not 1 <= limit <= 500:
        raise InvalidInput("Số tài liệu mỗi lần chuẩn bị phải từ 1 đến 500.", "The limit must be 1 to 500.")
    with sessions() as session:
        batch, title = batch_runner.check_ready(session, settings, batch_id, actor, key, level, confirm_certificate)
        now = utcnow()
        if batch.state == BatchState.signing.value and batch.lease_until and batch.lease_until > now:
            raise Conflict("Đợt duyệt đang được ký trên máy chủ; hãy đợi.", "The batch is being signed on the server.")
        others = session.scalar(
            select(PreparedSignature.id).where(
                PreparedSignature.batch_id == batch_id,
                PreparedSignature.signer_id != actor.id,
                PreparedSignature.expires_at > now,
            )
        )
        if others:
            raise Conflict(
                "Một người khác đang ký đợt duyệt này trên máy của họ.",
                "Someone else is signing this batch on their PC.",
            )
        with write_transaction(session):
            stale = list(session.scalars(select(PreparedSignature).where(PreparedSignature.batch_id == batch_id)))
            stale_keys = [row.work_key for row in stale]
            for row in stale:  # expired, or this signer's earlier round that never came back
                session.delete(row)
            batch.signer_id, batch.signer_title, batch.level, batch.key_source = actor.id, title, level, key.kind
            batch.started_at = batch.started_at or now
            batch.last_error = None
            audit.append(
                session,
                actor=actor,
                action="approval_batch.prepared",
                object_type="approval_batch",
                object_id=batch_id,
                school_id=batch.school_id,
                details={"level": level, "key_source": key.kind, **keys.describe(key.certificate)},
            )
        for work_key in stale_keys:
            _drop(store, work_key)
        todo = list(
            session.scalars(
                select(ApprovalItem.id).where(left_to_sign(batch_id)).order_by(ApprovalItem.id).limit(limit)
            )
        )
        session.commit()
    run = ClientRun(sessions, store, settings, batch_id, actor.id, key)
    try:
        asyncio.run(run.prepare_all(todo, with_record=not todo, level=level))
    finally:
        run.session.close()
    with sessions() as session:
        counts = workflow.counts(session, batch_id)
    return {
        "batch_id": batch_id,
        "level": level,
        "expires_in": settings.signing_prepared_seconds,
        "items": run.prepared,
        "failed": run.report.failed,
        "counts": counts,
    }


def complete(
    sessions: sessionmaker[Session],
    store: ObjectStore,
    settings: SigningSettings,
    batch_id: str,
    actor: Person,
    values: dict[str, bytes],
) -> dict[str, Any]:
    """Check every returned signature value, then embed and finish each (all checked before any is stored)."""
    if not values:
        raise InvalidInput("Không có chữ ký nào được gửi lên.", "No signatures were sent.")
    with sessions() as session:
        found = {
            r.id: r for r in session.scalars(select(PreparedSignature).where(PreparedSignature.id.in_(list(values))))
        }
        missing = [i for i in values if i not in found or found[i].batch_id != batch_id]
        if missing:
            raise NotFound(
                "Không có tài liệu đã chuẩn bị với mã này (có thể đã ký xong hoặc bị thay bằng lần chuẩn bị mới).",
                "No prepared document with this id (it may be signed already or replaced by a newer preparation).",
                ids=missing[:10],
            )
        rows = [found[i] for i in values]
        if any(r.signer_id != actor.id for r in rows):
            raise Forbidden("Chỉ người đã chuẩn bị mới được ký các tài liệu này.", "Only the preparer may sign these.")
        now = utcnow()
        expired = [r.id for r in rows if r.expires_at <= now]
        if expired:
            raise PreparationExpired(
                "Tài liệu đã chuẩn bị để ký đã hết hạn; hãy chuẩn bị và ký lại.",
                "The prepared documents expired; prepare and sign them again.",
                ids=expired[:10],
            )
        if len({r.certificate for r in rows}) != 1:
            raise InvalidInput("Mỗi lần gửi chỉ ký bằng một chứng thư số.", "One request, one signing certificate.")
        key = client_key(rows[0].certificate, [base64.b64decode(c) for c in rows[0].chain])
        ownership.require_signer(session, actor, key.certificate, None)  # revoked since it was prepared?
        wrong = [r.id for r in rows if not check_signature_value(key.certificate, r.signed_attrs, values[r.id])]
        if wrong:
            raise InvalidInput(
                "Chữ ký không khớp với tài liệu đã chuẩn bị và chứng thư số; không tài liệu nào được lưu.",
                "A signature does not match its prepared digest and certificate; nothing was stored.",
                ids=wrong[:10],
            )
        plain = [
            _Row(
                r.id,
                r.target,
                r.item_id,
                r.record_id,
                r.kind,
                r.level,
                r.signed_attrs,
                r.document_digest,
                r.reserved_start,
                r.reserved_end,
                r.work_key,
                dict(r.details),
                r.created_at,
            )
            for r in rows
        ]
        session.commit()
    run = ClientRun(sessions, store, settings, batch_id, actor.id, key, consumes={r.target: r.id for r in plain})
    try:
        asyncio.run(run.complete_all(sorted(plain, key=lambda r: r.item_id is None), values))
    finally:
        run.session.close()
    with sessions() as session:
        batch = workflow.load_batch(session, batch_id)
        return {
            "batch_id": batch_id,
            "state": batch.state,
            "signed": run.report.signed + (1 if run.report.approval_record_id else 0),
            "placed": run.report.placed,  # items whose signature is not on the usual page (say so)
            "approval_record_id": batch.approval_record_id if batch.state == BatchState.signed.value else None,
            "counts": workflow.counts(session, batch_id),
        }


def _drop(store: ObjectStore, key: str | None) -> None:
    if key is None:
        return
    with contextlib.suppress(ObjectMissing):
        store.delete(key)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
