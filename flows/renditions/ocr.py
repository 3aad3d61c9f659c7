"""The OCR job: a scan or photo becomes a searchable PDF/A-2b stored as a new `derived` version.

The original is never touched (archive/scan_quality.py says which files come here, and why a
signed PDF or one with text never does): its bytes are copied, hash checked on the way, into a
private temp folder one chunk at a time; OCRmyPDF (ocrmypdf.py) reads that copy and writes the
PDF/A beside it; the result is checked to be a PDF that says it is PDF/A-2B in its XMP metadata,
then goes through an upload's steps — sniffed, identified (PRONOM), put under its own content
address — and version + sidecar + audit event commit in one transaction with the rendition marked
done. Being the record's newest version, the PDF/A is what the index reads (its text layer, so a
word of the scan is found, accents optional) and what the record page shows. A crash before that
commit leaves the job to run again after its lease.

One job at a time per worker: OCRmyPDF already spreads one document's pages over every core, so
a second document at once would only share them. The time limit grows with the pages
(`ocr_seconds_per_page` × pages, at least `ocr_min_seconds`); a failed attempt is retried with the
jobs table's back-off, and the last marks the rendition failed with a Vietnamese reason the record
page shows. The original stays viewable, downloadable and signable whatever happens here.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import audit, blobs, ingest, jobs, mediatype, photo_set
from archive.db import utcnow, write_transaction
from archive.exceptions import HosoError
from archive.models import Job, JobState, Record, Rendition, RenditionState, Version, VersionKind
from archive.scan_models import ScanFacts
from archive.scans import OCR_JOB
from archive.spool import spool_stream
from flows.renditions import ocrmypdf, pdfa
from flows.state import AppState

log = logging.getLogger(__name__)

# Why an OCR rendition failed, as the record page says it (English in api/web/i18n/en.json).
DAMAGED = (
    "Dữ liệu lưu trữ của ảnh quét gốc không khớp mã băm (đã báo cán bộ lưu trữ).",
    "The original scan's stored bytes do not match their hash (the archivist has been told).",
)
NOT_INSTALLED = (
    "Máy chủ chưa cài OCRmyPDF và Tesseract (nhận dạng chữ).",
    "OCRmyPDF and Tesseract (text recognition) are not installed on the server.",
)
TIMED_OUT = (
    "Nhận dạng chữ (OCR) không xong trong thời hạn cho phép.",
    "Text recognition (OCR) did not finish in the time allowed.",
)
UNREADABLE = (
    "Không đọc được ảnh quét để nhận dạng chữ (tệp có thể bị hỏng hoặc bị cắt cụt).",
    "The scan could not be read for text recognition (the file may be damaged or cut short).",
)
NOT_PDFA = (
    "Không tạo được bản PDF/A hợp lệ từ ảnh quét.",
    "No valid PDF/A could be made from the scan.",
)
NOT_STORED = (
    "Lỗi khi lưu bản PDF/A; hoso sẽ thử lại.",
    "Storing the PDF/A failed; hoso will try again.",
)
REASONS = (DAMAGED, NOT_INSTALLED, TIMED_OUT, UNREADABLE, NOT_PDFA, NOT_STORED)


@dataclass
class Task:
    """One claimed job: the rendition to make and the scan it is made from."""

    job: Job
    rendition_id: int
    record_id: str
    source_number: int
    sha256: str
    media_type: str
    filename: str
    pages: int
    dpi: int | None


def run_one(state: AppState, worker: str) -> int:
    """Claim one OCR rendition and make it; returns how many jobs were taken (0 or 1)."""
    with state.sessions() as session:
        job = jobs.claim(session, worker, [OCR_JOB])
        if job is None:
            return 0
        task = _prepare(session, job)
        if task is None:
            return 1
        with tempfile.TemporaryDirectory(dir=state.settings.tmp_dir, prefix="ocr-") as tmp:
            try:
                made, tool = _make(state, task, Path(tmp))
            except ocrmypdf.Stopped:
                jobs.release(session, session.merge(task.job))
                return 1
            except HosoError as e:
                _failed(session, task, e)
                return 1
            _finish(state, session, task, made, tool)
    return 1


def _prepare(session: Session, job: Job) -> Task | None:
    """The rendition marked running (its attempt counted); None, and the job done, when there is
    nothing left to make (a crash after the rendition's commit, before the job's)."""
    with write_transaction(session):
        rendition = session.get(Rendition, int(job.payload.get("rendition_id", 0)))
        source = None
        if rendition is not None and rendition.state != RenditionState.done:
            source = _version(session, rendition.record_id, rendition.source_version)
        if rendition is None or source is None:
            job.state, job.finished_at = JobState.done, utcnow()
            return None
        rendition.state, rendition.attempts, rendition.updated_at = RenditionState.running, job.attempts, utcnow()
        facts = session.get(ScanFacts, (source.record_id, source.number))
        if facts is not None:
            facts.pages_done = 0
        return Task(
            job,
            rendition.id,
            rendition.record_id,
            source.number,
            source.blob_sha256,
            source.media_type,
            source.original_filename,
            facts.pages if facts is not None else 1,
            facts.dpi if facts is not None else None,
        )


def _version(session: Session, record_id: str, number: int) -> Version | None:
    return session.scalar(select(Version).where(Version.record_id == record_id, Version.number == number))


def _make(state: AppState, task: Task, folder: Path) -> tuple[Path, str]:
    """The PDF/A OCRmyPDF made (in `folder`) and the tool's name; a HosoError says why not."""
    source = folder / f"source{mediatype.EXTENSIONS.get(task.media_type, '')}"
    try:
        with open(source, "wb") as copy:
            for chunk in blobs.open_verified(state.sessions, state.store, task.sha256):
                if state.stopping.is_set():
                    raise ocrmypdf.Stopped("the worker is stopping")
                copy.write(chunk)
    except blobs.BlobMismatch as e:
        blobs.report(state.sessions, e, f"rendition {task.rendition_id}", None)
        raise HosoError(*DAMAGED) from e
    if task.media_type != mediatype.PDF:
        source = photo_set.flattened(source, folder)  # OCRmyPDF refuses an image with an alpha channel
    out = folder / "pdfa.pdf"
    settings = state.settings
    limit = max(settings.ocr_min_seconds, settings.ocr_seconds_per_page * task.pages)
    dpi = ocrmypdf.DEFAULT_IMAGE_DPI if task.media_type != mediatype.PDF and task.dpi is None else None
    try:
        ocrmypdf.run(
            ocrmypdf.command(source, out, dpi),
            limit,
            state.stopping,
            folder / "ocrmypdf.log",
            lambda done: _progress(state, task, done),
        )
        tool = ocrmypdf.version()
    except ocrmypdf.Missing as e:
        raise HosoError(*NOT_INSTALLED) from e
    except ocrmypdf.TimedOut as e:
        raise HosoError(*TIMED_OUT) from e
    except ocrmypdf.Failed as e:
        log.warning("ocrmypdf failed on rendition %s: %s", task.rendition_id, e)
        raise HosoError(*(NOT_PDFA if e.code == ocrmypdf.INVALID_PDFA else UNREADABLE)) from e
    if not out.is_file() or pdfa.identification(out) != ("2", "B"):
        raise HosoError(*NOT_PDFA)
    return out, tool


def _progress(state: AppState, task: Task, done: int) -> None:
    """Pages done, for the record page ("đang nhận dạng: 120/300 trang"); a lost update is harmless."""
    try:
        with state.sessions() as session, write_transaction(session):
            facts = session.get(ScanFacts, (task.record_id, task.source_number))
            if facts is not None:
                facts.pages_done = min(done, facts.pages)
    except Exception:  # noqa: BLE001  (progress is shown, never needed: the OCR goes on)
        log.exception("could not record the OCR progress of rendition %s", task.rendition_id)


def _finish(state: AppState, session: Session, task: Task, out: Path, tool: str) -> None:
    try:
        _store(state, session, task, out, tool)
    except HosoError as e:
        _failed(session, task, e)
        return
    except Exception:  # noqa: BLE001  (any failure is this job's; it is retried)
        log.exception("could not store rendition %s", task.rendition_id)
        _failed(session, task, HosoError(*NOT_STORED))
        return
    jobs.finish(session, session.merge(task.job))


def _failed(session: Session, task: Task, error: HosoError) -> None:
    """Queued again (the jobs table's back-off) or, at the last attempt, failed with its reason."""
    job = session.merge(task.job)
    last = job.attempts >= job.max_attempts
    with write_transaction(session):
        rendition = session.get(Rendition, task.rendition_id, populate_existing=True)
        if rendition is not None:
            rendition.state = RenditionState.failed if last else RenditionState.queued
            rendition.error, rendition.updated_at = error.vi, utcnow()
            if last:
                audit.append(
                    session,
                    actor=None,
                    action="record.rendition_failed",
                    object_type="record",
                    object_id=task.record_id,
                    record_id=task.record_id,
                    details={"version": task.source_number, "target": "pdfa", "error": error.en},
                )
    jobs.fail(session, session.merge(job), error.en)


def _store(state: AppState, session: Session, task: Task, out: Path, tool: str) -> None:
    """The PDF/A as the record's next version, `derived` from the scan, with the rendition marked done."""
    with open(out, "rb") as made:
        spool = spool_stream(made, state.settings.tmp_dir, state.settings.max_upload_bytes)
    try:
        received = spool.finish()
        if received.media_type != mediatype.PDF:
            raise HosoError(*NOT_PDFA)
        received = ingest.store_blob(state.store, ingest.identified(received))
    finally:
        spool.discard()
    with ingest.versioning(session, state.store) as written:
        record = session.get(Record, task.record_id, populate_existing=True)
        rendition = session.get(Rendition, task.rendition_id, populate_existing=True)
        source = _version(session, task.record_id, task.source_number)
        if record is None or source is None or rendition is None or rendition.state == RenditionState.done:
            return
        stem = task.filename.rsplit(".", 1)[0] if "." in task.filename else task.filename
        version = ingest.commit_version(
            session,
            state.store,
            source.created_by,
            record,
            received,
            f"{stem}-pdfa.pdf",
            written,
            "record.rendition_made",
            {"derived_from": task.source_number, "tool": tool, "target": "pdfa"},
            kind=VersionKind.derived,
            derived_from=source,
        )
        rendition.state, rendition.version_number, rendition.tool = RenditionState.done, version.number, tool
        rendition.error, rendition.updated_at = None, utcnow()
        facts = session.get(ScanFacts, (task.record_id, task.source_number))
        if facts is not None:
            facts.pages_done = facts.pages


__all__ = ["REASONS", "run_one"]
