"""Which versions need a rendition, and queueing it with the version that needs it.

The rule (DESIGN §2.7, issue #16): an original is never rewritten; a rendition is a new `derived`
version beside it, with its own hash and sidecar, made before anything signs it. A DOCX or XLSX
gets a PDF, so the principal reviews, and stamps, what an inspector can open in a browser.

Queueing happens in `archive.ingest.commit_version`, inside the version's own transaction: the
`Rendition` row (what the record page shows) and its job (the retries, the lease) commit with the
version or not at all, so no upload can be left without its rendition queued. The kernel only
queues; `flows/renditions` makes them (it imports the tools).

A recording (`archive.media_facts.VIDEO`) gets two, each its own job of kind `VIDEO_JOB` (made by
flows/renditions/recording.py with ffmpeg, not by the office batches): a poster first — quick, so
the queue shows a picture within seconds — then the streaming copy, which is left the newest
version, the one a plain `…/content` download plays.

A derived version takes the next number, so `Record.current_version` moves to it; what the teacher
uploaded last — what a submission and a decision are about — is `latest_source`, the newest
version that is not derived.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import jobs, media_facts, mediatype
from archive.db import utcnow
from archive.models import Record, Rendition, RenditionState, RenditionTarget, Version, VersionKind

RENDITION_JOB = "rendition"
NEEDS_PDF = frozenset({mediatype.DOCX, mediatype.XLSX})
# what may have a PDF made of it, which the principal then reviews and stamps in its place: an office
# file's PDF, or a scan's or photo's PDF/A (archive/scans.py; a PDF with text never has one)
REVIEWED_AS_PDF = NEEDS_PDF | {mediatype.PDF, mediatype.JPEG, mediatype.PNG, mediatype.TIFF}
VIDEO_JOB = "rendition.video"
MAX_ATTEMPTS = 3  # a DOCX that hangs LibreOffice costs three time limits, then the record says so


def queue_for(session: Session, record: Record, version: Version) -> Rendition | None:
    """Queue the rendition a new original needs (in the caller's transaction); None when it needs none."""
    if version.media_type in media_facts.VIDEO:
        _queue(session, record, version, RenditionTarget.poster, VIDEO_JOB)
        return _queue(session, record, version, RenditionTarget.stream, VIDEO_JOB)
    if version.media_type not in NEEDS_PDF:
        return None
    return _queue(session, record, version, RenditionTarget.pdf, RENDITION_JOB)


def _queue(session: Session, record: Record, version: Version, target: RenditionTarget, kind: str) -> Rendition:
    now = utcnow()
    rendition = Rendition(
        record_id=record.id,
        source_version=version.number,
        target=target.value,
        state=RenditionState.queued.value,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    session.add(rendition)
    session.flush()  # its id goes into the job
    jobs.enqueue(session, kind, {"rendition_id": rendition.id}, max_attempts=MAX_ATTEMPTS)
    return rendition


def latest_source(session: Session, record: Record) -> int:
    """The newest version that is not a rendition: what the teacher submitted or uploaded last."""
    number = session.scalar(
        select(func.max(Version.number)).where(
            Version.record_id == record.id, Version.kind != VersionKind.derived.value
        )
    )
    return int(number or record.current_version)


def pdf_of(session: Session, record_id: str, source_version: int) -> Version | None:
    """The PDF rendition made of one version, if it was made."""
    return session.scalar(
        select(Version)
        .where(
            Version.record_id == record_id,
            Version.derived_from == source_version,
            Version.kind == VersionKind.derived.value,
            Version.media_type == mediatype.PDF,
        )
        .order_by(Version.number.desc())
        .limit(1)
    )


def made(session: Session, record_ids: Iterable[str], target: RenditionTarget) -> dict[str, int]:
    """Each record's newest finished rendition of `target` (its derived version number), by record id."""
    ids = list(record_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Rendition.record_id, func.max(Rendition.version_number))
        .where(Rendition.record_id.in_(ids), Rendition.target == target.value, Rendition.state == RenditionState.done)
        .group_by(Rendition.record_id)
    )
    return {record_id: int(number) for record_id, number in rows if number is not None}


def of_record(session: Session, record_id: str) -> list[Rendition]:
    return list(session.scalars(select(Rendition).where(Rendition.record_id == record_id).order_by(Rendition.id)))


def tools(session: Session, record_id: str) -> dict[int, str]:
    """Derived version number → the tool that made it ("LibreOffice 7.4.7.2"), for PREMIS."""
    rows = session.execute(
        select(Rendition.version_number, Rendition.tool).where(
            Rendition.record_id == record_id, Rendition.version_number.is_not(None)
        )
    )
    return {int(number): tool or "hoso" for number, tool in rows if number is not None}
