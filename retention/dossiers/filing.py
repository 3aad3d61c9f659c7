"""Step 3 of the dossier year: filing. Uploads file themselves (`archive.filing`); here the clerk
sees what is unfiled, refiles a record before its dossier closes (audited), and a dossier's term
follows its longest document.

The term: a dossier is kept as long as its longest document (Luật Lưu trữ 2024; TT 05/2025), and
never less than its list says. `refresh_terms` raises the dossier's `keep_*` to the longest of its
documents' computed terms (`record_retention`), then raises every document's term to the
dossier's, so the storage locks of the whole dossier follow its longest document (the next
`schedule.lock_pending` extends them). Nothing is ever shortened — as S3 COMPLIANCE retention
cannot be.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import audit, filing
from archive.db import write_transaction
from archive.exceptions import Conflict, InvalidInput, NotFound
from archive.models import Dossier, DossierState, Person, Record, RecordType
from retention.dossiers import common
from retention.models import RecordRetention, RetentionState


def unfiled(session: Session, actor: Person, school_code: str, school_year: str | None = None) -> list[Record]:
    """Records of types on the yearly list that are in no dossier: the clerk's to file."""
    school = common.school_by_code(session, school_code)
    common.require_viewer(actor, school.id)
    query = (
        select(Record)
        .join(RecordType, RecordType.id == Record.record_type_id)
        .where(Record.school_id == school.id, Record.dossier_id.is_(None), RecordType.dossier_heading.is_not(None))
        .order_by(Record.school_year.desc(), Record.created_at)
    )
    if school_year:
        query = query.where(Record.school_year == school_year)
    return list(session.scalars(query.limit(500)))


def refile(session: Session, actor: Person, record_id: str, dossier_id: str, reason: str = "") -> Record:
    """Move a record into another open dossier of its school and school year (audited)."""
    record = session.get(Record, record_id)
    if record is None:
        raise NotFound("Không tìm thấy tài liệu.", "Record not found.")
    common.require_editor(actor, record.school_id)
    target = common.load_dossier(session, dossier_id)
    if target.school_id != record.school_id:
        raise InvalidInput("Hồ sơ đích không thuộc trường của tài liệu.", "The dossier is another school's.")
    filing.require_open(target)
    if target.state != DossierState.open:
        raise Conflict(
            "Danh mục của hồ sơ này chưa được phê duyệt; chưa lưu tài liệu vào được.",
            "The dossier's list is not approved yet; nothing can be filed into it.",
        )
    if target.school_year != record.school_year:
        raise InvalidInput(
            f"Tài liệu thuộc năm học {record.school_year}; "
            f"hồ sơ {target.file_code} thuộc năm học {target.school_year}.",
            f"The record is of {record.school_year}; dossier {target.file_code} is of {target.school_year}.",
        )
    with write_transaction(session):
        source = session.get(Dossier, record.dossier_id) if record.dossier_id else None
        if source is not None and source.state in (DossierState.closed, DossierState.handed_over):
            raise Conflict(
                f"Tài liệu nằm trong hồ sơ đã đóng {source.file_code}; không chuyển được.",
                f"The record is in closed dossier {source.file_code}; it cannot be moved.",
            )
        if source is not None and source.id == target.id:
            raise Conflict("Tài liệu đã nằm trong hồ sơ này.", "The record is in this dossier already.")
        record.dossier_id = target.id
        audit.append(
            session,
            actor=actor,
            action="record.refiled",
            object_type="record",
            object_id=record.id,
            school_id=record.school_id,
            record_id=record.id,
            details={"from": source.file_code if source else None, "to": target.file_code, "reason": reason.strip()},
        )
    refresh_terms(session, [target.id])
    return record


def refresh_terms(session: Session, dossier_ids: Iterable[str] | None = None) -> int:
    """Each dossier's term raised to its longest document's, then its documents' to the dossier's.

    Returns how many document terms were raised. `dossier_ids` None: every listed dossier."""
    query = select(Dossier).where(Dossier.list_id.is_not(None))
    if dossier_ids is not None:
        query = query.where(Dossier.id.in_(list(dossier_ids)))
    raised = 0
    with write_transaction(session):
        for dossier in session.scalars(query):
            rows = list(
                session.scalars(
                    select(RecordRetention)
                    .join(Record, Record.id == RecordRetention.record_id)
                    .where(Record.dossier_id == dossier.id)
                )
            )
            _raise_dossier(dossier, rows)
            raised += _raise_documents(dossier, rows)
    return raised


def refresh_for_records(session: Session, record_ids: Sequence[str]) -> int:
    """`refresh_terms` for the dossiers of these (new or changed) records."""
    ids = list(session.scalars(select(Record.dossier_id).where(Record.id.in_(list(record_ids))).distinct()))
    found = [i for i in ids if i is not None]
    session.commit()
    return refresh_terms(session, found) if found else 0


def _raise_dossier(dossier: Dossier, rows: list[RecordRetention]) -> None:
    if dossier.keep_permanent or any(r.permanent for r in rows):
        dossier.keep_permanent, dossier.keep_until_year = True, None
        return
    years = [r.keep_until_year for r in rows if r.keep_until_year is not None]
    dossier.keep_until_year = max([dossier.keep_until_year or 0, *years]) or None


def _raise_documents(dossier: Dossier, rows: list[RecordRetention]) -> int:
    raised = 0
    for row in rows:
        if row.state != RetentionState.active or row.permanent:
            continue
        longer = dossier.keep_permanent or (row.keep_until_year or 0) < (dossier.keep_until_year or 0)
        if longer:
            row.permanent = dossier.keep_permanent
            row.keep_until_year = None if dossier.keep_permanent else dossier.keep_until_year
            row.locked_until = None  # the store's lock follows on the next `lock_pending`
            raised += 1
    return raised


def dossier_view(dossier: Dossier, records: int | None = None) -> dict[str, Any]:
    return {
        "id": dossier.id,
        "file_code": dossier.file_code,
        "title": dossier.title,
        "school_year": dossier.school_year,
        "state": dossier.state,
        "heading": dossier.heading,
        "number": dossier.number,
        "record_type": dossier.record_type.code if dossier.record_type else None,
        "keeper": dossier.owner.full_name if dossier.owner else None,
        "keeper_id": dossier.owner_id,
        "subject": dossier.subject,
        "grade": dossier.grade,
        "month": dossier.month,
        "maintenance": dossier.maintenance,
        "permanent": dossier.keep_permanent,
        "keep_until_year": dossier.keep_until_year,
        "start_date": dossier.start_date,
        "end_date": dossier.end_date,
        "records": records,
        "closed_at": dossier.closed_at,
        "handover_id": dossier.handover_id,
        "tt05": dossier.tt05 or {},
    }
