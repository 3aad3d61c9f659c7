"""Retention over HTTP: the schedule, a record's term, the refused delete, and the sweep to review."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentUser, DbSession, HosoState
from archive import service
from flows.blobs import record_blobs
from retention import service as retention
from retention.schemas import PeriodIn, PeriodOut, RetentionStatus, ScheduleRow, SweepOut

router = APIRouter(tags=["retention"])


@router.get("/retention/schedule", response_model=list[ScheduleRow])
def get_schedule(_person: CurrentUser, session: DbSession) -> list[dict[str, Any]]:
    """Every record type's retention row, with its basis and whether the archivist confirmed it."""
    return retention.schedule_rows(session)


@router.patch("/record-types/{code}/retention", response_model=PeriodOut)
def set_period(
    code: str, body: PeriodIn, person: CurrentUser, session: DbSession, app_state: HosoState
) -> dict[str, Any]:
    """Change one row of the schedule (archivist); audited with the reason and citation."""
    return retention.change_period(session, app_state.store, person, code, body, record_blobs)


@router.get("/records/{record_id}/retention", response_model=RetentionStatus)
def record_retention(record_id: str, person: CurrentUser, session: DbSession, app_state: HosoState) -> dict[str, Any]:
    record = service.get_record(session, person, record_id)
    return retention.locked_status(session, app_state.store, record, record_blobs)


@router.delete("/records/{record_id}", status_code=204)
def delete_record(record_id: str, person: CurrentUser, session: DbSession) -> None:
    """Always 409: a record is kept for its whole term and leaves only by an executed destruction decision."""
    retention.refuse_delete(session, service.get_record(session, person, record_id))


@router.post("/retention/sweep", response_model=SweepOut)
def sweep(person: CurrentUser, session: DbSession) -> dict[str, int]:
    """Move records past their term and not held to review (xem xét hủy); also runs daily by itself."""
    return retention.sweep_for(session, person)
