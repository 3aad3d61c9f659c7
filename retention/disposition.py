"""Destruction of records whose term has ended, by the procedure of TT 06/2025/TT-BNV.

1. The archivist proposes a list of records in review ("Xem xét hủy"), each with an explanation;
   hoso writes the list (Danh mục tài liệu đề nghị hủy) into a new destruction dossier.
2. The council (Hội đồng xét hủy) records its members, the decision establishing it, its minutes
   and its opinion; hoso writes the minutes (Biên bản họp Hội đồng).
3. The head of the unit (the principal) decides; hoso writes the decision (Quyết định hủy), signed
   with the principal's key when one is given, otherwise recorded and flagged as unsigned.
4. Within 15 days of the decision, execution deletes each record's blobs (the store refuses if any
   is still locked), keeps a tombstone per record (metadata and every hash), and writes the biên
   bản hủy. A decision older than 15 days has lapsed: it must be decided again.

The destruction dossier is permanent; every step is an audit event. A record under a legal hold
can neither enter a proposal nor be destroyed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import access, audit, blobs, calendar, ingest, pdfdoc
from archive.calendar import VN_TIME
from archive.db import utcnow, write_transaction
from archive.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from archive.models import Blob, Dossier, Person, Record, RecordStatus, Role, School, Version
from archive.storage import ObjectMissing, ObjectStore, blob_key
from retention import holds
from retention.models import Disposition, DispositionItem, RecordRetention
from retention.schedule import BlobsOf, version_blobs

EXECUTION_DAYS = 15
PROPOSERS = {Role.archivist, Role.clerk, Role.principal}
SignPdf = Callable[[bytes], bytes]


def _require(actor: Person, school_id: int, roles: set[Role], vi: str, en: str) -> None:
    if not (access.roles_at(actor, school_id) & roles):
        raise Forbidden(vi, en)


def load(session: Session, disposition_id: int) -> Disposition:
    disposition = session.get(Disposition, disposition_id)
    if disposition is None:
        raise NotFound("Không có đợt hủy này.", "No such disposition.")
    return disposition


def items_of(session: Session, disposition: Disposition) -> list[tuple[DispositionItem, Record]]:
    return list(
        session.execute(
            select(DispositionItem, Record)
            .join(Record, Record.id == DispositionItem.record_id)
            .where(DispositionItem.disposition_id == disposition.id)
            .order_by(Record.school_year, Record.title)
        ).all()
    )


def _stored(store: ObjectStore, tmp_dir: Path, pdf: bytes) -> ingest.Received:
    """A step's document, stored before the step's transaction (an unreferenced blob if that fails)."""
    return ingest.store_bytes(store, tmp_dir, pdf, len(pdf) + 1)


def _document(
    session: Session,
    store: ObjectStore,
    actor: Person,
    written: list[str],
    disposition: Disposition,
    step: str,
    title: str,
    received: ingest.Received,
) -> Record:
    """The step's document as a record of the destruction dossier, in the step's own transaction."""
    dossier = session.get(Dossier, disposition.dossier_id)
    school = session.get(School, disposition.school_id)
    assert dossier is not None and school is not None
    record = ingest.record_from_stored(
        session,
        store,
        actor,
        written,
        school=school,
        record_type_code="disposition_document",
        title=title,
        school_year=dossier.school_year,
        received=received,
        filename=f"{dossier.file_code}-{step}.pdf",
        dossier=dossier,
        doc_metadata={"typeName": title.split(" ")[0], "organName": school.name, "language": "Tiếng Việt"},
        details={"disposition_id": disposition.id, "step": step},
    )
    disposition.documents = {**(disposition.documents or {}), step: record.id}
    return record


def _rows(pairs: list[tuple[str, Record]]) -> list[list[str]]:
    """The list's table: (reason, record) pairs in the list's order."""
    rows = []
    for n, (why, record) in enumerate(pairs, start=1):
        retention = f"{record.record_type.retention_years} năm" if record.record_type.retention_years else "—"
        rows.append([str(n), record.title, record.record_type.name_vi, record.school_year, retention, why])
    return rows


def _listed(session: Session, disposition: Disposition) -> list[tuple[str, Record]]:
    return [(item.explanation, record) for item, record in items_of(session, disposition)]


HEADER = ["TT", "Tên tài liệu", "Loại", "Năm học", "Thời hạn", "Lý do hủy"]
WIDTHS = [10, 55, 35, 20, 18, 42]


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
    _require(
        actor,
        school.id,
        PROPOSERS,
        "Chỉ cán bộ lưu trữ/văn thư hoặc hiệu trưởng của trường được lập danh mục hủy.",
        "Only the school's archivist/clerk or principal may propose a destruction list.",
    )
    ids = [record_id for record_id, _ in items]
    records = {r.id: r for r in session.scalars(select(Record).where(Record.id.in_(ids)))}
    if len(records) != len(set(ids)):
        raise NotFound("Có hồ sơ không tồn tại trong danh mục.", "The list names a record that does not exist.")
    if any(r.school_id != school.id for r in records.values()):
        raise InvalidInput("Danh mục chỉ gồm hồ sơ của một trường.", "A list holds records of one school only.")
    rows = session.scalars(select(RecordRetention).where(RecordRetention.record_id.in_(ids)))
    states = {r.record_id: r.state for r in rows}
    not_due = [records[i].title for i in ids if states.get(i) != "review"]
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
    now = utcnow()
    count = session.scalar(select(func.count()).select_from(Disposition).where(Disposition.school_id == school.id))
    file_code = f"HUY-{now.astimezone(VN_TIME):%Y}-{(count or 0) + 1:03d}"
    reasons = dict(items)
    listed = sorted(((reasons[i], records[i]) for i in reasons), key=lambda p: (p[1].school_year, p[1].title))
    pdf = pdfdoc.render(
        pdfdoc.Document(
            unit=school.name,
            title="Danh mục tài liệu hết giá trị đề nghị hủy",
            before=[f"Hồ sơ hủy: {file_code}.", explanation.strip()],
            header=HEADER,
            rows=_rows(listed),
            widths_mm=WIDTHS,
            after=[f"Tổng số: {len(listed)} tài liệu."],
            signers=["NGƯỜI LẬP DANH MỤC"],
        )
    )
    received = _stored(store, tmp_dir, pdf)
    with ingest.versioning(session, store) as written:
        dossier = Dossier(
            school_id=school.id,
            owner_id=actor.id,
            file_code=file_code,
            title=f"Hồ sơ hủy tài liệu hết giá trị, đợt {(count or 0) + 1} năm {now.astimezone(VN_TIME):%Y}",
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
            state="proposed",
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
            row.state = "proposed"
        audit.append(
            session,
            actor=actor,
            action="disposition.proposed",
            object_type="disposition",
            object_id=disposition.id,
            school_id=school.id,
            details={"records": ids, "explanation": disposition.explanation, "dossier": dossier.file_code},
        )
        _document(session, store, actor, written, disposition, "danh-muc", "Danh mục tài liệu đề nghị hủy", received)
    return disposition


def council(
    session: Session,
    store: ObjectStore,
    tmp_dir: Path,
    actor: Person,
    disposition_id: int,
    *,
    members: list[dict[str, str]],
    establishment_decision: str,
    minutes: str,
    opinion: str,
    notes: str = "",
) -> Disposition:
    """Step 2: the council's review, recorded as minutes; a council that disagrees sends the list back."""
    disposition = load(session, disposition_id)
    _require(
        actor,
        disposition.school_id,
        PROPOSERS,
        "Chỉ cán bộ lưu trữ/văn thư hoặc hiệu trưởng ghi kết quả họp hội đồng.",
        "Only the archivist/clerk or the principal records the council's review.",
    )
    if disposition.state != "proposed":
        raise Conflict("Đợt hủy không ở bước chờ hội đồng.", "The disposition is not waiting for its council.")
    if opinion not in ("agree", "disagree"):
        raise InvalidInput("Ý kiến hội đồng: agree hoặc disagree.", "The council's opinion is agree or disagree.")
    if len(members) < 3 or not establishment_decision.strip() or not minutes.strip():
        raise InvalidInput(
            "Hội đồng cần ít nhất 3 thành viên, quyết định thành lập và nội dung biên bản họp.",
            "The council needs at least 3 members, its establishment decision and its minutes.",
        )
    school = session.get(School, disposition.school_id)
    assert school is not None
    pdf = pdfdoc.render(
        pdfdoc.Document(
            unit=school.name,
            title="Biên bản họp Hội đồng xác định tài liệu hết giá trị",
            before=[
                f"Căn cứ {establishment_decision.strip()}.",
                "Thành phần: " + "; ".join(f"{m.get('name', '')} ({m.get('title', '')})" for m in members) + ".",
                minutes.strip(),
                "Ý kiến của Hội đồng: "
                + ("nhất trí đề nghị hủy các tài liệu trong danh mục." if opinion == "agree" else "không nhất trí.")
                + (f" {notes.strip()}" if notes.strip() else ""),
            ],
            header=HEADER,
            rows=_rows(_listed(session, disposition)),
            widths_mm=WIDTHS,
            signers=["THƯ KÝ HỘI ĐỒNG", "CHỦ TỊCH HỘI ĐỒNG"],
        )
    )
    received = _stored(store, tmp_dir, pdf)
    with ingest.versioning(session, store) as written:
        disposition.council = {
            "members": members,
            "establishment_decision": establishment_decision.strip(),
            "minutes": minutes.strip(),
            "opinion": opinion,
            "notes": notes.strip(),
        }
        disposition.reviewed_at = utcnow()
        disposition.state = "reviewed" if opinion == "agree" else "rejected"
        if opinion == "disagree":
            _back_to_review(session, disposition)
        audit.append(
            session,
            actor=actor,
            action="disposition.council_reviewed",
            object_type="disposition",
            object_id=disposition.id,
            school_id=disposition.school_id,
            details={"opinion": opinion, "members": [m.get("name") for m in members]},
        )
        title = "Biên bản họp Hội đồng xét hủy"
        _document(session, store, actor, written, disposition, "bien-ban-hoi-dong", title, received)
    return disposition


def decide(
    session: Session,
    store: ObjectStore,
    tmp_dir: Path,
    actor: Person,
    disposition_id: int,
    *,
    approve: bool,
    decision_number: str,
    sign: SignPdf | None = None,
) -> Disposition:
    """Step 3: the principal's decision (Quyết định hủy), signed when a key is given."""
    disposition = load(session, disposition_id)
    _require(
        actor,
        disposition.school_id,
        {Role.principal},
        "Chỉ hiệu trưởng (người đứng đầu đơn vị) được quyết định hủy tài liệu.",
        "Only the principal (the head of the unit) decides a destruction.",
    )
    if disposition.state not in ("reviewed", "lapsed"):
        raise Conflict(
            "Đợt hủy chưa qua hội đồng xét hủy (hoặc đã được quyết định).",
            "The disposition has not been through its council (or was decided already).",
        )
    if not decision_number.strip():
        raise InvalidInput("Hãy ghi số quyết định.", "Give the decision number.")
    school = session.get(School, disposition.school_id)
    assert school is not None
    pairs = _listed(session, disposition)
    now = utcnow()
    pdf = pdfdoc.render(
        pdfdoc.Document(
            unit=school.name,
            title=f"Quyết định số {decision_number.strip()} về việc hủy tài liệu hết giá trị",
            before=[
                "Căn cứ Luật Lưu trữ năm 2024 và Thông tư 06/2025/TT-BNV;",
                "Xét đề nghị của Hội đồng xác định tài liệu hết giá trị "
                f"({(disposition.council or {}).get('establishment_decision', '')});",
                "Điều 1. Hủy các tài liệu hết giá trị có tên trong danh mục sau:"
                if approve
                else "Không hủy các tài liệu sau:",
            ],
            header=HEADER,
            rows=_rows(pairs),
            widths_mm=WIDTHS,
            after=[f"Điều 2. Việc hủy được thực hiện trong {EXECUTION_DAYS} ngày kể từ ngày ký." if approve else ""],
            signers=["HIỆU TRƯỞNG"],
        )
    )
    signed = False
    if sign is not None:
        pdf = sign(pdf)
        signed = True
    received = _stored(store, tmp_dir, pdf)
    with ingest.versioning(session, store) as written:
        disposition.decision_number = decision_number.strip()
        disposition.approved = approve
        disposition.decided_by_id = actor.id
        disposition.decided_at = now
        disposition.decision_signed = signed
        disposition.state = "decided" if approve else "rejected"
        if not approve:
            _back_to_review(session, disposition)
        audit.append(
            session,
            actor=actor,
            action="disposition.decided",
            object_type="disposition",
            object_id=disposition.id,
            school_id=disposition.school_id,
            details={"approve": approve, "decision_number": disposition.decision_number, "signed": signed},
        )
        title = f"Quyết định hủy tài liệu {decision_number}"
        _document(session, store, actor, written, disposition, "quyet-dinh", title, received)
    return disposition


def _back_to_review(session: Session, disposition: Disposition) -> None:
    mine = select(DispositionItem.record_id).where(DispositionItem.disposition_id == disposition.id)
    ids = list(session.scalars(mine))
    for row in session.scalars(select(RecordRetention).where(RecordRetention.record_id.in_(ids))):
        row.state = "review"


def execute(
    session: Session,
    store: ObjectStore,
    tmp_dir: Path,
    actor: Person,
    disposition_id: int,
    blobs_of: BlobsOf = version_blobs,
) -> Disposition:
    """Step 4: within the window, delete the blobs, keep the tombstones, write the biên bản hủy."""
    disposition = load(session, disposition_id)
    _require(
        actor,
        disposition.school_id,
        PROPOSERS,
        "Chỉ cán bộ lưu trữ/văn thư hoặc hiệu trưởng thực hiện việc hủy.",
        "Only the archivist/clerk or the principal executes a destruction.",
    )
    if disposition.state == "executed":
        raise Conflict("Đợt hủy này đã được thực hiện.", "This disposition was executed already.")
    if disposition.state != "decided" or disposition.decided_at is None:
        raise Conflict("Đợt hủy chưa có quyết định hủy.", "The disposition has no destruction decision.")
    now = utcnow()
    if now > disposition.decided_at + timedelta(days=EXECUTION_DAYS):
        with write_transaction(session):
            disposition.state = "lapsed"
            audit.append(
                session,
                actor=actor,
                action="disposition.lapsed",
                object_type="disposition",
                object_id=disposition.id,
                school_id=disposition.school_id,
                details={"decided_at": disposition.decided_at.isoformat()},
            )
        raise Conflict(
            f"Quyết định hủy đã quá {EXECUTION_DAYS} ngày ({disposition.decided_at.astimezone(VN_TIME):%d/%m/%Y}); "
            "hiệu trưởng phải quyết định lại.",
            f"The decision is older than {EXECUTION_DAYS} days; the principal must decide again.",
        )
    pairs = items_of(session, disposition)
    for _item, record in pairs:
        on = holds.holds_on(session, record)
        if on:
            raise Conflict(
                f"Hồ sơ '{record.title}' đang bị tạm giữ (lệnh #{on[0].id}: {on[0].reason}); không được hủy.",
                f"Record '{record.title}' is under legal hold #{on[0].id} ({on[0].reason}); it cannot be destroyed.",
                hold_id=on[0].id,
            )
    # blobs no record outside this list still uses; each checked unlocked before any is deleted
    ids = {record.id for _, record in pairs}
    doomed: set[str] = set()
    for _item, record in pairs:
        doomed |= blobs_of(session, record.id)
    shared = set(
        session.scalars(
            select(Version.blob_sha256).where(Version.blob_sha256.in_(doomed), Version.record_id.not_in(ids))
        )
    )
    doomed -= shared
    now_dt = utcnow()
    for sha in sorted(doomed):
        try:
            info = store.head(blob_key(sha), blobs.version_of(session, sha))
        except ObjectMissing:
            continue  # a re-run after a crash: already gone
        if info.legal_hold or (info.retain_until is not None and info.retain_until > now_dt):
            raise Conflict(
                f"Kho lưu trữ còn khóa tệp {sha[:12]}… đến {info.retain_until}; không hủy gì cả.",
                f"The store still locks blob {sha[:12]}… (until {info.retain_until}); nothing was destroyed.",
            )
    versions_of = {
        record.id: list(session.scalars(select(Version).where(Version.record_id == record.id).order_by(Version.number)))
        for _, record in pairs
    }
    school = session.get(School, disposition.school_id)
    assert school is not None
    local = now.astimezone(VN_TIME)
    rows = [
        [
            str(n),
            record.title,
            record.school_year,
            versions_of[record.id][0].blob_sha256 if versions_of[record.id] else "",
        ]
        for n, (_item, record) in enumerate(pairs, start=1)
    ]
    pdf = pdfdoc.render(
        pdfdoc.Document(
            unit=school.name,
            title="Biên bản hủy tài liệu hết giá trị",
            before=[
                f"Hôm nay, {local:%H:%M} ngày {local:%d/%m/%Y}, thực hiện Quyết định số "
                f"{disposition.decision_number}, đã hủy {len(pairs)} tài liệu điện tử dưới đây "
                "(xóa khỏi kho lưu trữ; giữ lại siêu dữ liệu và mã SHA-256).",
            ],
            header=["TT", "Tên tài liệu", "Năm học", "SHA-256 (bản gốc)"],
            rows=rows,
            widths_mm=[10, 70, 20, 80],
            after=[f"Số tệp đã xóa: {len(doomed)}."],
            signers=["NGƯỜI THỰC HIỆN", "HIỆU TRƯỞNG"],
        )
    )
    received = _stored(store, tmp_dir, pdf)  # the biên bản exists before anything is deleted
    for sha in sorted(doomed):
        with contextlib.suppress(ObjectMissing):  # a re-run after a crash: already gone
            store.delete(blob_key(sha))
    with ingest.versioning(session, store) as written:
        for item, record in pairs:
            versions = versions_of[record.id]
            item.tombstone = {
                "record_id": record.id,
                "title": record.title,
                "record_type": record.record_type.code,
                "school_code": record.school.code,
                "school_year": record.school_year,
                "author": record.author.username,
                "created_at": record.created_at.isoformat(),
                "versions": [
                    {
                        "number": v.number,
                        "sha256": v.blob_sha256,
                        "size": v.size,
                        "media_type": v.media_type,
                        "filename": v.original_filename,
                        "kind": v.kind,
                    }
                    for v in versions
                ],
                "decision_number": disposition.decision_number,
                "destroyed_at": now.isoformat(),
            }
            record.status = RecordStatus.destroyed.value
            record.updated_at = now
            retention_row = session.get(RecordRetention, record.id)
            if retention_row is not None:
                retention_row.state = "destroyed"
            audit.append(
                session,
                actor=actor,
                action="record.destroyed",
                object_type="record",
                object_id=record.id,
                school_id=record.school_id,
                record_id=record.id,
                details={"disposition_id": disposition.id, "decision_number": disposition.decision_number},
            )
        for blob in session.scalars(select(Blob).where(Blob.sha256.in_(doomed))):
            blob.destroyed_at = now
        disposition.state, disposition.executed_by_id, disposition.executed_at = "executed", actor.id, now
        audit.append(
            session,
            actor=actor,
            action="disposition.executed",
            object_type="disposition",
            object_id=disposition.id,
            school_id=disposition.school_id,
            details={
                "records": sorted(ids),
                "blobs_deleted": len(doomed),
                "decision_number": disposition.decision_number,
            },
        )
        _document(session, store, actor, written, disposition, "bien-ban-huy", "Biên bản hủy tài liệu", received)
    return disposition
