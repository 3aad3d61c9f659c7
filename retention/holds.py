"""Legal holds (tạm giữ): during an inspection or a dispute, records are frozen whatever their term.

A hold names records, a dossier, or a filter (a school, optionally one school year and one record
type; a filter also covers records added later). Held records cannot enter disposition; their
blobs carry the store's legal hold (S3 Object Lock legal hold, a flag in the folder store) until no
active hold covers them. Every hold and release is an audit event with its reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from archive import access, audit, blobs
from archive.db import utcnow, write_transaction
from archive.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from archive.models import Dossier, Person, Record, RecordType, Role, School
from archive.storage import ObjectMissing, ObjectStore, blob_key
from retention.models import Hold, HoldKind, HoldRecord
from retention.schedule import BlobsOf, version_blobs

MANAGERS = {Role.principal, Role.vice_principal, Role.archivist, Role.clerk}


def covers() -> ColumnElement[bool]:
    """SQL: this (active) hold row covers the `Record` row in the same query."""
    return and_(
        Hold.released_at.is_(None),
        or_(
            and_(
                Hold.kind == HoldKind.records,
                Record.id.in_(select(HoldRecord.record_id).where(HoldRecord.hold_id == Hold.id)),
            ),
            and_(Hold.kind == HoldKind.dossier, Hold.dossier_id == Record.dossier_id),
            and_(
                Hold.kind == HoldKind.filter,
                Hold.school_id == Record.school_id,
                or_(Hold.school_year.is_(None), Hold.school_year == Record.school_year),
                or_(Hold.record_type_id.is_(None), Hold.record_type_id == Record.record_type_id),
            ),
        ),
    )


def is_held() -> ColumnElement[bool]:
    """SQL over `Record`: some active hold covers it."""
    return exists().where(covers())


def holds_on(session: Session, record: Record) -> list[Hold]:
    return list(session.scalars(select(Hold).join(Record, Record.id == record.id).where(covers())))


def _may_manage(actor: Person, school_id: int) -> None:
    if access.is_admin(actor):
        return
    if not access.roles_at(actor, school_id) & MANAGERS:
        raise Forbidden(
            "Chỉ hiệu trưởng, phó hiệu trưởng, văn thư/lưu trữ của trường hoặc quản trị viên được tạm giữ hồ sơ.",
            "Only the school's principal, vice principal, clerk/archivist or an administrator may hold records.",
        )


def create(
    session: Session,
    store: ObjectStore,
    actor: Person,
    *,
    reason: str,
    reference: str | None,
    record_ids: list[str] | None = None,
    dossier_id: str | None = None,
    school_code: str | None = None,
    school_year: str | None = None,
    record_type: str | None = None,
    blobs_of: BlobsOf = version_blobs,
) -> Hold:
    if not reason.strip():
        raise InvalidInput("Hãy ghi lý do tạm giữ.", "Give the reason for the hold.")
    scopes = [bool(record_ids), dossier_id is not None, school_code is not None]
    if sum(scopes) != 1:
        raise InvalidInput(
            "Tạm giữ một trong: danh sách hồ sơ, một hồ sơ (dossier), hoặc bộ lọc trường + năm học + loại.",
            "Hold exactly one of: a list of records, a dossier, or a filter (school + year + type).",
        )
    hold = Hold(reason=reason.strip(), reference=reference, created_by_id=actor.id, created_at=utcnow())
    schools: set[int] = set()
    if record_ids:
        records = list(session.scalars(select(Record).where(Record.id.in_(record_ids))))
        missing = sorted(set(record_ids) - {r.id for r in records})
        if missing:
            raise NotFound(f"Không có hồ sơ {', '.join(missing[:5])}.", f"No record {', '.join(missing[:5])}.")
        hold.kind = HoldKind.records
        schools = {r.school_id for r in records}
    elif dossier_id is not None:
        dossier = session.get(Dossier, dossier_id)
        if dossier is None:
            raise NotFound("Không có hồ sơ (dossier) này.", "No such dossier.")
        hold.kind, hold.dossier_id, hold.school_id = HoldKind.dossier, dossier.id, dossier.school_id
        schools = {dossier.school_id}
    else:
        school = session.scalar(select(School).where(School.code == school_code))
        if school is None:
            raise NotFound(f"Không có trường {school_code}.", f"No school {school_code}.")
        hold.kind, hold.school_id, hold.school_year = HoldKind.filter, school.id, school_year
        if record_type is not None:
            rtype = session.scalar(select(RecordType).where(RecordType.code == record_type))
            if rtype is None:
                raise NotFound(f"Không có loại hồ sơ {record_type}.", f"No record type {record_type}.")
            hold.record_type_id = rtype.id
        schools = {school.id}
    for school_id in schools:
        _may_manage(actor, school_id)
    with write_transaction(session):
        session.add(hold)
        session.flush()
        if record_ids:
            session.add_all(HoldRecord(hold_id=hold.id, record_id=r) for r in dict.fromkeys(record_ids))
        for school_id in schools:
            audit.append(
                session,
                actor=actor,
                action="hold.created",
                object_type="hold",
                object_id=hold.id,
                school_id=school_id,
                details={"kind": hold.kind, "reason": hold.reason, "reference": reference, "records": record_ids},
            )
    _set_legal_holds(session, store, covered(session, hold), True, blobs_of)
    return hold


def covered(session: Session, hold: Hold) -> list[str]:
    """Ids of the records the hold covers now (a filter also covers records added since)."""
    return list(session.scalars(select(Record.id).where(exists().where(Hold.id == hold.id, covers()))))


def release(
    session: Session, store: ObjectStore, actor: Person, hold_id: int, reason: str, blobs_of: BlobsOf = version_blobs
) -> Hold:
    hold = session.get(Hold, hold_id)
    if hold is None:
        raise NotFound("Không có lệnh tạm giữ này.", "No such hold.")
    if hold.released_at is not None:
        raise Conflict("Lệnh tạm giữ đã được giải tỏa.", "The hold was already released.")
    if not reason.strip():
        raise InvalidInput("Hãy ghi lý do giải tỏa.", "Give the reason for the release.")
    records = covered(session, hold)
    of_records: set[int | None] = set(session.scalars(select(Record.school_id).where(Record.id.in_(records))))
    schools = of_records or {hold.school_id}
    for school_id in schools:
        if school_id is not None:
            _may_manage(actor, school_id)
    with write_transaction(session):
        hold.released_at, hold.released_by_id, hold.release_reason = utcnow(), actor.id, reason.strip()
        audit.append(
            session,
            actor=actor,
            action="hold.released",
            object_type="hold",
            object_id=hold.id,
            details={"reason": hold.release_reason, "reference": hold.reference},
        )
    still_held = set(session.scalars(select(Record.id).where(Record.id.in_(records), is_held())))
    _set_legal_holds(session, store, [r for r in records if r not in still_held], False, blobs_of)
    return hold


def _set_legal_holds(
    session: Session, store: ObjectStore, record_ids: Iterable[str], on: bool, blobs_of: BlobsOf
) -> None:
    """The store's legal hold on every blob of these records (off only where no held record shares the blob)."""
    held_elsewhere: set[str] = set()
    if not on:
        for record_id in session.scalars(select(Record.id).where(is_held())):
            held_elsewhere |= blobs_of(session, record_id)
    for record_id in record_ids:
        for sha in blobs_of(session, record_id):
            if not on and sha in held_elsewhere:
                continue
            with contextlib.suppress(ObjectMissing):  # a missing blob is reported by the next fixity run
                store.set_legal_hold(blob_key(sha), on, blobs.version_of(session, sha))
    session.commit()
