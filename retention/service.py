"""Retention rules a person meets: the schedule edited, deletions refused, the sweep to review; and
the plain functions the retention routes and pages share (who may, and each body they show).

Nothing is destroyed early and nothing leaves except through the procedure of TT 06/2025/TT-BNV:
the API has no way to delete a record. Asked to, it answers with the date the record becomes
eligible for review (or that it is permanent, or held) and points to disposition.

The dictionaries returned here are the JSON bodies of the routes (`retention.schemas` describes
each) and what the pages render, so a page shows exactly what the API answers.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from archive import access, audit, calendar, index_queue, jobs
from archive import service as archive_service
from archive.db import utcnow, write_transaction
from archive.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from archive.models import Job, Person, Record, RecordType, Role, School
from archive.storage import ObjectStore
from retention import disposition, fixity, holds, schedule, transfer, views
from retention.models import Disposition, FixityRun, Hold, RecordRetention, RetentionState, Transfer
from retention.schedule import BlobsOf
from retention.schemas import CouncilIn, HoldIn, PeriodIn, ProposalIn

SWEEPERS = {Role.archivist, Role.principal}  # who runs the sweep and fixity, and sees fixity runs


def may_edit_schedule(session: Session, person: Person) -> bool:
    """The archivist of a school running alone, or the administrator (`access.keeps_schedule`)."""
    return access.keeps_schedule(session, person)


def may_sweep(person: Person) -> bool:
    return access.is_admin(person) or any(m.role in SWEEPERS for m in person.memberships)


def require_sweeper(person: Person) -> None:
    if not may_sweep(person):
        raise Forbidden(
            "Việc này dành cho cán bộ lưu trữ, hiệu trưởng hoặc quản trị viên.",
            "This is for the archivist, the principal or an administrator.",
        )


def managed_school_ids(person: Person) -> set[int]:
    """The schools where this person keeps the archive (archivist or principal)."""
    return {m.school_id for m in person.memberships if m.role in SWEEPERS and m.school_id is not None}


def managed_school(session: Session, person: Person, school_code: str) -> School:
    """The school, when this person is one of its managers (principal, clerk/archivist) or an administrator."""
    school = archive_service.school_by_code(session, school_code)
    if not (access.is_admin(person) or access.roles_at(person, school.id) & holds.MANAGERS):
        raise Forbidden(
            "Chỉ hiệu trưởng, văn thư/lưu trữ của trường hoặc quản trị viên làm việc này.",
            "Only the school's principal, clerk/archivist or an administrator may do this.",
        )
    return school


# -- the schedule and a record's term -------------------------------------------------------------


def schedule_rows(session: Session) -> list[dict[str, Any]]:
    """Every record type's retention row, with its basis and whether the archivist confirmed it."""
    return [
        {
            "code": t.code,
            "name_vi": t.name_vi,
            "name_en": t.name_en,
            "permanent": t.retention_permanent,
            "years": t.retention_years,
            "basis": t.retention_basis,
            "confirmed": t.retention_confirmed,
            "scan_policy": t.scan_policy,
            "scan_min_dpi": t.scan_min_dpi,
        }
        for t in session.scalars(select(RecordType).order_by(RecordType.code))
    ]


def change_period(
    session: Session, store: ObjectStore, person: Person, code: str, body: PeriodIn, blobs_of: BlobsOf
) -> dict[str, Any]:
    """One row of the schedule changed (`set_period`), then the blobs of every recomputed record locked."""
    rtype = set_period(
        session,
        person,
        code,
        permanent=body.permanent,
        years=body.years,
        reason=body.reason,
        citation=body.citation,
        future_only=body.future_only,
    )
    schedule.lock_pending(session, store, blobs_of, limit=100_000)
    return {"code": rtype.code, "permanent": rtype.retention_permanent, "years": rtype.retention_years}


def locked_status(session: Session, store: ObjectStore, record: Record, blobs_of: BlobsOf) -> dict[str, Any]:
    """`status`, once the record's blobs are locked for its term (a new record's are locked here)."""
    info = status(session, record)
    if info["locked_until"] is None:
        schedule.lock_pending(session, store, blobs_of, record_ids=[record.id])
        info = status(session, record)
    return info


def sweep_for(session: Session, person: Person) -> dict[str, int]:
    """The sweep, run now by an archivist, a principal or an administrator."""
    require_sweeper(person)
    return sweep(session)


# -- holds ----------------------------------------------------------------------------------------


def create_hold(session: Session, store: ObjectStore, person: Person, body: HoldIn, blobs_of: BlobsOf) -> Hold:
    """`holds.create` with what a request asked for."""
    return holds.create(
        session,
        store,
        person,
        reason=body.reason,
        reference=body.reference,
        record_ids=body.record_ids,
        dossier_id=body.dossier_id,
        school_code=body.school_code,
        school_year=body.school_year,
        record_type=body.record_type,
        blobs_of=blobs_of,
    )


def visible_holds(session: Session, person: Person) -> list[dict[str, Any]]:
    """Every hold for an administrator; others those of their schools and their own."""
    rows = list(session.scalars(select(Hold).order_by(Hold.created_at.desc())))
    if not access.is_admin(person):
        schools = access.readable_school_ids(person)
        rows = [h for h in rows if h.school_id in schools or h.created_by_id == person.id]
    return [views.hold_view(session, h) for h in rows]


# -- fixity ---------------------------------------------------------------------------------------


def queue_fixity(session: Session, person: Person) -> Job:
    """A full fixity run queued for the worker (every blob re-hashed, the audit chain walked)."""
    require_sweeper(person)
    with write_transaction(session):
        return jobs.enqueue(session, fixity.FIXITY_JOB, {"started_by": person.username}, max_attempts=1)


def fixity_seen_by(session: Session, run: FixityRun, person: Person) -> dict[str, Any]:
    """A run as this person may see it: an administrator everything, others their schools' findings."""
    return views.fixity_view(session, run, None if access.is_admin(person) else managed_school_ids(person))


def fixity_runs(session: Session, person: Person, limit: int = 50) -> list[dict[str, Any]]:
    require_sweeper(person)
    runs = list(session.scalars(select(FixityRun).order_by(FixityRun.id.desc()).limit(limit)))
    return [fixity_seen_by(session, r, person) for r in runs]


def fixity_run(session: Session, person: Person, run_id: int) -> dict[str, Any]:
    require_sweeper(person)
    run = session.get(FixityRun, run_id)
    if run is None:
        raise NotFound("Không có lần kiểm tra toàn vẹn này.", "No such fixity run.")
    return fixity_seen_by(session, run, person)


# -- destruction ----------------------------------------------------------------------------------


def in_review(session: Session, person: Person, school_code: str) -> list[dict[str, Any]]:
    """Records past their term, not held, waiting for a destruction proposal ("Xem xét hủy")."""
    school = archive_service.school_by_code(session, school_code)
    if school.id not in access.readable_school_ids(person):
        raise Forbidden("Bạn không xem được hồ sơ của trường này.", "You may not see this school's records.")
    rows = session.execute(
        select(Record, RecordRetention)
        .join(RecordRetention, RecordRetention.record_id == Record.id)
        .where(Record.school_id == school.id, RecordRetention.state == RetentionState.review)
        .order_by(Record.school_year, Record.title)
    ).all()
    return [
        {
            "record_id": r.id,
            "title": r.title,
            "record_type": r.record_type.code,
            "school_year": r.school_year,
            "keep_until_year": rr.keep_until_year,
            "review_since": rr.review_since,
        }
        for r, rr in rows
    ]


def propose(session: Session, store: ObjectStore, tmp_dir: Path, person: Person, body: ProposalIn) -> Disposition:
    """Step 1 (`disposition.propose`) with what a request asked for."""
    items = [(i.record_id, i.explanation) for i in body.items]
    return disposition.propose(
        session, store, tmp_dir, person, school_code=body.school_code, items=items, explanation=body.explanation
    )


def council(
    session: Session, store: ObjectStore, tmp_dir: Path, person: Person, disposition_id: int, body: CouncilIn
) -> Disposition:
    """Step 2 (`disposition.council`) with what a request asked for."""
    return disposition.council(
        session,
        store,
        tmp_dir,
        person,
        disposition_id,
        members=[m.model_dump() for m in body.members],
        establishment_decision=body.establishment_decision,
        minutes=body.minutes,
        opinion=body.opinion,
        notes=body.notes,
    )


def visible_disposition(session: Session, person: Person, disposition_id: int) -> dict[str, Any]:
    """A disposition of a school this person reads (404 for any other, as for one that does not exist)."""
    shown = disposition.load(session, disposition_id)
    if shown.school_id not in access.readable_school_ids(person) and not access.is_admin(person):
        raise NotFound("Không có đợt hủy này.", "No such disposition.")
    return views.disposition_view(session, shown)


# -- transfer (nộp lưu) ---------------------------------------------------------------------------


def transfers_due(session: Session, person: Person, school_code: str) -> list[dict[str, Any]]:
    """Permanent records waiting for nộp lưu, by school year (terms refreshed first)."""
    school = managed_school(session, person, school_code)
    schedule.refresh(session)
    return [d.as_dict() for d in transfer.due_for(session, school)]


def downloadable_transfer(session: Session, person: Person, transfer_id: str) -> Transfer:
    """The transfer package, when this person manages its school."""
    found = transfer.load(session, transfer_id)
    school = session.get(School, found.school_id)
    assert school is not None
    managed_school(session, person, school.code)
    return found


def status(session: Session, record: Record) -> dict[str, Any]:
    """What the archive keeps about a record's retention, in words for people."""
    schedule.refresh(session, [record.id])  # this record only: a page view must not scan the table
    row = session.get(RecordRetention, record.id)
    on_hold = holds.holds_on(session, record)
    eligible = schedule.eligible_from(row) if row else None
    return {
        "record_id": record.id,
        "permanent": bool(row and row.permanent),
        "keep_until_year": row.keep_until_year if row else None,
        "eligible_from": eligible.isoformat() if eligible else None,
        "state": row.state if row else RetentionState.active,
        "locked_until": row.locked_until.isoformat() if row and row.locked_until else None,
        "holds": [{"id": h.id, "reason": h.reason, "reference": h.reference} for h in on_hold],
        "summary_vi": _summary(row, eligible, on_hold),
        "summary_en": _summary_en(row, eligible, on_hold),
    }


def _summary(row: RecordRetention | None, eligible: date | None, on_hold: list[Any]) -> str:
    if on_hold:
        return f"Đang bị tạm giữ ({on_hold[0].reason}); không được hủy."
    if row is None or row.permanent:
        return "Bảo quản vĩnh viễn." if row else "Đang tính thời hạn bảo quản."
    return f"Bảo quản đến hết năm {row.keep_until_year}; được xem xét hủy từ {eligible:%d/%m/%Y}."


def _summary_en(row: RecordRetention | None, eligible: date | None, on_hold: list[Any]) -> str:
    if on_hold:
        return f"Under legal hold ({on_hold[0].reason}); may not be destroyed."
    if row is None or row.permanent:
        return "Kept permanently." if row else "Retention term being computed."
    return f"Kept until the end of {row.keep_until_year}; may be reviewed for destruction from {eligible:%d/%m/%Y}."


def refuse_delete(session: Session, record: Record) -> None:
    """Always refuses (409): a record leaves only by an executed destruction decision."""
    info = status(session, record)
    if info["holds"]:
        hold = info["holds"][0]
        raise Conflict(
            f"Không thể xóa: hồ sơ đang bị tạm giữ (lệnh #{hold['id']}: {hold['reason']}).",
            f"Cannot delete: the record is under legal hold #{hold['id']} ({hold['reason']}).",
            hold_id=hold["id"],
        )
    if info["permanent"]:
        raise Conflict(
            "Không thể xóa: hồ sơ thuộc loại bảo quản vĩnh viễn.",
            "Cannot delete: the record is kept permanently.",
            permanent=True,
        )
    eligible = info["eligible_from"]
    if eligible and date.fromisoformat(eligible) > calendar.today():
        raise Conflict(
            f"Không thể xóa trước hạn: hồ sơ được bảo quản đến hết năm {info['keep_until_year']}, "
            f"được xem xét hủy từ {date.fromisoformat(eligible):%d/%m/%Y} theo quy trình TT 06/2025/TT-BNV.",
            f"Cannot delete before its term: kept through {info['keep_until_year']}, eligible for review from "
            f"{eligible} through the TT 06/2025 destruction procedure.",
            eligible_from=eligible,
        )
    raise Conflict(
        "Hồ sơ đã hết hạn bảo quản nhưng chỉ được hủy theo quy trình: xem xét hủy → hội đồng → quyết định → "
        "thực hiện (TT 06/2025/TT-BNV).",
        "The term has ended, but records are destroyed only through the procedure: review → council → decision → "
        "execution (TT 06/2025/TT-BNV).",
        eligible_from=eligible,
    )


def sweep(session: Session, today: date | None = None) -> dict[str, int]:
    """Set-based: compute what is missing, then move eligible, unheld records to review (xem xét hủy)."""
    added, changed = schedule.refresh(session)
    year = (today or calendar.today()).year
    moved_ids = list(
        session.scalars(
            update(RecordRetention)
            .where(
                RecordRetention.state == RetentionState.active,
                ~RecordRetention.permanent,
                RecordRetention.keep_until_year < year,
                ~select(Record.id).where(Record.id == RecordRetention.record_id, holds.is_held()).exists(),
            )
            .values(state=RetentionState.review, review_since=utcnow())
            .returning(RecordRetention.record_id)
            .execution_options(synchronize_session=False)
        )
    )
    index_queue.queue(session, moved_ids)  # their `retention` facet is now "review"
    moved = len(moved_ids)
    session.commit()
    reviewing = select(func.count()).select_from(RecordRetention).where(RecordRetention.state == RetentionState.review)
    in_review = session.scalar(reviewing)
    if moved:
        with write_transaction(session):
            audit.append(
                session,
                actor=None,
                action="retention.swept",
                object_type="retention",
                object_id="sweep",
                details={"moved_to_review": moved, "computed": added, "recomputed": changed, "year": year},
            )
    return {"computed": added, "recomputed": changed, "moved_to_review": moved or 0, "in_review": in_review or 0}


def set_period(
    session: Session,
    actor: Person,
    code: str,
    *,
    permanent: bool,
    years: int | None,
    reason: str,
    citation: str,
    future_only: bool = False,
) -> RecordType:
    """The archivist edits one row of the schedule, with reason and citation (audited).

    Lengthening applies to every record of the type (their locks are extended). Shortening cannot
    apply to records already computed (their blobs are under COMPLIANCE retention): it is refused,
    unless `future_only` says it is meant for new records only, which then get the shorter term.
    """
    if not may_edit_schedule(session, actor):
        raise Forbidden(*access.SCHEDULE_KEEPERS)
    if not reason.strip() or not citation.strip():
        raise InvalidInput(
            "Hãy ghi lý do và căn cứ pháp lý (ví dụ: TT 08/2025/TT-BGDĐT, Phụ lục, mục …).",
            "Give the reason and the legal citation.",
        )
    if permanent:
        years = None
    elif years is None or not 2 <= years <= 70:
        raise InvalidInput(
            "Thời hạn bảo quản phải là vĩnh viễn hoặc từ 2 đến 70 năm (Luật Lưu trữ 2024, Điều 15).",
            "A retention period is permanent or 2 to 70 years (Archives Law 2024, art. 15).",
            years=years,
        )
    rtype = session.scalar(select(RecordType).where(RecordType.code == code))
    if rtype is None:
        raise NotFound(f"Không có loại hồ sơ {code!r}.", f"No record type {code!r}.")
    shorter = (rtype.retention_permanent and not permanent) or (
        not rtype.retention_permanent and not permanent and (years or 0) < (rtype.retention_years or 0)
    )
    if shorter and not future_only:
        schedule.refresh(session)
        locked = session.scalar(
            select(func.count())
            .select_from(RecordRetention)
            .where(
                RecordRetention.record_type_id == rtype.id,
                RecordRetention.state.in_((RetentionState.active, RetentionState.review)),
            )
        )
        if locked:
            raise Conflict(
                f"Không thể rút ngắn: {locked} hồ sơ loại này đã được khóa lưu giữ (COMPLIANCE) theo thời hạn cũ. "
                "Nếu chỉ áp dụng cho hồ sơ mới, gửi lại với future_only=true.",
                f"Cannot shorten: {locked} records of this type are already locked (COMPLIANCE) for the old term. "
                "To apply to new records only, send future_only=true.",
                locked_records=locked,
            )
    before = {"permanent": rtype.retention_permanent, "years": rtype.retention_years}
    with write_transaction(session):
        rtype.retention_permanent, rtype.retention_years = permanent, years
        rtype.retention_basis = citation.strip()
        rtype.retention_confirmed = True
        audit.append(
            session,
            actor=actor,
            action="retention.schedule_changed",
            object_type="record_type",
            object_id=code,
            details={
                "before": before,
                "after": {"permanent": permanent, "years": years},
                "reason": reason.strip(),
                "citation": citation.strip(),
                "future_only": future_only,
            },
        )
    schedule.refresh(session)  # lengthened: every record of the type recomputes; shortened: new ones only
    return rtype
