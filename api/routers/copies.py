"""Copies for use over HTTP (TT 05/2025): ask for a read copy, a BẢN SAO copy or an authenticated
copy; the school's clerk or principal issues or refuses authenticated copies; download a copy;
read a read copy's pages (images only, the school's name on each)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile
from fastapi.responses import StreamingResponse

from api.deps import CurrentUser, DbSession, HosoState
from api.routers import file_body
from archive.schemas import PagesOut
from flows import copies as copy_flow
from retention.copies import service
from retention.copies.schemas import CopyIn, CopyOut, CopyRefuse

router = APIRouter(prefix="/copies", tags=["copies"])


@router.post("", status_code=201, response_model=CopyOut)
def ask(body: CopyIn, person: CurrentUser, session: DbSession, app_state: HosoState) -> CopyOut:
    """A read copy and a BẢN SAO copy are issued at once; an authenticated copy waits for the school."""
    made = copy_flow.request(
        session, app_state.store, app_state.settings, person, body.record_id, body.kind, body.purpose, body.read_until
    )
    return CopyOut.of(made)


@router.get("", response_model=list[CopyOut])
def listed(person: CurrentUser, session: DbSession) -> list[CopyOut]:
    """My requests, then the authenticated-copy requests of the schools where I issue them."""
    mine, theirs = service.visible(session, person)
    return [CopyOut.of(c) for c in {c.id: c for c in mine + theirs}.values()]


@router.post("/{copy_id}/issue", response_model=CopyOut)
def issue(
    copy_id: str,
    person: CurrentUser,
    session: DbSession,
    app_state: HosoState,
    key_source: Annotated[str, Form(description="pkcs12 (the seal's .p12 sent here) or pkcs11 (the server's token)")],
    pkcs12: Annotated[
        UploadFile | None, File(description="The school's seal .p12/.pfx, used in memory, never stored")
    ] = None,
    password: Annotated[str | None, Form(description="The .p12 password")] = None,
    pin: Annotated[str | None, Form(description="The PIN of the server's token")] = None,
    seal_image: Annotated[UploadFile | None, File(description="Optional PNG/JPEG of the school's seal")] = None,
    confirm_seal: Annotated[
        str | None,
        Form(max_length=100, description="The SHA-256 fingerprint of the seal certificate, confirmed on its first use"),
    ] = None,
) -> CopyOut:
    """The clerk or principal issues an authenticated copy, sealed with the school's registered seal
    (409 `seal_unconfirmed` with the certificate's facts on the school's first use, until
    `confirm_seal` confirms it; 422 for a certificate that is not the school's seal)."""
    secrets = copy_flow.SealSecrets(
        key_source,
        pkcs12.file if pkcs12 else None,
        password,
        pin,
        seal_image.file if seal_image else None,
        confirm_seal or None,
    )
    return CopyOut.of(copy_flow.issue_with(session, app_state.store, app_state.settings, person, copy_id, secrets))


@router.post("/{copy_id}/refusal", response_model=CopyOut)
def refuse(copy_id: str, body: CopyRefuse, person: CurrentUser, session: DbSession) -> CopyOut:
    return CopyOut.of(service.refuse(session, person, copy_id, body.reason))


@router.get("/{copy_id}/content", response_class=StreamingResponse, responses=file_body("application/pdf", "The copy"))
def download(copy_id: str, person: CurrentUser, session: DbSession, app_state: HosoState) -> StreamingResponse:
    """A BẢN SAO or authenticated copy (a read copy is refused: it is for the viewer only)."""
    copy, chunks = copy_flow.download(session, app_state.store, person, copy_id)
    name = f"ban-sao-{copy.number.replace('/', '-')}.pdf"
    return StreamingResponse(
        chunks, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/{copy_id}/pages", response_model=PagesOut)
def pages(copy_id: str, person: CurrentUser, session: DbSession, app_state: HosoState) -> PagesOut:
    count = copy_flow.page_count(session, app_state.store, app_state.settings, person, copy_id)
    copy = service.get(session, copy_id)
    return PagesOut(record_id=copy.record_id, version=copy.version_number or 0, pages=count)


@router.get(
    "/{copy_id}/pages/{page}.png", response_class=Response, responses=file_body("image/png", "A read copy's page")
)
def page_image(
    copy_id: str, page: int, person: CurrentUser, session: DbSession, app_state: HosoState, width: int = 900
) -> Response:
    png = copy_flow.read_page(session, app_state.store, app_state.settings, person, copy_id, page, width)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, no-store"})
