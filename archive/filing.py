"""Which dossier a new record files itself into: the school's approved yearly list decides.

A teacher never chooses a dossier. The list (retention/dossiers/) made one open dossier per record
type and, where the type says so, per subject, grade, teacher or month; a record belongs in the
open dossier of its school, school year and type whose grouping values all match its own (a NULL
value matches anything; the most specific match wins). No match, or no approved list: the record
stays unfiled (`dossier_id` NULL) and the clerk sees it on the dossiers page.

It is the kernel's because every way a record is made (an upload, a resumable upload, a record hoso
writes itself) runs through `archive.ingest`, inside the record's own write transaction: a dossier
being closed at the same moment is serialised against it by `write_transaction`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.exceptions import Conflict
from archive.models import Dossier, DossierState, Record


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").strip().casefold() == (b or "").strip().casefold()


def dossier_for(session: Session, record: Record) -> str | None:
    """The id of the open listed dossier `record` belongs in, or None (unfiled)."""
    candidates = session.execute(
        select(Dossier.id, Dossier.subject, Dossier.grade, Dossier.teacher_id, Dossier.month, Dossier.number).where(
            Dossier.school_id == record.school_id,
            Dossier.school_year == record.school_year,
            Dossier.record_type_id == record.record_type_id,
            Dossier.list_id.is_not(None),
            Dossier.state == DossierState.open,
        )
    ).all()
    best: tuple[int, int, str] | None = None
    for dossier_id, subject, grade, teacher_id, month, number in candidates:
        checks = [
            (subject, subject is None or _same(subject, record.subject)),
            (grade, grade is None or grade == record.grade),
            (teacher_id, teacher_id is None or teacher_id == record.author_id),
            (month, month is None or month == record.month),
        ]
        if all(ok for _value, ok in checks):
            specific = sum(value is not None for value, _ok in checks)
            key = (-specific, number or 0, dossier_id)
            best = key if best is None or key < best else best
    return best[2] if best else None


def require_open(dossier: Dossier) -> None:
    """A record is filed only into an open dossier: a closed or handed-over one is complete."""
    if dossier.state in (DossierState.closed, DossierState.handed_over):
        raise Conflict(
            f"Hồ sơ {dossier.file_code} đã đóng; không thể lưu thêm tài liệu vào hồ sơ đã đóng.",
            f"Dossier {dossier.file_code} is closed; no document can be filed into a closed dossier.",
            dossier_id=dossier.id,
        )
