"""Copies for use in the browser: ask from a record's page (or a search hit, which links there), the
list of one's copies, the clerk's or principal's pending authenticated copies (issue with the
school's seal, or refuse), the read copy's viewer (page images only, no download link).

The same functions as the API (`flows.copies`, `retention.copies.service`), so a page refuses and
audits exactly what the API does.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from api.deps import DbSession, HosoState
from api.web import pages
from api.web.forms import form_poster, posted_form
from api.web.i18n import said
from api.web.rendering import page_viewer, render
from archive import service as archive_service
from archive.exceptions import HosoError, InvalidInput
from archive.models import Person, Role
from flows import copies as copy_flow
from flows.state import AppState
from retention.copies import service
from retention.copies.models import CopyState
from signing import seal_ownership

router = APIRouter(include_in_schema=False)


def _error(request: Request, person: object, e: HosoError) -> HTMLResponse:
    status = {"forbidden": 403, "not_found": 404, "gone": 410, "conflict": 409}.get(e.code, 422)
    return render(request, "error.html", person, status_code=status, message=said(e))  # type: ignore[arg-type]


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise InvalidInput("Ngày hết hạn không hợp lệ.", "The end date is not a valid date.") from None


@router.post("/ho-so/{record_id}/ban-sao")
def ask(
    request: Request,
    record_id: str,
    form: Annotated[FormData, Depends(posted_form)],
    session: DbSession,
    app_state: HosoState,
) -> Response:
    """A request from the record's page: a read copy or a BẢN SAO copy is ready at once."""
    person = form_poster(request, session, str(form.get("csrf_token", "")))
    if isinstance(person, Response):
        return person
    try:
        made = copy_flow.request(
            session,
            app_state.store,
            app_state.settings,
            person,
            record_id,
            str(form.get("kind", "")),
            str(form.get("purpose", "")),
            _day(str(form.get("read_until", ""))),
        )
    except HosoError as e:
        return _refused_request(request, session, app_state, person, record_id, form, e)
    return RedirectResponse(f"/ban-sao?xong={made.id}", status_code=303)


def _refused_request(
    request: Request,
    session: Session,
    app_state: AppState,
    person: Person,
    record_id: str,
    form: FormData,
    e: HosoError,
) -> Response:
    """The record's page again, the message above the form and what was typed kept — when the person may
    read the record; otherwise (another school's, outside a grant) the error page, saying no more."""
    session.rollback()
    try:
        record = archive_service.get_record(session, person, record_id, audited=False)
    except HosoError:
        return _error(request, person, e)
    typed = {
        name: str(form.get(field, ""))
        for name, field in (("kind", "kind"), ("purpose", "purpose"), ("until", "read_until"))
    }
    status = {"forbidden": 403, "conflict": 409}.get(e.code, 422)
    return pages._record_page(
        request, session, app_state, person, record, status_code=status, copy_form={**typed, "error": said(e)}
    )


@router.get("/ban-sao", response_class=HTMLResponse)
def copies_page(request: Request, session: DbSession, xong: str = "") -> Response:
    person = page_viewer(request, session)
    if isinstance(person, Response):
        return person
    return _copies(request, session, person, done=xong)


def _copies(request: Request, session: Session, person: Person, status_code: int = 200, **more: object) -> HTMLResponse:
    mine, theirs = service.visible(session, person)
    pending = [c for c in theirs if c.state == CopyState.requested.value]
    decided = [c for c in theirs if c.state != CopyState.requested.value]
    keepers = {m.school for m in person.memberships if m.school is not None and m.role in (Role.clerk, Role.principal)}
    sealing = sorted(((school.code, school.name) for school in keepers), key=lambda s: s[1])  # the seal's pages
    session.commit()
    return render(
        request,
        "copies.html",
        person,
        status_code=status_code,
        mine=mine,
        pending=pending,
        decided=decided,
        sealing=sealing,
        **{"done": "", "unconfirmed": {}, **more},
    )


def _file(form: FormData, name: str) -> UploadFile | None:
    value = form.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


@router.post("/ban-sao/{copy_id}/cap")
def issue(
    request: Request,
    copy_id: str,
    form: Annotated[FormData, Depends(posted_form)],
    session: DbSession,
    app_state: HosoState,
) -> Response:
    """The clerk or principal issues an authenticated copy with the school's seal."""
    person = form_poster(request, session, str(form.get("csrf_token", "")))
    if isinstance(person, Response):
        return person
    key_file, image = _file(form, "pkcs12"), _file(form, "seal_image")
    secrets = copy_flow.SealSecrets(
        key_source=str(form.get("key_source", "pkcs12")),
        pkcs12=key_file.file if key_file else None,
        password=str(form.get("password", "")) or None,
        pin=str(form.get("pin", "")) or None,
        seal_image=image.file if image else None,
        confirm_seal=str(form.get("confirm_seal", "")) or None,
    )
    try:
        copy_flow.issue_with(session, app_state.store, app_state.settings, person, copy_id, secrets)
    except seal_ownership.SealUnconfirmed as e:  # the school's first seal: shown beside its form, to confirm
        session.rollback()
        waiting = {copy_id: {**e.context, "message": said(e)}}
        return _copies(request, session, person, status_code=409, unconfirmed=waiting)
    except HosoError as e:
        return _error(request, person, e)
    return RedirectResponse(f"/ban-sao?xong={copy_id}", status_code=303)


@router.post("/ban-sao/{copy_id}/tu-choi")
def refuse(
    request: Request, copy_id: str, form: Annotated[FormData, Depends(posted_form)], session: DbSession
) -> Response:
    person = form_poster(request, session, str(form.get("csrf_token", "")))
    if isinstance(person, Response):
        return person
    try:
        service.refuse(session, person, copy_id, str(form.get("reason", "")))
    except HosoError as e:
        return _error(request, person, e)
    return RedirectResponse(f"/ban-sao?xong={copy_id}", status_code=303)


@router.get("/ban-sao/{copy_id}/tai")
def download(request: Request, copy_id: str, session: DbSession, app_state: HosoState) -> Response:
    person = page_viewer(request, session)
    if isinstance(person, Response):
        return person
    try:
        copy, chunks = copy_flow.download(session, app_state.store, person, copy_id)
    except HosoError as e:
        return _error(request, person, e)
    name = f"ban-sao-{copy.number.replace('/', '-')}.pdf"
    return StreamingResponse(
        chunks, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/ban-sao/{copy_id}/doc", response_class=HTMLResponse)
def reader(request: Request, copy_id: str, session: DbSession, app_state: HosoState) -> Response:
    """The read copy: its pages as images with the school's name on each, and no way to download."""
    person = page_viewer(request, session)
    if isinstance(person, Response):
        return person
    try:
        pages = copy_flow.page_count(session, app_state.store, app_state.settings, person, copy_id)
        copy = service.get(session, copy_id)
    except HosoError as e:
        return _error(request, person, e)
    session.commit()
    return render(request, "copy_read.html", person, copy=copy, pages=range(1, pages + 1))


@router.get("/ban-sao/{copy_id}/trang/{page}.png")
def page_image(
    request: Request, copy_id: str, page: int, session: DbSession, app_state: HosoState, width: int = 900
) -> Response:
    person = page_viewer(request, session)
    if isinstance(person, Response):
        return person
    try:
        png = copy_flow.read_page(session, app_state.store, app_state.settings, person, copy_id, page, width)
    except HosoError as e:
        return Response(said(e), status_code=_error(request, person, e).status_code, media_type="text/plain")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, no-store"})
