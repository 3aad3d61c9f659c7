"""Retention rules a person meets: the schedule edited, deletions refused, the sweep to review.

Nothing is destroyed early and nothing leaves except through the procedure of TT 06/2025/TT-BNV:
the API has no way to delete a record. Asked to, it answers with the date the record becomes
eligible for review (or that it is permanent, or held) and points to disposition.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from archive import access, audit, calendar, index_queue
from archive.db import utcnow, write_transaction
from archive.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from archive.models import Person, Record, RecordType, Role
from retention import holds, schedule
from retention.models import RecordRetention

EDITORS = {Role.archivist}


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
        "state": row.state if row else "active",
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
                RecordRetention.state == "active",
                ~RecordRetention.permanent,
                RecordRetention.keep_until_year < year,
                ~select(Record.id).where(Record.id == RecordRetention.record_id, holds.is_held()).exists(),
            )
            .values(state="review", review_since=utcnow())
            .returning(RecordRetention.record_id)
            .execution_options(synchronize_session=False)
        )
    )
    index_queue.queue(session, moved_ids)  # their `retention` facet is now "review"
    moved = len(moved_ids)
    session.commit()
    reviewing = select(func.count()).select_from(RecordRetention).where(RecordRetention.state == "review")
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
    if not (access.is_admin(actor) or any(m.role in EDITORS for m in actor.memberships)):
        raise Forbidden(
            "Chỉ cán bộ lưu trữ (hoặc quản trị viên) được sửa bảng thời hạn bảo quản.",
            "Only an archivist (or an administrator) may edit the retention schedule.",
        )
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
            .where(RecordRetention.record_type_id == rtype.id, RecordRetention.state.in_(("active", "review")))
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
