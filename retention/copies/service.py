"""Who may ask for which copy, who issues it, and the checks every look and download passes.

The smallest lawful flow (TT 05/2025/TT-BNV on use; the school's head decides who uses its archive):
- a read copy and a BẢN SAO copy are issued at once to whoever may already read the record — an
  inspector within an active grant (the grant is the principal's decision to open those records to
  that inspection) or a reader of the school — because neither says more than reading does;
- an authenticated copy is the school vouching for the copy with its seal: it waits for the
  school's clerk (văn thư, who keeps the seal) or principal, who issues it with the seal's key or
  refuses it with a reason.
Every request (refusals outside a grant included), issue, refusal, look and download is audited.
A read copy works until its end date (Vietnam's calendar day) and only for its requester; an
inspector's copy stops working with their grant, as their reads do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from archive import access, audit, calendar, grants
from archive.db import utcnow, write_transaction
from archive.exceptions import Conflict, Forbidden, Gone, InvalidInput, NotFound
from archive.models import InspectorGrant, Person, Record, RecordStatus, Role, Version
from retention.copies.models import CopyKind, CopyRequest, CopyState

ISSUERS = frozenset({Role.clerk, Role.principal})  # văn thư (keeps the seal), hiệu trưởng
MAX_READ_DAYS = 90
PDF = "application/pdf"

OUTSIDE = (
    "Bạn không được yêu cầu bản sao của hồ sơ này: hồ sơ không thuộc phạm vi quyết định thanh tra của bạn "
    "(hoặc không tồn tại).",
    "You may not ask for a copy of this record: it is outside your inspection grant (or does not exist).",
)


@dataclass(frozen=True)
class Checked:
    """A request that passed every check, with what it was checked against."""

    record: Record
    version: Version
    kind: CopyKind
    purpose: str
    read_until: date | None
    grant_id: int | None


def _refuse_outside(session: Session, actor: Person, record_id: str, kind: str, reason: str) -> None:
    """The refused request is audited (an inspector trying records outside the grant is worth seeing)."""
    record = session.get(Record, record_id)
    session.commit()
    with write_transaction(session):
        audit.append(
            session,
            actor=actor,
            action="copy.request_refused",
            object_type="record",
            object_id=record_id,
            school_id=record.school_id if record else None,
            record_id=record.id if record else None,
            details={"kind": kind, "reason": reason},
        )


def _grant_covering(session: Session, actor: Person, record: Record | None) -> grants.Clause | None:
    return next((c for c in grants.clauses(session, actor) if record is not None and c.covers(record)), None)


def reader_scope(session: Session, actor: Person, record_id: str, kind: str) -> tuple[Record, grants.Clause | None]:
    """The record if `actor` may read it (their school, or a grant), else an audited 403."""
    record = session.get(Record, record_id)
    if record is not None and record.school_id in access.readable_school_ids(actor):
        return record, None
    clause = _grant_covering(session, actor, record)
    if record is None or clause is None:
        _refuse_outside(session, actor, record_id, kind, "outside_grant" if grants.is_inspector(actor) else "school")
        raise Forbidden(*OUTSIDE)
    return record, clause


def source_version(session: Session, record: Record) -> Version:
    """What a copy is made from: the newest PDF version (the signed one, else the original or its
    PDF rendition, archive/renditions.py)."""
    version = session.scalar(
        select(Version)
        .where(Version.record_id == record.id, Version.media_type == PDF)
        .order_by(Version.number.desc())
        .limit(1)
    )
    if version is None:
        raise InvalidInput(
            "Tài liệu này chưa có bản PDF (hoặc bản chuyển đổi sang PDF) để làm bản sao.",
            "This record has no PDF (nor a PDF rendition) to copy yet.",
        )
    return version


def check(session: Session, actor: Person, record_id: str, kind: str, purpose: str, read_until: date | None) -> Checked:
    """Every refusal before anything is made or stored."""
    try:
        chosen = CopyKind(kind)
    except ValueError:
        raise InvalidInput(
            "Loại bản sao phải là bản đọc, bản sao hoặc bản sao có xác thực.",
            "The kind of copy must be read, copy or authenticated.",
        ) from None
    record, clause = reader_scope(session, actor, record_id, chosen)
    if record.status == RecordStatus.destroyed.value:
        raise Gone(
            "Tài liệu đã được hủy; không còn bản gốc để sao.", "The record was destroyed; nothing is left to copy."
        )
    purpose = " ".join(purpose.split())
    if not 3 <= len(purpose) <= 500:
        raise InvalidInput("Hãy ghi mục đích sử dụng (3–500 ký tự).", "State the purpose of use (3–500 characters).")
    read_until = _check_until(session, read_until, clause) if chosen == CopyKind.read else None
    grant_id = clause.grant_id if clause else None
    return Checked(record, source_version(session, record), chosen, purpose, read_until, grant_id)


def _check_until(session: Session, until: date | None, clause: grants.Clause | None) -> date:
    today = calendar.today()
    if until is None:
        raise InvalidInput("Bản đọc cần ngày hết hạn.", "A read copy needs an end date.")
    if until < today:
        raise InvalidInput("Ngày hết hạn của bản đọc đã qua.", "The read copy's end date is in the past.")
    if until > today + timedelta(days=MAX_READ_DAYS):
        raise InvalidInput(
            f"Bản đọc dùng được tối đa {MAX_READ_DAYS} ngày.", f"A read copy lasts at most {MAX_READ_DAYS} days."
        )
    if clause is not None:
        grant = session.get(InspectorGrant, clause.grant_id)
        ends = grant.expires_at.astimezone(calendar.VN_TIME).date() if grant else today
        if until > ends:
            raise InvalidInput(
                f"Bản đọc không được dài hơn quyền thanh tra (hết hạn ngày {ends:%d/%m/%Y}).",
                f"A read copy cannot outlast the inspection grant (it ends on {ends:%d/%m/%Y}).",
            )
    return until


def next_number(session: Session, school_id: int, year: int) -> int:
    """The next copy number of the school's year (read copies are not numbered)."""
    top = session.scalar(
        select(func.max(CopyRequest.number_seq)).where(
            CopyRequest.school_id == school_id, CopyRequest.number_year == year
        )
    )
    return (top or 0) + 1


def _audit(session: Session, actor: Person, action: str, copy: CopyRequest, **details: Any) -> None:
    audit.append(
        session,
        actor=actor,
        action=action,
        object_type="copy_request",
        object_id=copy.id,
        school_id=copy.school_id,
        record_id=copy.record_id,
        details={"kind": copy.kind, **({"number": copy.number} if copy.number else {}), **details},
    )


@dataclass(frozen=True)
class Made:
    """A copy's file as stored, for the row that records it."""

    number_year: int
    number_seq: int
    store_key: str
    sha256: str
    size: int
    seal_subject: str | None = None


def create(session: Session, actor: Person, checked: Checked, made: Made | None = None) -> CopyRequest:
    """The request row; a read copy or a BẢN SAO copy (`made`) is issued in the same transaction."""
    with write_transaction(session):
        copy = CopyRequest(
            school_id=checked.record.school_id,
            record_id=checked.record.id,
            kind=checked.kind.value,
            purpose=checked.purpose,
            read_until=checked.read_until,
            grant_id=checked.grant_id,
            requested_by_id=actor.id,
            requested_at=utcnow(),
            version_number=checked.version.number,
            source_sha256=checked.version.blob_sha256,
        )
        session.add(copy)
        session.flush()
        _audit(session, actor, "copy.requested", copy, purpose=copy.purpose, grant_id=copy.grant_id)
        if checked.kind != CopyKind.authenticated:
            _issued(session, actor, copy, made)
    return copy


def _issued(session: Session, actor: Person, copy: CopyRequest, made: Made | None) -> None:
    if made is not None:
        if next_number(session, copy.school_id, made.number_year) != made.number_seq:
            raise Conflict("Số bản sao vừa được cấp cho bản khác; hãy thử lại.", "That copy number was just taken.")
        copy.number_year, copy.number_seq = made.number_year, made.number_seq
        copy.store_key, copy.sha256, copy.size, copy.seal_subject = (
            made.store_key,
            made.sha256,
            made.size,
            made.seal_subject,
        )
    copy.state, copy.decided_by_id, copy.decided_at = CopyState.issued.value, actor.id, utcnow()
    extra = {"sha256": made.sha256, "size": made.size, "original_sha256": copy.source_sha256} if made else {}
    _audit(
        session,
        actor,
        "copy.issued",
        copy,
        read_until=copy.read_until.isoformat() if copy.read_until else None,
        **extra,
    )


def get(session: Session, copy_id: str) -> CopyRequest:
    copy = session.get(CopyRequest, copy_id)
    if copy is None:
        raise NotFound("Không có yêu cầu bản sao này.", "No such copy request.")
    return copy


def is_issuer(actor: Person, school_id: int) -> bool:
    return bool(access.roles_at(actor, school_id) & ISSUERS)


def pending_for_issue(session: Session, actor: Person, copy_id: str) -> CopyRequest:
    """An authenticated copy waiting for this issuer (the school's clerk or principal)."""
    copy = get(session, copy_id)
    if not is_issuer(actor, copy.school_id):
        raise Forbidden(
            "Chỉ văn thư hoặc hiệu trưởng của trường giữ tài liệu mới cấp bản sao có xác thực.",
            "Only the clerk or principal of the record's school issues authenticated copies.",
        )
    session.refresh(copy)  # its state now, not as this session first loaded it
    _refuse_destroyed(copy)
    if copy.state != CopyState.requested.value:
        raise Conflict("Yêu cầu này đã được giải quyết.", "This request has already been decided.")
    requester = copy.requested_by
    if requester.id != actor.id and not _still_readable(session, requester, copy):
        raise Conflict(
            "Người yêu cầu không còn quyền xem tài liệu này (quyền thanh tra đã hết hạn hoặc bị thu hồi).",
            "The requester may no longer read this record (their grant ended or was revoked).",
        )
    return copy


class AlreadyDecided(Conflict):
    """The request was issued, refused or voided by someone else while this issuer made its copy."""


def issue(session: Session, actor: Person, copy: CopyRequest, made: Made) -> CopyRequest:
    """Record the issued copy — only if the request is still waiting, asked inside the write transaction.

    `pending_for_issue` is checked when the issuer clicks, then stamping, sealing and the TSA take
    seconds: the clerk and the principal clicking at once would both pass it. The conditional
    UPDATE (… WHERE state = 'requested') lets exactly one of them through; the other gets
    AlreadyDecided (409) and its caller deletes the file it stored."""
    with write_transaction(session):
        _claim(session, copy, CopyState.issued)
        _issued(session, actor, copy, made)
    return copy


def _claim(session: Session, copy: CopyRequest, to: CopyState) -> None:
    """Move a waiting request to `to` in the open write transaction, or AlreadyDecided if it is not waiting."""
    statement = (
        update(CopyRequest)
        .where(CopyRequest.id == copy.id, CopyRequest.state == CopyState.requested.value)
        .values(state=to.value)
        .execution_options(synchronize_session=False)
    )
    claimed = cast(CursorResult[Any], session.execute(statement)).rowcount
    if claimed != 1:
        raise AlreadyDecided(
            "Yêu cầu này vừa được người khác giải quyết (cấp, từ chối, hoặc tài liệu đã bị hủy); "
            "bản sao của bạn không được lưu.",
            "This request was just decided by someone else (issued, refused, or its record destroyed); "
            "your copy was not kept.",
        )


GONE = (
    "Tài liệu gốc đã được hủy theo quyết định hủy tài liệu hết giá trị; bản sao của nó cũng đã bị hủy.",
    "The original record was destroyed by a destruction decision; its copies were destroyed with it.",
)


def _refuse_destroyed(copy: CopyRequest) -> None:
    if copy.state == CopyState.voided.value or copy.record.status == RecordStatus.destroyed.value:
        raise Gone(*GONE)


def void_for_destruction(session: Session, actor: Person, record_ids: set[str], disposition_id: int) -> None:
    """Inside the destruction's transaction: the records' waiting and issued copies are voided, audited
    (their files are deleted with the blobs, `stored_keys`)."""
    rows = session.scalars(
        select(CopyRequest).where(
            CopyRequest.record_id.in_(record_ids),
            CopyRequest.state.in_([CopyState.requested.value, CopyState.issued.value]),
        )
    )
    for copy in rows:
        was = copy.state
        copy.state = CopyState.voided.value
        _audit(session, actor, "copy.voided", copy, was=was, reason="record_destroyed", disposition_id=disposition_id)


def stored_keys(session: Session, record_ids: set[str]) -> list[str]:
    """The stored files of the records' copies (BẢN SAO and authenticated), to delete with the records."""
    return sorted(
        k
        for k in session.scalars(
            select(CopyRequest.store_key).where(
                CopyRequest.record_id.in_(record_ids), CopyRequest.store_key.is_not(None)
            )
        )
        if k
    )


def refuse(session: Session, actor: Person, copy_id: str, reason: str) -> CopyRequest:
    copy = pending_for_issue(session, actor, copy_id)
    reason = " ".join(reason.split())
    if not 3 <= len(reason) <= 500:
        raise InvalidInput("Hãy ghi lý do từ chối (3–500 ký tự).", "State the reason for refusing (3–500 characters).")
    session.commit()
    with write_transaction(session):
        _claim(session, copy, CopyState.refused)
        copy.state, copy.decided_by_id, copy.decided_at, copy.refuse_reason = (
            CopyState.refused.value,
            actor.id,
            utcnow(),
            reason,
        )
        _audit(session, actor, "copy.refused", copy, reason=reason)
    return copy


def _still_readable(session: Session, person: Person, copy: CopyRequest) -> bool:
    if copy.school_id in access.readable_school_ids(person):
        return True
    return _grant_covering(session, person, copy.record) is not None


def _mine_or_refuse(session: Session, actor: Person, copy_id: str) -> CopyRequest:
    copy = session.get(CopyRequest, copy_id)
    if copy is None or (copy.requested_by_id != actor.id and not is_issuer(actor, copy.school_id)):
        raise NotFound("Không có bản sao này.", "No such copy.")
    _refuse_destroyed(copy)
    if copy.state != CopyState.issued.value:
        raise Conflict("Bản sao này chưa được cấp.", "This copy has not been issued.")
    if not _still_readable(session, actor, copy):
        raise Forbidden(*OUTSIDE)
    return copy


def for_download(session: Session, actor: Person, copy_id: str) -> CopyRequest:
    copy = _mine_or_refuse(session, actor, copy_id)
    if copy.kind == CopyKind.read.value:
        raise Forbidden(
            "Bản đọc chỉ xem trên hệ thống, không tải về được. Hãy yêu cầu bản sao để tải về.",
            "A read copy is viewed in the browser only and cannot be downloaded; ask for a copy to download.",
        )
    return copy


def for_reading(session: Session, actor: Person, copy_id: str) -> CopyRequest:
    copy = _mine_or_refuse(session, actor, copy_id)
    if copy.kind != CopyKind.read.value:
        raise InvalidInput("Đây không phải bản đọc; hãy tải bản sao về.", "This is not a read copy; download it.")
    if copy.requested_by_id != actor.id:
        raise NotFound("Không có bản đọc này.", "No such read copy.")
    if copy.read_until is None or calendar.today() > copy.read_until:
        raise Gone(
            f"Bản đọc đã hết hạn ngày {copy.read_until:%d/%m/%Y}; hãy yêu cầu bản đọc mới.",
            f"The read copy expired on {copy.read_until:%d/%m/%Y}; ask for a new one.",
        )
    return copy


def audit_use(session: Session, actor: Person, copy: CopyRequest, action: str, **details: Any) -> None:
    """One `copy.viewed` per look at a read copy's first page, one `copy.downloaded` per download."""
    session.commit()
    with write_transaction(session):
        _audit(session, actor, action, copy, **details)


def visible(session: Session, actor: Person) -> tuple[list[CopyRequest], list[CopyRequest]]:
    """(my requests, the requests of the schools where I issue copies), newest first."""
    newest = CopyRequest.requested_at.desc()
    mine = list(session.scalars(select(CopyRequest).where(CopyRequest.requested_by_id == actor.id).order_by(newest)))
    schools = [m.school_id for m in actor.memberships if m.role in ISSUERS and m.school_id is not None]
    theirs: list[CopyRequest] = []
    if schools:
        theirs = list(
            session.scalars(
                select(CopyRequest)
                .where(CopyRequest.school_id.in_(schools), CopyRequest.kind == CopyKind.authenticated.value)
                .order_by(newest)
                .limit(200)
            )
        )
    return mine, theirs
