"""A recording's renditions: its poster and its streaming copy, each a derived version beside it.

Like the office renditions (run.py), the original is never touched: its bytes are copied, hash
checked on the way, into a private temp folder one chunk at a time (memory stays flat for a 2 GB
recording); ffmpeg reads that copy and writes a temp file beside it; what it made goes through an
upload's steps — sniffed, identified (PRONOM, and ffprobe facts for the streaming copy), put under
its own content address — then version + sidecar + audit event commit in one transaction with the
rendition marked done. A crash before that commit leaves the job to run again after its lease.

One job per rendition (`VIDEO_JOB`), one at a time per worker: an encode takes a core for a good
fraction of the recording's length, so batching buys nothing, and a poster queued before its
streaming copy is ready in seconds. ffmpeg's limit is proportional to the recording's duration
(`video_seconds_per_second` × duration, at least `video_min_seconds`); a failed attempt is retried
with the jobs table's back-off, and the last marks the rendition failed with a Vietnamese reason
the record page shows. The original stays playable and downloadable whatever happens here.

Why the poster is a derived version and not a cache: the store is WORM and the archive is rebuilt
from the bucket alone (DESIGN §4), so a cache would be the one thing on the side with no sidecar,
no fixity and its own route to secure; as a version it is hashed, audited, checked by fixity,
served by the same access-checked routes, and carried in packages (~30 KB) with the PREMIS event
linking it to the original — an inspector sees the lesson's picture in a package without a player.
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
from archive.media_models import MediaFacts
from archive.models import Job, JobState, Record, Rendition, RenditionState, RenditionTarget, Version, VersionKind
from archive.renditions import VIDEO_JOB
from archive.spool import spool_stream
from flows.renditions import ffmpeg
from flows.state import AppState

log = logging.getLogger(__name__)

# Why a recording's rendition failed, as the record page says it (English in api/web/i18n/en.json).
DAMAGED = (
    "Dữ liệu lưu trữ của video gốc không khớp mã băm (đã báo cán bộ lưu trữ).",
    "The original recording's stored bytes do not match their hash (the archivist has been told).",
)
NOT_INSTALLED = ("Máy chủ chưa cài FFmpeg.", "FFmpeg is not installed on the server.")
TIMED_OUT = (
    "FFmpeg không chuyển xong video trong thời hạn cho phép.",
    "FFmpeg did not finish the recording in the time allowed.",
)
UNMADE = (
    "FFmpeg không đọc được video gốc để tạo bản xem (tệp có thể bị hỏng).",
    "FFmpeg could not read the original recording to make a copy (it may be damaged).",
)
NOT_STORED = (
    "Lỗi khi lưu bản xem của video; hoso sẽ thử lại.",
    "Storing the recording's copy failed; hoso will try again.",
)
REASONS = (DAMAGED, NOT_INSTALLED, TIMED_OUT, UNMADE, NOT_STORED)

MADE = {RenditionTarget.poster: (mediatype.JPEG, "poster.jpg"), RenditionTarget.stream: (mediatype.MP4, "xem.mp4")}


@dataclass
class Task:
    """One claimed job: the rendition to make and the original it is made from."""

    job: Job
    rendition_id: int
    target: RenditionTarget
    record_id: str
    source_number: int
    sha256: str
    filename: str
    duration: float | None


def run_one(state: AppState, worker: str) -> int:
    """Claim one recording rendition and make it; returns how many jobs were taken (0 or 1)."""
    with state.sessions() as session:
        job = jobs.claim(session, worker, [VIDEO_JOB])
        if job is None:
            return 0
        task = _prepare(session, job)
        if task is None:
            return 1
        try:
            made = _make(state, task)
        except ffmpeg.Stopped:
            jobs.release(session, session.merge(task.job))
            return 1
        except HosoError as e:
            _failed(session, task, e)
            return 1
        _finish(state, session, task, made)
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
        facts = session.get(MediaFacts, (source.record_id, source.number))
        return Task(
            job,
            rendition.id,
            RenditionTarget(rendition.target),
            rendition.record_id,
            source.number,
            source.blob_sha256,
            source.original_filename,
            facts.duration_seconds if facts is not None else None,
        )


def _version(session: Session, record_id: str, number: int) -> Version | None:
    return session.scalar(select(Version).where(Version.record_id == record_id, Version.number == number))


Made = tuple[Path, str, tempfile.TemporaryDirectory[str]]  # the file, the tool, the folder holding it


def _make(state: AppState, task: Task) -> Made:
    """What ffmpeg made (in a temp folder the caller removes) and the tool's name."""
    folder = tempfile.TemporaryDirectory(dir=state.settings.tmp_dir, prefix="recording-")
    try:
        source = Path(folder.name) / "source"
        try:
            with open(source, "wb") as copy:
                for chunk in blobs.open_verified(state.sessions, state.store, task.sha256):
                    if state.stopping.is_set():
                        raise ffmpeg.Stopped("the worker is stopping")
                    copy.write(chunk)
        except blobs.BlobMismatch as e:
            blobs.report(state.sessions, e, f"rendition {task.rendition_id}", None)
            raise HosoError(*DAMAGED) from e
        out = Path(folder.name) / MADE[task.target][1]
        settings = state.settings
        limit = max(settings.video_min_seconds, settings.video_seconds_per_second * (task.duration or 0.0))
        try:
            command = (
                ffmpeg.poster_command(source, out, task.duration)
                if task.target == RenditionTarget.poster
                else ffmpeg.stream_command(source, out)
            )
            ffmpeg.run(command, limit, state.stopping, Path(folder.name) / "ffmpeg.log")
            tool = ffmpeg.version()
        except ffmpeg.Missing as e:
            raise HosoError(*NOT_INSTALLED) from e
        except ffmpeg.TimedOut as e:
            raise HosoError(*TIMED_OUT) from e
        except ffmpeg.Failed as e:
            log.warning("ffmpeg failed on rendition %s: %s", task.rendition_id, e)
            raise HosoError(*UNMADE) from e
        if not out.is_file() or out.stat().st_size == 0:
            raise HosoError(*UNMADE)
        source.unlink()  # the original's copy goes as soon as it has been read
        return out, tool, folder
    except BaseException:
        folder.cleanup()
        raise


def _finish(
    state: AppState, session: Session, task: Task, made: tuple[Path, str, tempfile.TemporaryDirectory[str]]
) -> None:
    out, tool, folder = made
    try:
        _store(state, session, task, out, tool)
    except HosoError as e:
        _failed(session, task, e)
        return
    except Exception:  # noqa: BLE001  (any failure is this job's; it is retried)
        log.exception("could not store rendition %s", task.rendition_id)
        _failed(session, task, HosoError(*NOT_STORED))
        return
    finally:
        folder.cleanup()
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
                    details={"version": task.source_number, "target": task.target.value, "error": error.en},
                )
    jobs.fail(session, session.merge(job), error.en)


def _store(state: AppState, session: Session, task: Task, out: Path, tool: str) -> None:
    """What ffmpeg made as the record's next version, `derived` from the original."""
    media_type, name = MADE[task.target]
    with open(out, "rb") as made:
        spool = spool_stream(made, state.settings.tmp_dir, state.settings.max_upload_bytes)
    try:
        received = spool.finish()
        if received.media_type != media_type:
            raise HosoError(*UNMADE)
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
            f"{stem}-{name}",
            written,
            "record.rendition_made",
            {"derived_from": task.source_number, "tool": tool, "target": task.target.value},
            kind=VersionKind.derived,
            derived_from=source,
        )
        rendition.state, rendition.version_number, rendition.tool = RenditionState.done, version.number, tool
        rendition.error, rendition.updated_at = None, utcnow()


__all__ = ["REASONS", "run_one"]
