"""Destruction over HTTP (TT 06/2025/TT-BNV): the records in review, then the four steps of a disposition."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form

from api.deps import CurrentUser, DbSession, HosoState
from api.routers import ConfirmCertificate, KeyFile, KeyPassword
from archive.schemas import RowId
from flows import destruction
from retention import service as retention
from retention import views
from retention.schemas import CouncilIn, DispositionOut, ProposalIn, ReviewRow

router = APIRouter(tags=["retention"])


@router.get("/retention/review", response_model=list[ReviewRow])
def in_review(school_code: str, person: CurrentUser, session: DbSession) -> list[dict[str, Any]]:
    """Records past their term, not held, waiting for a destruction proposal ("Xem xét hủy")."""
    return retention.in_review(session, person, school_code)


@router.post("/dispositions", status_code=201, response_model=DispositionOut)
def propose(body: ProposalIn, person: CurrentUser, session: DbSession, app_state: HosoState) -> dict[str, Any]:
    """Step 1: the destruction list, with a reason per record, opens a new (permanent) destruction dossier."""
    made = retention.propose(session, app_state.store, app_state.settings.tmp_dir, person, body)
    return views.disposition_view(session, made)


@router.get("/dispositions/{disposition_id}", response_model=DispositionOut)
def get_disposition(disposition_id: RowId, person: CurrentUser, session: DbSession) -> dict[str, Any]:
    return retention.visible_disposition(session, person, disposition_id)


@router.post("/dispositions/{disposition_id}/council", response_model=DispositionOut)
def council(
    disposition_id: RowId, body: CouncilIn, person: CurrentUser, session: DbSession, app_state: HosoState
) -> dict[str, Any]:
    """Step 2: the council's members, establishment decision, minutes and opinion."""
    reviewed = retention.council(session, app_state.store, app_state.settings.tmp_dir, person, disposition_id, body)
    return views.disposition_view(session, reviewed)


@router.post("/dispositions/{disposition_id}/decision", response_model=DispositionOut)
def decide(
    disposition_id: RowId,
    decision_number: Annotated[str, Form(max_length=100, description="Số quyết định, e.g. 05/QĐ-THA")],
    person: CurrentUser,
    session: DbSession,
    app_state: HosoState,
    approve: Annotated[bool, Form()] = True,
    pkcs12: KeyFile = None,
    password: KeyPassword = None,
    confirm_certificate: ConfirmCertificate = None,
) -> dict[str, Any]:
    """Step 3: the principal's decision; with a .p12 it is signed (PAdES), else recorded and flagged unsigned.

    The certificate must be the principal's own, as for a signing batch (409 on its first use until
    `confirm_certificate` confirms it, 403 when it is another person's or revoked)."""
    decided = destruction.decide(
        session,
        app_state.settings,
        app_state.store,
        person,
        disposition_id,
        approve=approve,
        decision_number=decision_number,
        pkcs12=pkcs12.file.read(destruction.MAX_KEY_FILE + 1) if pkcs12 is not None else None,
        password=password,
        confirm_certificate=confirm_certificate,
    )
    return views.disposition_view(session, decided)


@router.post("/dispositions/{disposition_id}/execute", response_model=DispositionOut)
def execute(disposition_id: RowId, person: CurrentUser, session: DbSession, app_state: HosoState) -> dict[str, Any]:
    """Step 4 (within 15 days of the decision): blobs deleted, tombstones kept, biên bản hủy written."""
    executed = destruction.execute(session, app_state.settings, app_state.store, person, disposition_id)
    app_state.wake()
    return views.disposition_view(session, executed)
