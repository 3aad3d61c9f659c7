"""Step 4 of the dossier year: closing. A dossier closes when its work ends — the school year, or
earlier by the clerk — and its TT 05/2025 metadata is completed then: the 18 dossier fields
(DESIGN §5), its documents numbered in the order they were filed (docOrdinal), and each document's
page count read from its PDF (numberOfPage). A dossier with a document still awaiting the
principal's approval does not close: its content is not final.

Page counts are read before the closing transaction (reading blobs takes time; no transaction is
held meanwhile); the transaction checks the states again, so a dossier closed or a document
submitted in between is refused, not half-closed.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import audit, blobs, calendar, mediatype
from archive.db import utcnow, write_transaction
from archive.exceptions import Conflict, InvalidInput
from archive.models import Dossier, DossierState, Person, Record, RecordStatus, Version, VersionKind
from archive.storage import ObjectStore
from retention import schedule
from retention.dossiers import common
from retention.dossiers.filing import refresh_terms
from retention.exceptions import AwaitingApproval

log = logging.getLogger(__name__)


def close(session: Session, store: ObjectStore, actor: Person | None, dossier_ids: Sequence[str]) -> list[Dossier]:
    """Close open dossiers of one school, all or none; `actor` None: closed at the end of their work."""
    if not dossier_ids:
        raise InvalidInput("Chọn ít nhất một hồ sơ để đóng.", "Choose at least one dossier to close.")
    dossiers = [common.load_dossier(session, i) for i in dict.fromkeys(dossier_ids)]
    if len({d.school_id for d in dossiers}) > 1:
        raise InvalidInput("Mỗi lần chỉ đóng hồ sơ của một trường.", "Close the dossiers of one school at a time.")
    if actor is not None:
        common.require_editor(actor, dossiers[0].school_id)
    _check(session, dossiers)
    documents = _documents(session, [d.id for d in dossiers])
    schedule.refresh(session, [r.id for r in documents])
    pages = {r.id: _pages(session, store, r) for r in documents}
    today = calendar.today()
    with write_transaction(session):
        for dossier in dossiers:
            session.refresh(dossier)
        _check(session, dossiers)
        for dossier in dossiers:
            mine = _documents(session, [dossier.id])
            for ordinal, record in enumerate(mine, start=1):
                record.dossier_ordinal, record.page_count = ordinal, pages.get(record.id)
            if dossier.end_date is None or dossier.end_date > today:
                dossier.end_date = today
            dossier.tt05 = metadata(session, dossier, mine)
            dossier.state, dossier.closed_at = DossierState.closed, utcnow()
            dossier.closed_by_id = actor.id if actor else None
            audit.append(
                session,
                actor=actor,
                action="dossier.closed",
                object_type="dossier",
                object_id=dossier.id,
                school_id=dossier.school_id,
                details={"file_code": dossier.file_code, "documents": len(mine), "pages": dossier.tt05["numberOfPage"]},
            )
    refresh_terms(session, [d.id for d in dossiers])
    return dossiers


def _check(session: Session, dossiers: list[Dossier]) -> None:
    for dossier in dossiers:
        if dossier.state == DossierState.planned:
            raise Conflict(
                f"Hồ sơ {dossier.file_code} thuộc danh mục chưa được phê duyệt; chưa đóng được.",
                f"Dossier {dossier.file_code} is on a list not yet approved; it cannot close.",
            )
        if dossier.state != DossierState.open:
            raise Conflict(f"Hồ sơ {dossier.file_code} đã đóng.", f"Dossier {dossier.file_code} is closed already.")
    waiting = session.execute(
        select(Record.title, Dossier.file_code)
        .join(Dossier, Dossier.id == Record.dossier_id)
        .where(Dossier.id.in_([d.id for d in dossiers]), Record.status == RecordStatus.submitted)
        .order_by(Dossier.file_code, Record.title)
    ).all()
    if waiting:
        named = "; ".join(f"{title} ({code})" for title, code in waiting[:5])
        raise AwaitingApproval(
            f"Còn tài liệu đang chờ hiệu trưởng duyệt, chưa đóng hồ sơ được: {named}.",
            f"Documents still await the principal's approval; the dossier cannot close yet: {named}.",
            waiting=len(waiting),
        )


def _documents(session: Session, dossier_ids: list[str]) -> list[Record]:
    """The documents of the dossiers, in the order they were filed (their number inside the dossier)."""
    return list(
        session.scalars(select(Record).where(Record.dossier_id.in_(dossier_ids)).order_by(Record.created_at, Record.id))
    )


def _pages(session: Session, store: ObjectStore, record: Record) -> int | None:
    """The page count of the record's current version when it is a PDF (None for other media)."""
    version = session.scalar(
        select(Version).where(Version.record_id == record.id, Version.number == record.current_version)
    )
    if version is None or version.media_type != mediatype.PDF:
        return None
    from pypdf import PdfReader

    try:
        data = b"".join(blobs.read_verified(session, store, version.blob_sha256))
        return len(PdfReader(io.BytesIO(data)).pages)
    except Exception as e:  # a damaged file has no page count; fixity reports the blob itself
        log.warning("no page count for record %s: %s", record.id, e)
        return None


def metadata(session: Session, dossier: Dossier, documents: list[Record]) -> dict[str, Any]:
    """The 18 dossier fields of TT 05/2025/TT-BNV (DESIGN §5), as completed at closing."""
    signed = bool(
        documents
        and session.scalar(
            select(Version.id)
            .where(Version.record_id.in_([r.id for r in documents]), Version.kind == VersionKind.signed)
            .limit(1)
        )
    )
    keywords = [common.short_name(dossier.record_type)] if dossier.record_type else []
    keywords += [v for v in (dossier.subject, f"khối {dossier.grade}" if dossier.grade else None) if v]
    started = min([r.created_at.date() for r in documents] + ([dossier.start_date] if dossier.start_date else []))
    return {
        "fileCode": dossier.file_code,
        "title": dossier.title,
        "maintenance": common.term_label(dossier.keep_permanent, _years(dossier)),
        "mode": "Thường",
        "language": "Tiếng Việt",
        "startDate": started.isoformat() if documents or dossier.start_date else None,
        "endDate": dossier.end_date.isoformat() if dossier.end_date else None,
        "keyword": ", ".join(keywords),
        "totalDoc": len(documents),
        "numberOfPaper": 0,  # born digital: no paper sheets
        "numberOfPage": sum(r.page_count or 0 for r in documents),
        "format": "Điện tử",
        "inforSign": "Có chữ ký số" if signed else "",
        "confidenceLevel": "Thường",
        "paperFileCode": "",
        "riskRecovery": "Không",
        "riskRecoveryStatus": "",
        "description": f"Hồ sơ điện tử lập trên hoso; người lập: {dossier.owner.full_name if dossier.owner else ''}.",
    }


def _years(dossier: Dossier) -> int | None:
    if dossier.keep_permanent or dossier.keep_until_year is None:
        return dossier.retention_years
    return dossier.keep_until_year - calendar.school_year_bounds(dossier.school_year)[1]


def close_ended(session: Session, store: ObjectStore) -> int:
    """The worker's daily step: open dossiers whose work has ended close themselves, one by one
    (one with a document still awaiting approval waits, and is tried again the next day)."""
    today = calendar.today()
    ended = list(
        session.scalars(select(Dossier.id).where(Dossier.state == DossierState.open, Dossier.end_date < today))
    )
    closed = 0
    for dossier_id in ended:
        try:
            close(session, store, None, [dossier_id])
            closed += 1
        except Conflict as e:
            session.rollback()
            log.info("dossier %s stays open: %s", dossier_id, e.en)
    return closed
