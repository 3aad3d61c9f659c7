"""The signing half of a batch run: every approved item signed with one key, then the approval record.

Documents are signed a few at a time on one event loop, so the TSA round trips of B-T and above
overlap; the CPU work stays on one core. A PDF small enough is signed in memory (PAdES, visible
stamp); anything else gets a detached CAdES signature over its content, hashed as it streams.
What is stored, and under which right, is `signing/batch/persist.py`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime

import aiohttp
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from sqlalchemy.orm import Session, sessionmaker

from archive import ingest
from archive.models import Person
from archive.storage import ObjectStore
from signing import cades, levels, pades, periods, stamp, trust
from signing.batch import approval
from signing.batch.checks import begin
from signing.batch.persist import Progress, Report, SigningStore
from signing.exceptions import ItemError, LeaseLost, ServiceUnavailable
from signing.keys import KeySource
from signing.models import ApprovalBatch, BatchState
from signing.settings import SigningSettings

log = logging.getLogger(__name__)
PDF = "application/pdf"
IN_MEMORY_LIMIT = 64 * 1024 * 1024  # PDFs are signed in memory; anything larger is streamed (CAdES)


class SigningRun(SigningStore):
    """One run over what is left of a batch, with the key in this process: the public base of every run.

    `run()` signs the items and then the approval record (`finish`). A run whose signature values
    come from elsewhere (signing/remote.py, the principal's PC) reuses the steps below — `read`,
    `digest`, `stamp`, `reason`, `commit_signed`, `commit_detached`, `commit_failed`,
    `approval_record`, `close_batch` — and overrides only the hooks `hold_batch` and `consume`
    (signing/batch/persist.py says what each must do).
    """

    def stamp(self, batch: ApprovalBatch, when: datetime, image: bytes | None = None) -> stamp.Stamp:
        """The visible stamp of the batch, rendered once (DESIGN §9): title, the key's name, the time."""
        return stamp.render(
            title=batch.signer_title or "HIỆU TRƯỞNG",
            name=self.key.certificate.subject.native.get("common_name", ""),
            when=when,
            image=image,
            font=self.settings.stamp_font,
        )

    @staticmethod
    def reason(batch: ApprovalBatch) -> str:
        """The signature's stated reason: "Đã duyệt (tháng 11/2026)"."""
        return f"Đã duyệt ({periods.label(batch.period)})"

    async def sign_item(self, setup: pades.PadesSetup, item_id: int, level: str) -> Awaitable[None] | None:
        """Sign one item. A PDF's signed copy is stored and the wait for its group commit is returned,
        to be awaited outside the signing slot: the next document is signed meanwhile, and the
        commits gather into larger groups (one transaction and one fsync for many)."""
        plan = self.planned[item_id]
        sha256, size, media_type = plan.sha256, plan.size, plan.media_type
        try:
            if plan.rendition is not None and plan.rendition.size <= IN_MEMORY_LIMIT:
                return await self._sign_rendition(setup, item_id, level)
            if media_type == PDF and size <= IN_MEMORY_LIMIT:
                data = await asyncio.to_thread(self.read, sha256)
                signed = await pades.sign(setup, data, f"HOSO_DUYET_{self.batch_id[:8]}_{item_id}")
                tmp, limit = self.settings.tmp_dir, len(signed.pdf) + 1
                received = await asyncio.to_thread(ingest.store_bytes, self.store, tmp, signed.pdf, limit)
                return self.commits.submit((item_id, received, dataclasses.replace(signed, pdf=b""), level))
            digest = await asyncio.to_thread(self.digest, sha256)
            p7s = await cades.sign_digest(setup.signer, digest, setup.timestamper)
            await self.db(self.commit_detached, item_id, p7s, "B-B" if setup.level == "B-B" else "B-T")
        except ItemError as e:
            await self.db(self.commit_failed, item_id, e)
        return None

    async def _sign_rendition(self, setup: pades.PadesSetup, item_id: int, level: str) -> Awaitable[None]:
        """A DOCX/XLSX with its PDF rendition: the PDF the principal reviewed gets the visible stamp, the
        original its detached CAdES signature; both are stored in the stamped PDF's group commit."""
        plan = self.planned[item_id]
        assert plan.rendition is not None
        digest = await asyncio.to_thread(self.digest, plan.sha256)
        p7s = await cades.sign_digest(setup.signer, digest, setup.timestamper)
        tmp = self.settings.tmp_dir
        p7s_received = await asyncio.to_thread(ingest.store_bytes, self.store, tmp, p7s, len(p7s) + 1)
        data = await asyncio.to_thread(self.read, plan.rendition.blob_sha256)
        signed = await pades.sign(setup, data, f"HOSO_DUYET_{self.batch_id[:8]}_{item_id}")
        received = await asyncio.to_thread(ingest.store_bytes, self.store, tmp, signed.pdf, len(signed.pdf) + 1)
        self.detached_too[item_id] = (plan.rendition.number, p7s_received)
        return self.commits.submit((item_id, received, dataclasses.replace(signed, pdf=b""), level))

    def _progressed(self, item_id: int) -> None:
        if self.progress:
            self.progress(self.report.signed + len(self.report.failed), self.total, self.planned[item_id].title)

    async def run(self) -> Report:
        batch, todo, approved = await self.db(self._todo)
        self.total = approved
        level = batch.level or "B-B"
        when = datetime.now(UTC)
        stamp_pdf = self.stamp(batch, when, self.image)
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
                reason=self.reason(batch),
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
        record_id, sha256 = await self.db(self.approval_record, when)
        data = await asyncio.to_thread(self.read, sha256)
        signed = await pades.sign(setup, data, f"HOSO_BIEN_BAN_{self.batch_id[:8]}")
        await self.db(self.close_batch, record_id, signed)

    def approval_record(self, when: datetime) -> tuple[str, str]:
        """In the run's DB thread: the approval record (written once), as (record id, blob sha256)."""
        return approval.write_record(self, when)

    def close_batch(self, record_id: str, signed: pades.Signed) -> None:
        """In the run's DB thread: store the signed approval record and mark the batch signed."""
        approval.close_batch(self, record_id, signed)


def run(
    sessions: sessionmaker[Session],
    store: ObjectStore,
    settings: SigningSettings,
    batch_id: str,
    actor_id: int,
    key: KeySource,
    owner: str,
    progress: Progress | None = None,
    image: bytes | None = None,
) -> Report:
    """Sign what is left of the batch under the lease `owner`; pauses (state open) if a service is down."""
    job = SigningRun(sessions, store, settings, batch_id, actor_id, key, owner, progress, image)
    try:
        return asyncio.run(job.run())
    except ServiceUnavailable as e:
        job.pause(e.vi)
        job.report.state = BatchState.open.value
        job.report.paused = e.vi
        return job.report
    except LeaseLost:
        raise
    except BaseException as e:
        try:
            job.pause(f"Lỗi không mong đợi: {e}")
        except Exception:
            log.exception("could not release the lease of batch %s", batch_id)
        raise
    finally:
        job.session.close()


def sign_batch(
    sessions: sessionmaker[Session],
    store: ObjectStore,
    settings: SigningSettings,
    batch_id: str,
    actor: Person,
    key: KeySource,
    level: str | None = None,
    progress: Progress | None = None,
    confirm_certificate: str | None = None,
) -> Report:
    """Check, take the lease and run, in the caller's thread (the CLI)."""
    level = levels.level_for(settings, levels.Purpose.approval, level)
    with sessions() as session:
        owner = begin(session, settings, batch_id, actor, key, level, confirm_certificate)
    return run(sessions, store, settings, batch_id, actor.id, key, owner, progress)
