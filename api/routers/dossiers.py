"""Dossiers (hồ sơ) over HTTP: the yearly list (generate, edit, approve, export), filing (unfiled
records, refiling), closing, handing over to the school's archive, and the handover deadline."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from api.deps import CurrentUser, DbSession, HosoState
from api.routers import ConfirmCertificate, KeyFile, KeyPassword, file_body
from archive.schemas import RowId
from flows import dossiers as dossier_flow
from flows import own_signing
from flows.dossier_package import build as dossier_package
from retention.dossiers import closing, filing, handover, views, yearly_list
from retention.dossiers.common import school_by_code
from retention.schemas import (
    DossierDue,
    DossierEdit,
    DossierIds,
    DossierIn,
    DossierListIn,
    DossierListOut,
    DossierOut,
    HandoverOut,
    RecordDossierOut,
    RefileIn,
    UnfiledOut,
)

router = APIRouter(tags=["dossiers"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post("/dossier-lists", status_code=201, response_model=DossierListOut)
def generate(body: DossierListIn, person: CurrentUser, session: DbSession) -> dict[str, Any]:
    """The clerk's draft yearly list (danh mục hồ sơ), generated from the record types' schedule."""
    made = yearly_list.generate(
        session,
        person,
        school_code=body.school_code,
        school_year=body.school_year,
        grades=body.grades,
        subjects=body.subjects,
        file_code_pattern=body.file_code_pattern,
    )
    return views.list_view(session, made)


@router.get("/dossier-lists", response_model=list[DossierListOut])
def lists(school_code: str, person: CurrentUser, session: DbSession) -> list[dict[str, Any]]:
    return [views.list_view(session, made) for made in views.lists_of(session, person, school_code)]


@router.get("/dossier-lists/{list_id}", response_model=DossierListOut)
def get_list(list_id: RowId, person: CurrentUser, session: DbSession) -> dict[str, Any]:
    return views.list_view(session, views.visible_list(session, person, list_id))


@router.post("/dossier-lists/{list_id}/dossiers", status_code=201, response_model=DossierOut)
def add_dossier(list_id: RowId, body: DossierIn, person: CurrentUser, session: DbSession) -> dict[str, Any]:
    """A dossier the generator did not make (draft lists only)."""
    made = yearly_list.add(session, person, list_id, **body.model_dump())
    return views.visible_dossier(session, person, made.id)


@router.post("/dossier-lists/{list_id}/approval", response_model=DossierListOut)
def approve(
    list_id: RowId,
    person: CurrentUser,
    session: DbSession,
    app_state: HosoState,
    pkcs12: KeyFile = None,
    password: KeyPassword = None,
    confirm_certificate: ConfirmCertificate = None,
) -> dict[str, Any]:
    """The principal approves the list: its PDF is kept as a record and its dossiers open. Signed with
    the principal's own key when a .p12 is sent (multipart; it must be theirs: 409 on its first use
    until `confirm_certificate` confirms it, 403 when another person's), else sealed with the
    archive's seal, the principal named on the stamp."""
    made = dossier_flow.approve_list(
        session,
        app_state.settings,
        app_state.store,
        person,
        list_id,
        pkcs12=pkcs12.file.read(own_signing.MAX_KEY_FILE + 1) if pkcs12 is not None else None,
        password=password,
        confirm_certificate=confirm_certificate,
    )
    return views.list_view(session, made)


@router.post("/dossier-lists/{list_id}/closing", response_model=DossierListOut)
def close_year(list_id: RowId, person: CurrentUser, session: DbSession, app_state: HosoState) -> dict[str, Any]:
    """Close every open dossier of the list at once (all or none)."""
    made = views.visible_list(session, person, list_id)
    data = views.list_view(session, made)
    open_ids = [d["id"] for d in data["dossiers"] if d["state"] == "open"]
    closing.close(session, app_state.store, person, open_ids)
    return views.list_view(session, made)


@router.get(
    "/dossier-lists/{list_id}/export.pdf",
    response_class=Response,
    responses=file_body("application/pdf", "The list: signed once approved, else the draft"),
)
def export_pdf(list_id: RowId, person: CurrentUser, session: DbSession, app_state: HosoState) -> Response:
    made = views.visible_list(session, person, list_id)
    name = f"danh-muc-ho-so-{made.school_year}.pdf"
    return Response(
        views.list_pdf(session, app_state.store, made),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/dossier-lists/{list_id}/export.xlsx", response_class=Response, responses=file_body(XLSX, "The list"))
def export_xlsx(list_id: RowId, person: CurrentUser, session: DbSession) -> Response:
    made = views.visible_list(session, person, list_id)
    name = f"danh-muc-ho-so-{made.school_year}.xlsx"
    return Response(
        views.list_xlsx(session, made),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/dossiers/unfiled", response_model=list[UnfiledOut])
def unfiled(
    school_code: str, person: CurrentUser, session: DbSession, school_year: str | None = None
) -> list[dict[str, Any]]:
    """Records of listed types in no dossier (no approved list matched them): the clerk files them."""
    return [views.unfiled_view(r) for r in filing.unfiled(session, person, school_code, school_year)]


@router.get("/dossiers/due", response_model=list[DossierDue])
def due(school_code: str, person: CurrentUser, session: DbSession) -> list[dict[str, Any]]:
    """Dossiers not yet handed over, by school year, with the deadline (NĐ 30/2020 Phụ lục VI)."""
    school = school_by_code(session, school_code)
    views.lists_of(session, person, school_code)  # who may see the school's dossiers
    return [d.as_dict() for d in handover.due_for(session, school)]


@router.get("/dossiers/{dossier_id}", response_model=DossierOut)
def get_dossier(dossier_id: str, person: CurrentUser, session: DbSession) -> dict[str, Any]:
    return views.visible_dossier(session, person, dossier_id)


@router.patch("/dossiers/{dossier_id}", response_model=DossierOut)
def edit_dossier(dossier_id: str, body: DossierEdit, person: CurrentUser, session: DbSession) -> dict[str, Any]:
    """Rename, renumber, change the keeper or the term (draft lists only; audited)."""
    yearly_list.edit(session, person, dossier_id, **body.model_dump(exclude_unset=True))
    return views.visible_dossier(session, person, dossier_id)


@router.delete("/dossiers/{dossier_id}", status_code=204, response_class=Response)
def remove_dossier(dossier_id: str, person: CurrentUser, session: DbSession) -> Response:
    """Take an empty dossier off a draft list."""
    yearly_list.remove(session, person, dossier_id)
    return Response(status_code=204)


@router.post("/dossiers/closing", response_model=list[DossierOut])
def close(body: DossierIds, person: CurrentUser, session: DbSession, app_state: HosoState) -> list[dict[str, Any]]:
    """Close dossiers (all or none): TT 05 metadata completed, documents numbered, pages counted."""
    closed = closing.close(session, app_state.store, person, body.dossier_ids)
    return [views.visible_dossier(session, person, d.id) for d in closed]


@router.post("/dossier-handovers", status_code=201, response_model=HandoverOut)
def hand_over(body: DossierIds, person: CurrentUser, session: DbSession, app_state: HosoState) -> dict[str, Any]:
    """Closed dossiers handed to the school's archive with the sealed handover list."""
    made = dossier_flow.hand_over(session, app_state.settings, app_state.store, person, body.dossier_ids)
    app_state.wake()  # each dossier's SIP is queued with the handover
    return views.handover_view(session, made)


@router.get("/dossier-handovers/{handover_id}", response_model=HandoverOut)
def get_handover(handover_id: RowId, person: CurrentUser, session: DbSession) -> dict[str, Any]:
    """A handover with each dossier's SIP as its job builds it (queued, ready with its hash, failed)."""
    return views.handover_view(session, handover.load_handover(session, person, handover_id))


@router.get(
    "/dossier-handovers/{handover_id}/packages/{dossier_id}",
    response_class=StreamingResponse,
    responses=file_body("application/zip", "The dossier's SIP as kept"),
)
def download_handover_package(
    handover_id: RowId, dossier_id: str, person: CurrentUser, session: DbSession, app_state: HosoState
) -> Response:
    """The SIP kept at the handover, streamed from the store (409 while its job builds it); audited."""
    row = handover.kept_package(session, person, handover_id, dossier_id)
    assert row.store_key is not None and row.size is not None  # kept_package checked: ready
    headers = {
        "Content-Disposition": f'attachment; filename="{row.objid}.zip"',
        "Content-Length": str(row.size),
        "X-Content-SHA256": row.sha256 or "",
    }
    return StreamingResponse(app_state.store.get(row.store_key), media_type="application/zip", headers=headers)


@router.put("/records/{record_id}/dossier", response_model=RecordDossierOut)
def refile(record_id: str, body: RefileIn, person: CurrentUser, session: DbSession) -> dict[str, Any]:
    """The clerk files (or refiles) a record into an open dossier before it closes (audited)."""
    record = filing.refile(session, person, record_id, body.dossier_id, body.reason)
    return {"record_id": record.id, "dossier": views.visible_dossier(session, person, body.dossier_id)}


@router.post(
    "/dossiers/{dossier_id}/package",
    response_class=FileResponse,
    responses=file_body("application/zip", "The dossier's sealed package (TT 05/2025 form), streamed from disk"),
)
def package(
    dossier_id: str,
    person: CurrentUser,
    session: DbSession,
    app_state: HosoState,
    package_type: Literal["AIP", "SIP"] = "AIP",
) -> FileResponse:
    """A closed dossier as an E-ARK AIP or SIP in TT 05/2025 form (EAD3, TT 05 records, PREMIS 3,
    schemas inside), sealed; `hoso verify` checks it offline. Audited."""
    built = dossier_package.build(session, app_state.settings, app_state.store, person, dossier_id, package_type)
    return FileResponse(
        built.path,
        media_type="application/zip",
        filename=built.filename,
        headers={"X-Content-SHA256": built.sha256},
        background=BackgroundTask(built.path.unlink, missing_ok=True),
    )
