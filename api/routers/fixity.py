"""Fixity over HTTP: queue a full run, list the runs, show one (each as its caller may see it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentUser, DbSession, HosoState
from archive.models import JobState
from archive.schemas import RowId
from retention import service as retention
from retention.schemas import FixityQueued, FixityRunOut

router = APIRouter(tags=["retention"])


@router.post("/fixity", status_code=202, response_model=FixityQueued)
def start_fixity(person: CurrentUser, session: DbSession, app_state: HosoState) -> dict[str, Any]:
    """Queue a full fixity run (every blob re-hashed, the audit chain walked); poll GET /fixity/runs."""
    job = retention.queue_fixity(session, person)
    app_state.wake()
    return {"job_id": job.id, "state": JobState.queued}


@router.get("/fixity/runs", response_model=list[FixityRunOut])
def fixity_runs(person: CurrentUser, session: DbSession) -> list[dict[str, Any]]:
    return retention.fixity_runs(session, person)


@router.get("/fixity/runs/{run_id}", response_model=FixityRunOut)
def fixity_run(run_id: RowId, person: CurrentUser, session: DbSession) -> dict[str, Any]:
    return retention.fixity_run(session, person, run_id)
