"""The rendition job: a DOCX or XLSX becomes a PDF stored as a new `derived` version beside it.

The original is never touched: its bytes are read (their hash checked on the way) into a private
folder, LibreOffice writes a PDF there, and the PDF goes through the same steps as an upload —
identified (`archive.formats`), put under its own content address, then version + sidecar + audit
event committed in one transaction with the rendition marked done. A crash before that commit
leaves the job to run again after its lease (jobs are leases, `archive.jobs`); one after it is
found done and only finished.

Several jobs are converted by one office process (`rendition_batch`): measured, that is what makes
a rendition cheap (libreoffice.py). If that process runs past its limit or leaves a document
unmade, each unmade one is tried again alone under its own limit, so a document that hangs the
office fails its own job and no other. A failed attempt is retried with the jobs table's back-off;
the last one marks the rendition failed with a Vietnamese reason the record page shows, and the
original stays what it was: viewable, downloadable, and signable with its detached signature.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import audit, blobs, ingest, jobs, mediatype
from archive.db import utcnow, write_transaction
from archive.exceptions import HosoError
from archive.models import Job, JobState, Record, Rendition, RenditionState, Version, VersionKind
from archive.renditions import RENDITION_JOB
from archive.spool import spool_stream
from flows.renditions import libreoffice, profiles
from flows.state import AppState

log = logging.getLogger(__name__)


@dataclass
class Work:
    """One claimed job and what converting it needs; `pdf` or `error` once tried."""

    job: Job
    rendition_id: int
    record_id: str
    source_number: int
    sha256: str
    media_type: str
    filename: str
    path: Path | None = None
    pdf: Path | None = None
    error: HosoError | None = None


# Why a rendition failed, as the record page says it (Vietnamese; English in api/web/i18n/en.json).
DAMAGED = (
    "Dữ liệu lưu trữ của tệp gốc không khớp mã băm (đã báo cán bộ lưu trữ).",
    "The original's stored bytes do not match their hash (the archivist has been told).",
)
NOT_INSTALLED = ("Máy chủ chưa cài LibreOffice.", "LibreOffice is not installed on the server.")
TIMED_OUT = (
    "LibreOffice không chuyển xong tệp trong thời hạn cho phép (tệp quá phức tạp hoặc bị lỗi).",
    "LibreOffice did not finish converting the file in the time allowed (too complex or damaged).",
)
UNMADE = (
    "LibreOffice không mở được tệp để chuyển sang PDF (tệp có thể bị hỏng).",
    "LibreOffice could not open the file to convert it to PDF (it may be damaged).",
)
NOT_PDF = ("LibreOffice không tạo ra tệp PDF hợp lệ.", "LibreOffice did not make a valid PDF.")
NOT_STORED = ("Lỗi khi lưu bản PDF; hoso sẽ thử lại.", "Storing the PDF failed; hoso will try again.")
REASONS = (DAMAGED, NOT_INSTALLED, TIMED_OUT, UNMADE, NOT_PDF, NOT_STORED)


def _failure(reason: tuple[str, str]) -> HosoError:
    return HosoError(*reason)


def run_batch(state: AppState, worker: str) -> int:
    """Claim up to `rendition_batch` rendition jobs and make their PDFs; returns how many were taken."""
    with state.sessions() as session:
        claimed = jobs.claim_many(session, worker, [RENDITION_JOB], state.settings.rendition_batch)
        if not claimed:
            return 0
        work = _prepare(session, claimed)
        if state.stopping.is_set():
            for w in work:
                jobs.release(session, session.merge(w.job))
            return len(claimed)
        with tempfile.TemporaryDirectory(dir=state.settings.tmp_dir, prefix="rendition-") as tmp:
            folder = Path(tmp)
            for w in work:
                _fetch(state, w, folder)
            _convert(state, [w for w in work if w.error is None], folder)
            for w in work:
                _finish(state, session, w)
    return len(claimed)


def _prepare(session: Session, claimed: list[Job]) -> list[Work]:
    """Each job's rendition marked running (its attempt counted); a job whose rendition is gone or
    already made is finished at once (a crash after the rendition's commit, before the job's)."""
    work: list[Work] = []
    with write_transaction(session):
        for job in claimed:
            rendition = session.get(Rendition, int(job.payload.get("rendition_id", 0)))
            source = None
            if rendition is not None and rendition.state != RenditionState.done:
                source = _version(session, rendition.record_id, rendition.source_version)
            if rendition is None or source is None:
                job.state, job.finished_at = JobState.done, utcnow()
                continue
            rendition.state, rendition.attempts, rendition.updated_at = RenditionState.running, job.attempts, utcnow()
            work.append(
                Work(
                    job,
                    rendition.id,
                    rendition.record_id,
                    source.number,
                    source.blob_sha256,
                    source.media_type,
                    source.original_filename,
                )
            )
    return work


def _version(session: Session, record_id: str, number: int) -> Version | None:
    return session.scalar(select(Version).where(Version.record_id == record_id, Version.number == number))


def _fetch(state: AppState, w: Work, folder: Path) -> None:
    """The original's bytes, hash checked, into the private folder under a name the office understands."""
    w.path = folder / f"r{w.rendition_id}{mediatype.EXTENSIONS.get(w.media_type, '')}"
    try:
        with open(w.path, "wb") as out:
            for chunk in blobs.open_verified(state.sessions, state.store, w.sha256):
                out.write(chunk)
    except blobs.BlobMismatch as e:
        blobs.report(state.sessions, e, f"rendition {w.rendition_id}", None)
        w.error = _failure(DAMAGED)


def _attempt(paths: list[Path], out: Path, profile: Path, limit: float) -> tuple[dict[Path, Path], bool]:
    """What one office made of `paths`, and whether it was killed at the limit."""
    try:
        return libreoffice.convert(paths, out, profile, limit), False
    except libreoffice.TimedOut:
        return {}, True


def _convert(state: AppState, todo: list[Work], folder: Path) -> None:
    """All of `todo` in one office; what it leaves unmade, again one by one under its own limit."""
    if not todo:
        return
    seconds = state.settings.rendition_seconds
    with profiles.slot(state.settings.data_dir / "renditions") as profile:
        try:
            made, timed_out = _attempt([w.path for w in todo if w.path], folder / "out", profile, seconds * len(todo))
        except libreoffice.Missing:
            for w in todo:
                w.error = _failure(NOT_INSTALLED)
            return
        if timed_out:
            log.warning("LibreOffice ran past its limit on %d documents; converting them one by one", len(todo))
        for w in todo:
            if w.path in made:
                w.pdf = made[w.path]
                continue
            if len(todo) > 1 and w.path is not None:  # alone: a document that hangs the office fails alone
                alone, timed_out = _attempt([w.path], folder / f"alone-{w.rendition_id}", profile, seconds)
                if w.path in alone:
                    w.pdf = alone[w.path]
                    continue
            w.error = _failure(TIMED_OUT if timed_out else UNMADE)


def _finish(state: AppState, session: Session, w: Work) -> None:
    """Store the PDF as a derived version (or record the failure), then finish (or fail) the job."""
    job = session.merge(w.job)
    if w.pdf is not None and w.error is None:
        try:
            _store(state, session, w)
        except HosoError as e:
            w.error = e
        except Exception:  # noqa: BLE001  (any failure is this job's, never the batch's)
            log.exception("could not store rendition %s", w.rendition_id)
            w.error = _failure(NOT_STORED)
        else:
            jobs.finish(session, job)
            return
    assert w.error is not None
    last = job.attempts >= job.max_attempts
    with write_transaction(session):
        rendition = session.get(Rendition, w.rendition_id, populate_existing=True)
        if rendition is not None:
            rendition.state = RenditionState.failed if last else RenditionState.queued
            rendition.error, rendition.updated_at = w.error.vi, utcnow()
            if last:
                audit.append(
                    session,
                    actor=None,
                    action="record.rendition_failed",
                    object_type="record",
                    object_id=w.record_id,
                    record_id=w.record_id,
                    details={"version": w.source_number, "error": w.error.en},
                )
    jobs.fail(session, session.merge(job), w.error.en)


def _store(state: AppState, session: Session, w: Work) -> None:
    """The PDF as the record's next version, `derived` from its source, with the rendition marked done."""
    assert w.pdf is not None
    with open(w.pdf, "rb") as made:
        spool = spool_stream(made, state.settings.tmp_dir, state.settings.max_upload_bytes)
    try:
        received = spool.finish()
        if received.media_type != mediatype.PDF:
            raise _failure(NOT_PDF)
        received = ingest.store_blob(state.store, ingest.identified(received))
    finally:
        spool.discard()
    tool = libreoffice.version()
    with ingest.versioning(session, state.store) as written:
        record = session.get(Record, w.record_id, populate_existing=True)
        rendition = session.get(Rendition, w.rendition_id, populate_existing=True)
        source = _version(session, w.record_id, w.source_number)
        if record is None or source is None or rendition is None or rendition.state == RenditionState.done:
            return
        stem = w.filename.rsplit(".", 1)[0] if "." in w.filename else w.filename
        version = ingest.commit_version(
            session,
            state.store,
            source.created_by,
            record,
            received,
            f"{stem}.pdf",
            written,
            "record.rendition_made",
            {"derived_from": w.source_number, "tool": tool},
            kind=VersionKind.derived,
            derived_from=source,
        )
        rendition.state, rendition.version_number, rendition.tool = RenditionState.done, version.number, tool
        rendition.error, rendition.updated_at = None, utcnow()


__all__ = ["run_batch"]
