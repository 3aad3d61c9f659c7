"""The school's seal certificates in the browser (/truong/<code>/con-dau): which are registered, and
the principal's (or an administrator's) form to register a renewed one.

Until now a renewed seal could be registered only over the API; the first seal is registered by its
first use on an authenticated copy (signing/seal_ownership.py, confirmed by the clerk or principal).
The page shows what an inspector checks an authenticated copy against: each seal's subject, issuer,
serial, validity and SHA-256 fingerprint, who registered it and how.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import DbSession
from api.web.forms import form_poster
from api.web.i18n import said, t
from api.web.rendering import page_viewer, render
from archive import access
from archive import service as archive_service
from archive.exceptions import HosoError
from archive.models import Person, Role
from signing import seal_ownership

router = APIRouter(include_in_schema=False)
ROLES = {Role.principal, Role.clerk, Role.admin}
REFUSED = "Trang này dành cho văn thư, hiệu trưởng của trường và quản trị viên."


def _page(
    request: Request, session: Session, person: Person, code: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    try:
        school = archive_service.school_by_code(session, code)
        seals = seal_ownership.school_seals(session, person, school)
    except HosoError as e:
        session.rollback()
        return render(request, "error.html", person, status_code=403 if e.code == "forbidden" else 404, message=said(e))
    may_register = access.is_admin(person) or bool(access.roles_at(person, school.id) & seal_ownership.REGISTRARS)
    session.commit()
    return render(
        request,
        "seals.html",
        person,
        status_code=status_code,
        school=school,
        seals=seals,
        may_register=may_register,
        errors=context.pop("errors", {}),
        **context,
    )


@router.get("/truong/{code}/con-dau", response_class=HTMLResponse)
def seals_page(request: Request, code: str, session: DbSession, xong: str = "") -> Response:
    person = page_viewer(request, session, ROLES, t(REFUSED))
    if isinstance(person, Response):
        return person
    return _page(request, session, person, code, done=bool(xong))


@router.post("/truong/{code}/con-dau")
def register_seal(
    request: Request,
    code: str,
    session: DbSession,
    csrf_token: Annotated[str, Form()] = "",
    certificate: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A renewed seal certificate (PEM/DER) registered to the school, as the API's POST does."""
    person = form_poster(request, session, csrf_token, ROLES, t(REFUSED))
    if isinstance(person, Response):
        return person
    if certificate is None or not certificate.filename:
        return _page(request, session, person, code, 422, errors={"certificate": t("Chọn tệp chứng thư số.")})
    try:
        school = archive_service.school_by_code(session, code)
        seal_ownership.register_upload(
            session, person, school, certificate.file.read(seal_ownership.MAX_CERTIFICATE + 1)
        )
    except HosoError as e:
        session.rollback()
        status = 403 if e.code == "forbidden" else 422
        return _page(request, session, person, code, status, errors={"certificate": said(e)})
    return RedirectResponse(f"/truong/{code}/con-dau?xong=1", status_code=303)
