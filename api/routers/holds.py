"""Legal holds over HTTP: freeze records against any destruction, list the holds, release one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentUser, DbSession, HosoState
from archive.schemas import RowId
from flows.blobs import record_blobs
from retention import holds, views
from retention import service as retention
from retention.schemas import HoldIn, HoldOut, ReleaseIn

router = APIRouter(tags=["retention"])


@router.post("/holds", status_code=201, response_model=HoldOut)
def create_hold(body: HoldIn, person: CurrentUser, session: DbSession, app_state: HosoState) -> dict[str, Any]:
    """Freeze records (a list, a dossier, or school + year + type): no disposition, legal hold on the blobs."""
    hold = retention.create_hold(session, app_state.store, person, body, record_blobs)
    return views.hold_view(session, hold)


@router.get("/holds", response_model=list[HoldOut])
def list_holds(person: CurrentUser, session: DbSession) -> list[dict[str, Any]]:
    return retention.visible_holds(session, person)


@router.post("/holds/{hold_id}/release", response_model=HoldOut)
def release_hold(
    hold_id: RowId, body: ReleaseIn, person: CurrentUser, session: DbSession, app_state: HosoState
) -> dict[str, Any]:
    hold = holds.release(session, app_state.store, person, hold_id, body.reason, blobs_of=record_blobs)
    return views.hold_view(session, hold)
