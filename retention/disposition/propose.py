"""Step 1: the list of records proposed for destruction, with the reasons, opens a new destruction dossier.

Only records in review ("Xem xét hủy": past their term, not held) of one school may be listed.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import audit, calendar, pdfdoc
from archive.calendar import VN_TIME
from archive.db import utcnow
from archive.exceptions import Conflict, InvalidInput, NotFound
from archive.models import Dossier, Person, Record, School
from archive.storage import ObjectStore
from retention import holds
from retention.disposition.common import HEADER, PROPOSERS, WIDTHS, require, rows
from retention.disposition.document import Paper, filed
from retention.models import Disposition, DispositionItem, DispositionState, RecordRetention, RetentionState


def propose(
    session: Session,
    store: ObjectStore,
    tmp_dir: Path,
    actor: Person,
    *,
    school_code: str,
    items: list[tuple[str, str]],
    explanation: str,
) -> Disposition:
    """Step 1: the list of records proposed for destruction, with the reasons, into a new dossier."""
    if not items:
        raise InvalidInput("Danh mục đề nghị hủy trống.", "The destruction list is empty.")
    if not explanation.strip():
        raise InvalidInput("Hãy ghi thuyết minh của danh mục hủy.", "Give the explanation of the list.")
    school = session.scalar(select(School).where(School.code == school_code))
    if school is None:
        raise NotFound(f"Không có trường {school_code}.", f"No school {school_code}.")
    require(
        actor,
        school.id,
        PROPOSERS,
        "Chỉ cán bộ lưu trữ/văn thư hoặc hiệu trưởng của trường được lập danh mục hủy.",
        "Only the school's archivist/clerk or principal may propose a destruction list.",
    )
    ids = [record_id for record_id, _ in items]
    records = _proposable(session, school, ids)
    now = utcnow()
    count = session.scalar(select(func.count()).select_from(Disposition).where(Disposition.school_id == school.id))
    number = (count or 0) + 1
    file_code = f"HUY-{now.astimezone(VN_TIME):%Y}-{number:03d}"
    reasons = dict(items)
    pairs = [(reasons[i], records[i]) for i in reasons]
    paper = _list_paper(school, file_code, explanation, sorted(pairs, key=lambda p: (p[1].school_year, p[1].title)))
    with filed(session, store, tmp_dir, actor, paper) as filing:
        dossier = Dossier(
            school_id=school.id,
            owner_id=actor.id,
            file_code=file_code,
            title=f"Hồ sơ hủy tài liệu hết giá trị, đợt {number} năm {now.astimezone(VN_TIME):%Y}",
            school_year=calendar.school_year_of(now),
            maintenance="Vĩnh viễn",
            language="vi",
            start_date=now.date(),
        )
        session.add(dossier)
        session.flush()
        disposition = Disposition(
            school_id=school.id,
            dossier_id=dossier.id,
            state=DispositionState.proposed,
            explanation=explanation.strip(),
            proposed_by_id=actor.id,
            proposed_at=now,
            documents={},
            decision_signed=False,
        )
        session.add(disposition)
        session.flush()
        for record_id, why in items:
            session.add(DispositionItem(disposition_id=disposition.id, record_id=record_id, explanation=why.strip()))
        for row in session.scalars(select(RecordRetention).where(RecordRetention.record_id.in_(ids))):
            row.state = RetentionState.proposed
        audit.append(
            session,
            actor=actor,
            action="disposition.proposed",
            object_type="disposition",
            object_id=disposition.id,
            school_id=school.id,
            details={"records": ids, "explanation": disposition.explanation, "dossier": dossier.file_code},
        )
        filing.disposition = disposition
    return disposition


def _list_paper(school: School, file_code: str, explanation: str, pairs: list[tuple[str, Record]]) -> Paper:
    """The list (Danh mục tài liệu hết giá trị đề nghị hủy), in the order of school year and title."""
    return Paper(
        "danh-muc",
        "Danh mục tài liệu đề nghị hủy",
        pdfdoc.Document(
            unit=school.name,
            title="Danh mục tài liệu hết giá trị đề nghị hủy",
            before=[f"Hồ sơ hủy: {file_code}.", explanation.strip()],
            header=HEADER,
            rows=rows(pairs),
            widths_mm=WIDTHS,
            after=[f"Tổng số: {len(pairs)} tài liệu."],
            signers=["NGƯỜI LẬP DANH MỤC"],
        ),
    )


def _proposable(session: Session, school: School, ids: list[str]) -> dict[str, Record]:
    """The listed records by id, once each is known to be this school's, in review and not held."""
    records = {r.id: r for r in session.scalars(select(Record).where(Record.id.in_(ids)))}
    if len(records) != len(set(ids)):
        raise NotFound("Có hồ sơ không tồn tại trong danh mục.", "The list names a record that does not exist.")
    if any(r.school_id != school.id for r in records.values()):
        raise InvalidInput("Danh mục chỉ gồm hồ sơ của một trường.", "A list holds records of one school only.")
    retention_rows = session.scalars(select(RecordRetention).where(RecordRetention.record_id.in_(ids)))
    states = {r.record_id: r.state for r in retention_rows}
    not_due = [records[i].title for i in ids if states.get(i) != RetentionState.review]
    if not_due:
        raise Conflict(
            f"Chỉ hồ sơ ở trạng thái 'Xem xét hủy' mới được đưa vào danh mục; chưa đến hạn: {', '.join(not_due[:5])}.",
            f"Only records in review may be proposed; not due: {', '.join(not_due[:5])}.",
        )
    held = session.execute(select(Record.id, Record.title).where(Record.id.in_(ids), holds.is_held())).all()
    if held:
        on = holds.holds_on(session, records[held[0][0]])
        raise Conflict(
            f"Hồ sơ '{held[0][1]}' đang bị tạm giữ (lệnh #{on[0].id}: {on[0].reason}); không được đề nghị hủy.",
            f"Record '{held[0][1]}' is under legal hold #{on[0].id} ({on[0].reason}); it cannot be proposed.",
            hold_id=on[0].id,
        )
    return records
