"""A scan or photo of paper, once stored: what its check found, and its OCR job queued with it.

Called by `archive.ingest.commit_version` for every new original, inside the version's own
transaction: the `ScanFacts` row (what the uploader and the record page are told), the `pdfa`
`Rendition` row and its job commit with the version or not at all, like the office renditions
(`archive.renditions`). The kernel only queues; flows/renditions/ocr.py makes the PDF/A.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import jobs, scan_quality
from archive.db import utcnow
from archive.models import Record, Rendition, RenditionState, RenditionTarget, Version
from archive.scan_models import ScanFacts
from archive.schemas import ScanWarning
from archive.spool import Received

OCR_JOB = "rendition.ocr"
MAX_ATTEMPTS = 3  # a scan that breaks the OCR costs three time limits, then the record page says why


def record_scan(session: Session, record: Record, version: Version, received: Received) -> ScanFacts | None:
    """The scan's facts and its OCR rendition, queued in the caller's transaction; None for no scan."""
    if not received.path.exists():  # bytes hoso wrote itself (a biên bản): born digital, never a scan
        return None
    scan = scan_quality.examine(received.path, received.sha256, received.media_type)
    if scan is None:
        return None
    warnings = scan_quality.findings(scan, record.record_type.scan_min_dpi)
    facts = ScanFacts(
        record_id=record.id,
        version_number=version.number,
        pages=scan.pages,
        dpi=scan.dpi,
        colour_bits=scan.colour_bits,
        warnings=[[vi, en] for vi, en in warnings],
        pages_done=0,
    )
    session.add(facts)
    now = utcnow()
    rendition = Rendition(
        record_id=record.id,
        source_version=version.number,
        target=RenditionTarget.pdfa.value,
        state=RenditionState.queued.value,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    session.add(rendition)
    session.flush()  # its id goes into the job
    jobs.enqueue(session, OCR_JOB, {"rendition_id": rendition.id}, max_attempts=MAX_ATTEMPTS)
    return facts


def facts_of(session: Session, record_id: str) -> list[ScanFacts]:
    return list(
        session.scalars(select(ScanFacts).where(ScanFacts.record_id == record_id).order_by(ScanFacts.version_number))
    )


def warnings_of(session: Session, record_id: str, number: int) -> list[tuple[str, str]]:
    """What the check of one version found, as (vi, en): what an upload's answer says."""
    facts = session.get(ScanFacts, (record_id, number))
    return [(w[0], w[1]) for w in facts.warnings] if facts is not None else []


def warnings_out(session: Session, record_id: str, number: int) -> list[ScanWarning]:
    """The same, as an upload's answer carries them."""
    return [ScanWarning(message=vi, message_en=en) for vi, en in warnings_of(session, record_id, number)]
