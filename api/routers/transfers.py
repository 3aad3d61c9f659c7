"""Transfer (nộp lưu) over HTTP: what is due, the sealed package of one school year, its download."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.deps import CurrentUser, DbSession, HosoState
from api.routers import file_body
from flows import destruction
from retention import service as retention
from retention import views
from retention.schemas import TransferDue, TransferIn, TransferOut

router = APIRouter(tags=["retention"])


@router.get("/retention/transfers/due", response_model=list[TransferDue])
def transfers_due(school_code: str, person: CurrentUser, session: DbSession) -> list[dict[str, Any]]:
    """Permanent records waiting for nộp lưu, by school year: due date, and `alert` within 30 days or overdue."""
    return retention.transfers_due(session, person, school_code)


@router.post("/retention/transfers", status_code=201, response_model=TransferOut)
def create_transfer(body: TransferIn, person: CurrentUser, session: DbSession, app_state: HosoState) -> dict[str, Any]:
    """Build the sealed E-ARK SIP of one school year's permanent records; they become `transferred`."""
    made = destruction.build_transfer(
        session, app_state.settings, app_state.store, person, body.school_code, body.school_year
    )
    return views.transfer_view(made)


@router.get(
    "/retention/transfers/{transfer_id}/download",
    response_class=StreamingResponse,
    responses=file_body("application/zip", "The sealed SIP (ZIP); its SHA-256 in X-Content-SHA256"),
)
def download_transfer(
    transfer_id: str, person: CurrentUser, session: DbSession, app_state: HosoState
) -> StreamingResponse:
    transfer = retention.downloadable_transfer(session, person, transfer_id)
    return StreamingResponse(
        app_state.store.get(transfer.store_key),
        media_type="application/zip",
        headers={
            "Content-Length": str(transfer.size),
            "Content-Disposition": f'attachment; filename="{transfer.store_key.rsplit("/", 1)[-1]}"',
            "X-Content-SHA256": transfer.sha256,
        },
    )
