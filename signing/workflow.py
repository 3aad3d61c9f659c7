"""The approval workflow: a teacher submits, the principal approves or returns with a comment.

Decisions are recorded per item; the signature comes later, for the whole batch at once. A record
only becomes "approved" when its signed version exists, so nothing unsigned is ever shown as
approved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from archive import access, audit, calendar, renditions
from archive.db import utcnow, write_transaction
from archive.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from archive.models import Person, Record, RecordStatus, RecordType, Role
from signing import periods
from signing.models import ApprovalBatch, ApprovalItem, BatchState, Decision, SignState

TITLES = {Role.principal.value: "HIỆU TRƯỞNG", Role.vice_principal.value: "KT. HIỆU TRƯỞNG\nPHÓ HIỆU TRƯỞNG"}


def signer_title(person: Person, school_id: int, allowed_roles: list[str] | set[str]) -> str:
    """The title printed above the signer's name; a vice principal signs "KT. HIỆU TRƯỞNG"."""
    roles = access.roles_at(person, school_id)
    for role in (Role.principal.value, Role.vice_principal.value):
        if role in roles and role in allowed_roles:
            return TITLES[role]
    raise Forbidden(
        "Chỉ hiệu trưởng (hoặc phó hiệu trưởng được ủy quyền) của trường được duyệt và ký.",
        "Only the school's principal (or a delegated vice principal) may approve and sign.",
    )


def batch_signer_roles(session: Session, batch: ApprovalBatch) -> set[str]:
    """Roles allowed to sign every record type in the batch (the intersection of their policies)."""
    allowed: set[str] | None = None
    for item in session.scalars(select(ApprovalItem).where(ApprovalItem.batch_id == batch.id)):
        roles = set(item.record.record_type.signer_roles or [])
        allowed = roles if allowed is None else allowed & roles
    return allowed if allowed is not None else {Role.principal.value, Role.vice_principal.value}


def _open_batch(session: Session, school_id: int, period: str) -> ApprovalBatch:
    latest = session.scalar(
        select(ApprovalBatch)
        .where(ApprovalBatch.school_id == school_id, ApprovalBatch.period == period)
        .order_by(ApprovalBatch.round.desc())
        .limit(1)
    )
    if latest is not None and latest.state == BatchState.open.value:
        return latest
    batch = ApprovalBatch(school_id=school_id, period=period, round=(latest.round + 1) if latest else 1)
    session.add(batch)
    session.flush()
    return batch


def submit(session: Session, actor: Person, record_id: str, period: str | None, note: str | None) -> ApprovalItem:
    with write_transaction(session):
        record = session.get(Record, record_id, populate_existing=True)
        if record is None:
            raise NotFound("Không tìm thấy hồ sơ.", "Record not found.", record_id=record_id)
        return submit_within(session, actor, record, period, note)


def submit_within(
    session: Session, actor: Person, record: Record, period: str | None, note: str | None
) -> ApprovalItem:
    """Submit `record` inside the caller's write transaction: `submit` above, or the upload that makes
    the record (`flows/intake.py`: "Tải lên và nộp duyệt" commits the record and its submission
    together, or neither)."""
    access.require_can_edit(actor, record)
    cadence = require_signed(record.record_type, period)
    period = periods.check(period, cadence) if period else periods.default_for(record, cadence, calendar.today())
    source = renditions.latest_source(session, record)  # a PDF rendition made meanwhile is no new upload
    _refuse_unchanged_return(session, record, source)
    open_item = session.scalar(
        select(ApprovalItem).where(
            ApprovalItem.record_id == record.id,
            ApprovalItem.sign_state == SignState.unsigned.value,
            ApprovalItem.decision.in_([Decision.pending.value, Decision.approved.value]),
        )
    )
    if open_item is not None and open_item.decision == Decision.approved.value:
        raise Conflict(
            "Hồ sơ đã được duyệt và đang chờ ký; không nộp lại được.",
            "The record is approved and waiting for its signature; it cannot be resubmitted.",
        )
    if open_item is not None:
        if open_item.version_number == source:
            raise Conflict("Hồ sơ đã được nộp và đang chờ duyệt.", "The record is already submitted.")
        # A new version uploaded while waiting: the submission now points at it.
        open_item.version_number = source
        open_item.submitted_at = utcnow()
        open_item.note = note
        item = open_item
    else:
        batch = _open_batch(session, record.school_id, period)
        item = ApprovalItem(
            batch_id=batch.id,
            record_id=record.id,
            version_number=source,
            submitted_by_id=actor.id,
            submitted_at=utcnow(),
            note=note,
        )
        session.add(item)
    record.status = RecordStatus.submitted.value
    record.updated_at = utcnow()
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="record.submitted",
        object_type="record",
        object_id=record.id,
        school_id=record.school_id,
        record_id=record.id,
        details={"period": period, "version": source, "batch_id": item.batch_id},
    )
    return item


def require_signed(record_type: RecordType, period: str | None) -> str:
    """The type's signing cadence, if its records are approved by signature and `period` fits it:
    checked before an upload-and-submit reads any byte (and again when it commits)."""
    cadence = record_type.signing_cadence
    if not cadence:
        raise Conflict(
            f"Loại hồ sơ '{record_type.name_vi}' không cần ký duyệt; hãy chọn \"Chỉ tải lên\".",
            f"Records of type {record_type.code!r} are not approved by signature; upload them without submitting.",
        )
    if period:
        periods.check(period, cadence)
    return cadence


def returned_unchanged(session: Session, record: Record, source: int | None = None) -> bool:
    """Whether this is a returned plan with no corrected version since (a rendition is no correction):
    it goes back to the principal only corrected, since the version they returned, sent again
    unchanged, would cost them a second look at what they already refused (issue #15)."""
    if record.status != RecordStatus.returned.value:
        return False
    returned = session.scalar(
        select(ApprovalItem.version_number)
        .where(ApprovalItem.record_id == record.id, ApprovalItem.decision == Decision.returned.value)
        .order_by(ApprovalItem.id.desc())
        .limit(1)
    )
    latest = renditions.latest_source(session, record) if source is None else source
    return returned is not None and returned >= latest


def _refuse_unchanged_return(session: Session, record: Record, source: int) -> None:
    if returned_unchanged(session, record, source):
        raise Conflict(
            "Kế hoạch đã bị trả lại; hãy tải lên phiên bản mới đã sửa theo góp ý rồi nộp lại.",
            "The plan was returned; upload a corrected new version, then submit it again.",
            version=record.current_version,
        )


@dataclass(frozen=True)
class DecisionIn:
    item_id: int
    decision: Decision
    comment: str | None = None


def decide(session: Session, actor: Person, batch_id: str, decisions: list[DecisionIn]) -> list[ApprovalItem]:
    """Approve or return several items in one transaction: all are recorded, or none."""
    if not decisions:
        raise InvalidInput("Chưa có quyết định nào.", "No decisions were given.")
    decided: list[ApprovalItem] = []
    with write_transaction(session):
        batch = load_batch(session, batch_id)
        signer_title(actor, batch.school_id, batch_signer_roles(session, batch))
        if batch.state != BatchState.open.value:
            raise Conflict(
                "Đợt duyệt này đã ký hoặc đang ký; không thay đổi quyết định được.",
                "This batch is signed or being signed; decisions can no longer change.",
                state=batch.state,
            )
        seen: set[int] = set()
        for d in decisions:
            item = session.get(ApprovalItem, d.item_id, populate_existing=True)
            if item is None or item.batch_id != batch.id:
                raise NotFound("Không có mục này trong đợt duyệt.", "No such item in this batch.", item_id=d.item_id)
            if item.id in seen or item.decision != Decision.pending.value:
                raise Conflict(
                    f"Hồ sơ '{item.record.title}' đã được quyết định rồi.",
                    f"Record {item.record.title!r} has already been decided.",
                    item_id=item.id,
                )
            seen.add(item.id)
            if renditions.latest_source(session, item.record) != item.version_number:
                raise Conflict(
                    f"Giáo viên đã tải phiên bản mới của '{item.record.title}' sau khi nộp; chờ nộp lại.",
                    f"A newer version of {item.record.title!r} was uploaded after submission; wait for resubmission.",
                    item_id=item.id,
                )
            comment = (d.comment or "").strip() or None
            if d.decision == Decision.returned and not comment:
                raise InvalidInput(
                    "Khi trả lại hồ sơ, hãy ghi nhận xét để giáo viên biết cần sửa gì.",
                    "A returned item needs a comment telling the teacher what to change.",
                    item_id=item.id,
                )
            if d.decision == Decision.pending:
                raise InvalidInput("Quyết định phải là duyệt hoặc trả lại.", "Decision must be approved or returned.")
            item.decision = d.decision.value
            item.comment = comment
            item.decided_by_id = actor.id
            item.decided_at = utcnow()
            if d.decision == Decision.returned:
                item.record.status = RecordStatus.returned.value
                item.record.updated_at = item.decided_at
            audit.append(
                session,
                actor=actor,
                action=f"record.{d.decision.value}",
                object_type="record",
                object_id=item.record_id,
                school_id=batch.school_id,
                record_id=item.record_id,
                details={"batch_id": batch.id, "version": item.version_number, "comment": comment},
            )
            decided.append(item)
    return decided


def load_batch(session: Session, batch_id: str) -> ApprovalBatch:
    batch = session.get(ApprovalBatch, batch_id, populate_existing=True)
    if batch is None:
        raise NotFound("Không tìm thấy đợt duyệt.", "Approval batch not found.", batch_id=batch_id)
    return batch


def require_can_view_batches(actor: Person, school_id: int) -> None:
    if not access.roles_at(actor, school_id) & {
        Role.principal.value,
        Role.vice_principal.value,
        Role.clerk.value,
    }:
        raise Forbidden(
            "Chỉ ban giám hiệu và văn thư của trường xem được đợt duyệt.",
            "Only the school's leadership and clerk may see approval batches.",
        )


def batches_for(session: Session, school_id: int, period: str | None = None) -> list[ApprovalBatch]:
    query = select(ApprovalBatch).where(ApprovalBatch.school_id == school_id)
    if period:
        query = query.where(ApprovalBatch.period == period)
    return list(session.scalars(query.order_by(ApprovalBatch.period.desc(), ApprovalBatch.round.desc())))


def waiting_periods(session: Session, school_ids: Iterable[int]) -> list[str]:
    """Periods, latest first, whose batches still wait for the principal: a decision or the signature.

    The approval page opens on the first of these, not on the calendar month: November's plans are
    signed in the first days of December, and the principal must land on November.
    """
    waiting = or_(
        ApprovalItem.decision == Decision.pending.value,
        and_(ApprovalItem.decision == Decision.approved.value, ApprovalItem.sign_state == SignState.unsigned.value),
    )
    rows = session.scalars(
        select(ApprovalBatch.period)
        .join(ApprovalItem, ApprovalItem.batch_id == ApprovalBatch.id)
        .where(
            ApprovalBatch.school_id.in_(list(school_ids)),
            ApprovalBatch.state != BatchState.signed.value,
            waiting,
        )
        .distinct()
    )
    return periods.latest_first(rows)


def items_of(session: Session, batch_id: str) -> list[ApprovalItem]:
    return list(
        session.scalars(select(ApprovalItem).where(ApprovalItem.batch_id == batch_id).order_by(ApprovalItem.id))
    )


def items_for_record(session: Session, record_id: str) -> list[ApprovalItem]:
    return list(
        session.scalars(select(ApprovalItem).where(ApprovalItem.record_id == record_id).order_by(ApprovalItem.id))
    )


def counts(session: Session, batch_id: str) -> dict[str, int]:
    rows = session.execute(
        select(ApprovalItem.decision, ApprovalItem.sign_state, func.count())
        .where(ApprovalItem.batch_id == batch_id)
        .group_by(ApprovalItem.decision, ApprovalItem.sign_state)
    )
    out = {"pending": 0, "approved": 0, "returned": 0, "signed": 0, "failed": 0}
    for decision, sign_state, n in rows:
        out[decision] += n
        if sign_state in (SignState.signed, SignState.failed):
            out[sign_state] += n
    return out


def submitted_by(session: Session, person: Person, period: str) -> list[ApprovalItem]:
    """A teacher's submissions of this period, and of any period not yet signed (at most 50, newest first)."""
    return list(
        session.scalars(
            select(ApprovalItem)
            .join(ApprovalBatch, ApprovalBatch.id == ApprovalItem.batch_id)
            .where(
                ApprovalItem.submitted_by_id == person.id,
                or_(ApprovalBatch.period == period, ApprovalBatch.state != BatchState.signed.value),
            )
            .order_by(ApprovalItem.submitted_at.desc())
            .limit(50)
        )
    )


def queue(session: Session, school_ids: Iterable[int], period: str) -> list[dict[str, Any]]:
    """The batches that wait for the principal, latest waiting period first (`period` when none waits)."""
    ids = list(school_ids)
    return [
        {"batch": batch, "counts": counts(session, batch.id)}
        for waiting in waiting_periods(session, ids) or [period]
        for school_id in ids
        for batch in batches_for(session, school_id, waiting)
    ]
