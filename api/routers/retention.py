"""Retention over HTTP: the schedule, a record's term, refused deletes, legal holds, sweep, fixity."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import AppState, current_user, get_session, state
from archive import access, jobs, service
from archive.db import write_transaction
from archive.exceptions import Forbidden, InvalidInput, NotFound
from archive.models import Person, Record, RecordType, Role, School
from archive.schemas import RequiredText, RowId, SchoolYear, Text
from flows import destruction
from retention import disposition as disposition_flow
from retention import fixity, holds, schedule
from retention import service as retention
from retention import transfer as transfer_flow
from retention.models import Disposition, FixityRun, Hold, RecordRetention
from signing import keys, seal

router = APIRouter(tags=["retention"])
SWEEPERS = {Role.archivist, Role.principal}


def _archivist_or_admin(person: Person, roles: set[Role] = SWEEPERS) -> None:
    if not (access.is_admin(person) or any(m.role in roles for m in person.memberships)):
        raise Forbidden(
            "Việc này dành cho cán bộ lưu trữ, hiệu trưởng hoặc quản trị viên.",
            "This is for the archivist, the principal or an administrator.",
        )


# -- the schedule ---------------------------------------------------------------------------------


@router.get("/retention/schedule")
def get_schedule(_person: Person = Depends(current_user), session: Session = Depends(get_session)) -> list[dict]:  # type: ignore[type-arg]
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
        }
        for t in session.scalars(select(RecordType).order_by(RecordType.code))
    ]


class PeriodIn(BaseModel):
    permanent: bool = False
    years: int | None = Field(default=None, description="2–70 unless permanent")
    reason: RequiredText = Field(min_length=1, max_length=2000)
    citation: RequiredText = Field(
        min_length=1, max_length=1000, description="e.g. TT 08/2025/TT-BGDĐT, Phụ lục, mục 3.2"
    )
    future_only: bool = Field(default=False, description="A shorter term for new records only")


@router.patch("/record-types/{code}/retention")
def set_period(
    code: str,
    body: PeriodIn,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> dict[str, Any]:
    """Change one row of the schedule (archivist); audited with the reason and citation."""
    rtype = retention.set_period(
        session,
        person,
        code,
        permanent=body.permanent,
        years=body.years,
        reason=body.reason,
        citation=body.citation,
        future_only=body.future_only,
    )
    schedule.lock_pending(session, app_state.store, destruction.record_blobs, limit=100_000)
    return {"code": rtype.code, "permanent": rtype.retention_permanent, "years": rtype.retention_years}


# -- a record's term, and the delete that is always refused -------------------------------------


@router.get("/records/{record_id}/retention")
def record_retention(
    record_id: str,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> dict[str, Any]:
    record = service.get_record(session, person, record_id)
    info = retention.status(session, record)
    if info["locked_until"] is None:
        schedule.lock_pending(session, app_state.store, destruction.record_blobs, record_ids=[record.id])
        info = retention.status(session, record)
    return info


@router.delete("/records/{record_id}", status_code=204)
def delete_record(
    record_id: str, person: Person = Depends(current_user), session: Session = Depends(get_session)
) -> None:
    """Always 409: a record is kept for its whole term and leaves only by an executed destruction decision."""
    retention.refuse_delete(session, service.get_record(session, person, record_id))


# -- legal holds ----------------------------------------------------------------------------------


class HoldIn(BaseModel):
    reason: RequiredText = Field(min_length=1, max_length=2000)
    reference: Text | None = Field(default=None, max_length=200, description="e.g. the decision number")
    record_ids: list[str] | None = Field(default=None, max_length=10000)
    dossier_id: str | None = None
    school_code: str | None = None
    school_year: SchoolYear | None = None
    record_type: str | None = None


class ReleaseIn(BaseModel):
    reason: RequiredText = Field(min_length=1, max_length=2000)


def hold_out(session: Session, hold: Hold) -> dict[str, Any]:
    return {
        "id": hold.id,
        "kind": hold.kind,
        "reason": hold.reason,
        "reference": hold.reference,
        "records": len(holds.covered(session, hold)),
        "created_by": hold.created_by.username,
        "created_at": hold.created_at,
        "released_at": hold.released_at,
        "release_reason": hold.release_reason,
        "active": hold.released_at is None,
    }


@router.post("/holds", status_code=201)
def create_hold(
    body: HoldIn,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> dict[str, Any]:
    """Freeze records (a list, a dossier, or school + year + type): no disposition, legal hold on the blobs."""
    hold = holds.create(
        session,
        app_state.store,
        person,
        reason=body.reason,
        reference=body.reference,
        record_ids=body.record_ids,
        dossier_id=body.dossier_id,
        school_code=body.school_code,
        school_year=body.school_year,
        record_type=body.record_type,
        blobs_of=destruction.record_blobs,
    )
    return hold_out(session, hold)


@router.get("/holds")
def list_holds(person: Person = Depends(current_user), session: Session = Depends(get_session)) -> list[dict]:  # type: ignore[type-arg]
    rows = list(session.scalars(select(Hold).order_by(Hold.created_at.desc())))
    if not access.is_admin(person):
        schools = access.readable_school_ids(person)
        rows = [h for h in rows if h.school_id in schools or h.created_by_id == person.id]
    return [hold_out(session, h) for h in rows]


@router.post("/holds/{hold_id}/release")
def release_hold(
    hold_id: RowId,
    body: ReleaseIn,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> dict[str, Any]:
    hold = holds.release(session, app_state.store, person, hold_id, body.reason, blobs_of=destruction.record_blobs)
    return hold_out(session, hold)


# -- sweep and fixity -----------------------------------------------------------------------------


@router.post("/retention/sweep")
def sweep(person: Person = Depends(current_user), session: Session = Depends(get_session)) -> dict[str, int]:
    """Move records past their term and not held to review (xem xét hủy); also runs daily by itself."""
    _archivist_or_admin(person)
    return retention.sweep(session)


def fixity_out(session: Session, run: FixityRun, person: Person) -> dict[str, Any]:
    """A run as this person may see it: an administrator everything, others their schools' findings."""
    seen = fixity.findings_for(session, run, None if access.is_admin(person) else managed_school_ids(person))
    return {
        "id": run.id,
        "state": seen["state"],
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "started_by": seen["started_by"],
        "blobs_checked": run.blobs_checked,
        "bytes_checked": run.bytes_checked,
        "mismatched": seen["mismatched"],
        "missing": seen["missing"],
        "audit_events_checked": run.audit_events_checked,
        "audit_problems": seen["audit_problems"],
        "tampered": seen["tampered"],
        "orphans": seen["orphans"],
        "orphans_found": seen["orphans_found"],
        "anchor_key": seen["anchor_key"],
        "error": seen["error"],
    }


def managed_school_ids(person: Person) -> set[int]:
    """The schools where this person keeps the archive (archivist or principal)."""
    return {m.school_id for m in person.memberships if m.role in SWEEPERS and m.school_id is not None}


@router.post("/fixity", status_code=202)
def start_fixity(
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> dict[str, Any]:
    """Queue a full fixity run (every blob re-hashed, the audit chain walked); poll GET /fixity/runs."""
    _archivist_or_admin(person)
    with write_transaction(session):
        job = jobs.enqueue(session, fixity.FIXITY_JOB, {"started_by": person.username}, max_attempts=1)
    app_state.wake()
    return {"job_id": job.id, "state": "queued"}


@router.get("/fixity/runs")
def fixity_runs(person: Person = Depends(current_user), session: Session = Depends(get_session)) -> list[dict]:  # type: ignore[type-arg]
    _archivist_or_admin(person)
    runs = list(session.scalars(select(FixityRun).order_by(FixityRun.id.desc()).limit(50)))
    return [fixity_out(session, r, person) for r in runs]


@router.get("/fixity/runs/{run_id}")
def fixity_run(
    run_id: RowId, person: Person = Depends(current_user), session: Session = Depends(get_session)
) -> dict[str, Any]:
    _archivist_or_admin(person)
    run = session.get(FixityRun, run_id)
    if run is None:
        raise NotFound("Không có lần kiểm tra toàn vẹn này.", "No such fixity run.")
    return fixity_out(session, run, person)


# -- destruction (TT 06/2025/TT-BNV) --------------------------------------------------------------


class ProposalItem(BaseModel):
    record_id: str
    explanation: RequiredText = Field(min_length=1, max_length=1000, description="Why it has no value any more")


class ProposalIn(BaseModel):
    school_code: str
    explanation: RequiredText = Field(min_length=1, max_length=4000, description="Thuyết minh of the list")
    items: list[ProposalItem] = Field(min_length=1, max_length=20000)


class Member(BaseModel):
    name: RequiredText = Field(min_length=1, max_length=200)
    title: Text = Field(default="", max_length=200)


class CouncilIn(BaseModel):
    members: list[Member] = Field(min_length=1, max_length=20)
    establishment_decision: RequiredText = Field(min_length=1, max_length=300, description="e.g. QĐ số 12/QĐ-THA")
    minutes: RequiredText = Field(min_length=1, max_length=20000)
    opinion: str = Field(description="agree or disagree")
    notes: Text = Field(default="", max_length=4000)


def disposition_out(session: Session, disposition: Disposition) -> dict[str, Any]:
    pairs = disposition_flow.items_of(session, disposition)
    return {
        "id": disposition.id,
        "state": disposition.state,
        "school_id": disposition.school_id,
        "explanation": disposition.explanation,
        "proposed_at": disposition.proposed_at,
        "council": disposition.council,
        "decision_number": disposition.decision_number,
        "approved": disposition.approved,
        "decided_at": disposition.decided_at,
        "decision_signed": disposition.decision_signed,
        "execute_before": (disposition.decided_at + timedelta(days=disposition_flow.EXECUTION_DAYS))
        if disposition.decided_at
        else None,
        "executed_at": disposition.executed_at,
        "documents": disposition.documents,
        "items": [
            {"record_id": r.id, "title": r.title, "explanation": i.explanation, "tombstone": i.tombstone}
            for i, r in pairs
        ],
    }


@router.get("/retention/review")
def in_review(
    school_code: str, person: Person = Depends(current_user), session: Session = Depends(get_session)
) -> list[dict]:  # type: ignore[type-arg]
    """Records past their term, not held, waiting for a destruction proposal ("Xem xét hủy")."""
    school = service.school_by_code(session, school_code)
    if school.id not in access.readable_school_ids(person):
        raise Forbidden("Bạn không xem được hồ sơ của trường này.", "You may not see this school's records.")
    rows = session.execute(
        select(Record, RecordRetention)
        .join(RecordRetention, RecordRetention.record_id == Record.id)
        .where(Record.school_id == school.id, RecordRetention.state == "review")
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


@router.post("/dispositions", status_code=201)
def propose(
    body: ProposalIn,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> dict[str, Any]:
    """Step 1: the destruction list, with a reason per record, opens a new (permanent) destruction dossier."""
    disposition = disposition_flow.propose(
        session,
        app_state.store,
        app_state.settings.tmp_dir,
        person,
        school_code=body.school_code,
        items=[(i.record_id, i.explanation) for i in body.items],
        explanation=body.explanation,
    )
    return disposition_out(session, disposition)


@router.get("/dispositions/{disposition_id}")
def get_disposition(
    disposition_id: RowId, person: Person = Depends(current_user), session: Session = Depends(get_session)
) -> dict[str, Any]:
    disposition = disposition_flow.load(session, disposition_id)
    if disposition.school_id not in access.readable_school_ids(person) and not access.is_admin(person):
        raise NotFound("Không có đợt hủy này.", "No such disposition.")
    return disposition_out(session, disposition)


@router.post("/dispositions/{disposition_id}/council")
def council(
    disposition_id: RowId,
    body: CouncilIn,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> dict[str, Any]:
    """Step 2: the council's members, establishment decision, minutes and opinion."""
    disposition = disposition_flow.council(
        session,
        app_state.store,
        app_state.settings.tmp_dir,
        person,
        disposition_id,
        members=[m.model_dump() for m in body.members],
        establishment_decision=body.establishment_decision,
        minutes=body.minutes,
        opinion=body.opinion,
        notes=body.notes,
    )
    return disposition_out(session, disposition)


@router.post("/dispositions/{disposition_id}/decision")
def decide(
    disposition_id: RowId,
    decision_number: Annotated[str, Form(max_length=100, description="Số quyết định, e.g. 05/QĐ-THA")],
    approve: Annotated[bool, Form()] = True,
    pkcs12: Annotated[UploadFile | None, File(description="The principal's .p12 to sign the decision")] = None,
    password: Annotated[str | None, Form()] = None,
    confirm_certificate: Annotated[
        str | None,
        Form(max_length=100, description="The SHA-256 fingerprint of the certificate, confirmed on its first use"),
    ] = None,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> dict[str, Any]:
    """Step 3: the principal's decision; with a .p12 it is signed (PAdES), else recorded and flagged unsigned.

    The certificate must be the principal's own, as for a signing batch (409 on its first use until
    `confirm_certificate` confirms it, 403 when it is another person's or revoked)."""
    sign = None
    if pkcs12 is not None:
        data = pkcs12.file.read(64 * 1024 + 1)
        if len(data) > 64 * 1024 or not data:
            raise InvalidInput("Tệp chữ ký số không hợp lệ.", "The key file is empty or too large.")
        key = keys.from_pkcs12(data, (password or "").encode())
        sign = destruction.sign_decision(app_state.settings, key, session, person, confirm_certificate)
    disposition = disposition_flow.decide(
        session,
        app_state.store,
        app_state.settings.tmp_dir,
        person,
        disposition_id,
        approve=approve,
        decision_number=decision_number,
        sign=sign,
    )
    return disposition_out(session, disposition)


@router.post("/dispositions/{disposition_id}/execute")
def execute(
    disposition_id: RowId,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> dict[str, Any]:
    """Step 4 (within 15 days of the decision): blobs deleted, tombstones kept, biên bản hủy written."""
    disposition = disposition_flow.execute(
        session, app_state.store, app_state.settings.tmp_dir, person, disposition_id, blobs_of=destruction.record_blobs
    )
    app_state.wake()
    return disposition_out(session, disposition)


# -- transfer (nộp lưu) ---------------------------------------------------------------------------


class TransferIn(BaseModel):
    school_code: str
    school_year: SchoolYear


def _manage_school(session: Session, person: Person, school_code: str) -> Any:
    school = service.school_by_code(session, school_code)
    if not (access.is_admin(person) or access.roles_at(person, school.id) & holds.MANAGERS):
        raise Forbidden(
            "Chỉ hiệu trưởng, văn thư/lưu trữ của trường hoặc quản trị viên làm việc này.",
            "Only the school's principal, clerk/archivist or an administrator may do this.",
        )
    return school


@router.get("/retention/transfers/due")
def transfers_due(
    school_code: str, person: Person = Depends(current_user), session: Session = Depends(get_session)
) -> list[dict]:  # type: ignore[type-arg]
    """Permanent records waiting for nộp lưu, by school year: due date, and `alert` within 30 days or overdue."""
    school = _manage_school(session, person, school_code)
    schedule.refresh(session)
    return [d.as_dict() for d in transfer_flow.due_for(session, school)]


@router.post("/retention/transfers", status_code=201)
def create_transfer(
    body: TransferIn,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> dict[str, Any]:
    """Build the sealed E-ARK SIP of one school year's permanent records; they become `transferred`."""
    school = _manage_school(session, person, body.school_code)
    schedule.refresh(session)
    seal_key, _self_signed = seal.load(app_state.settings)
    try:
        transfer = transfer_flow.build(
            session,
            app_state.store,
            app_state.settings.tmp_dir,
            person,
            school,
            body.school_year,
            destruction.detached_files,
            lambda manifest: seal.seal(app_state.settings, seal_key, manifest),
        )
    finally:
        seal_key.close()
    return {
        "id": transfer.id,
        "school_year": transfer.school_year,
        "records": len(transfer.record_ids),
        "size": transfer.size,
        "sha256": transfer.sha256,
        "download_url": f"/api/v1/retention/transfers/{transfer.id}/download",
    }


@router.get("/retention/transfers/{transfer_id}/download", response_class=StreamingResponse)
def download_transfer(
    transfer_id: str,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> StreamingResponse:
    transfer = transfer_flow.load(session, transfer_id)
    school = session.get(School, transfer.school_id)
    assert school is not None
    _manage_school(session, person, school.code)
    return StreamingResponse(
        app_state.store.get(transfer.store_key),
        media_type="application/zip",
        headers={
            "Content-Length": str(transfer.size),
            "Content-Disposition": f'attachment; filename="{transfer.store_key.rsplit("/", 1)[-1]}"',
            "X-Content-SHA256": transfer.sha256,
        },
    )
