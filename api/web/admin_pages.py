"""The administrator's page (schools, people and their roles), one's password, a person's certificates.

Forms post to the same service functions the API uses (audited the same way). A person is created
with their first role in one step: the role and school are checked before the account is written,
so a refused form never leaves an account without a role behind.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import DbSession, state
from api.proxies import client_address
from api.web.forms import csrf_refused, field_errors, form_poster
from api.web.i18n import said, t
from api.web.menu import ADMINS
from api.web.rendering import ROLE_VI, page_viewer, render, to_login, viewer
from api.web.session import set_session
from archive import service
from archive.auth import confirm_password, issue_token
from archive.exceptions import HosoError, TooManyAttempts
from archive.models import Person, Role, School
from archive.schemas import MembershipCreate, PasswordChange, PersonCreate, SchoolCreate
from signing import ownership
from signing import service as signing_service
from signing.models import SigningCertificate

router = APIRouter(include_in_schema=False)


def _admin_page(
    request: Request,
    session: Session,
    person: Person,
    status_code: int = 200,
    school_form: dict[str, str] | None = None,
    person_form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
    import_school: str = "",
) -> HTMLResponse:
    schools = list(session.scalars(select(School).order_by(School.code)))
    people = service.list_people(session)
    rows = [
        {
            "person": p,
            "roles": ", ".join(
                ROLE_VI[Role(m.role)] + (f" ({m.school.code})" if m.school is not None else "") for m in p.memberships
            ),
        }
        for p in people
    ]
    session.commit()
    return render(
        request,
        "admin.html",
        person,
        status_code=status_code,
        schools=schools,
        people=rows,
        role_names=ROLE_VI,
        school_form=school_form or {},
        person_form=person_form or {},
        errors=errors or {},
        done=done,
        import_school=import_school or (schools[0].code if len(schools) == 1 else ""),
    )


@router.get("/quan-tri", response_class=HTMLResponse)
def admin_page(request: Request, done: str = "", *, session: DbSession) -> Response:
    person = page_viewer(request, session, ADMINS, t("Trang này dành cho quản trị viên."))
    if isinstance(person, Response):
        return person
    return _admin_page(
        request, session, person, done=done, import_school=done[7:] if done.startswith("truong-") else ""
    )


@router.post("/quan-tri/truong")
def add_school(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    district: Annotated[str, Form()] = "",
    province: Annotated[str, Form()] = "",
    *,
    session: DbSession,
) -> Response:
    person = form_poster(request, session, csrf_token, ADMINS, t("Trang này dành cho quản trị viên."))
    if isinstance(person, Response):
        return person
    form = {"code": code.strip(), "name": name.strip(), "district": district.strip(), "province": province.strip()}
    try:
        data = SchoolCreate(
            code=form["code"], name=form["name"], district=form["district"] or None, province=form["province"] or None
        )
        service.create_school(session, person, data)
    except ValidationError as e:
        return _admin_page(request, session, person, 422, school_form=form, errors=field_errors(e))
    except HosoError as e:
        return _admin_page(request, session, person, 409, school_form=form, errors={"code": said(e)})
    return RedirectResponse(f"/quan-tri?done=truong-{form['code']}", status_code=303)


@router.post("/quan-tri/nguoi-dung")
def add_person(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    school_code: Annotated[str, Form()] = "",
    *,
    session: DbSession,
) -> Response:
    """A new account with its first role; the password is one-time (changed at first login)."""
    person = form_poster(request, session, csrf_token, ADMINS, t("Trang này dành cho quản trị viên."))
    if isinstance(person, Response):
        return person
    form = {"username": username.strip(), "full_name": full_name.strip(), "role": role, "school_code": school_code}
    errors: dict[str, str] = {}
    try:
        data = PersonCreate(username=form["username"], full_name=form["full_name"], password=password)
    except ValidationError as e:
        errors |= field_errors(e)
    try:
        role_in = MembershipCreate(role=role or None, school_code=school_code or None)  # type: ignore[arg-type]
        if role_in.school_code:
            service.school_by_code(session, role_in.school_code)
    except ValidationError as e:
        found = field_errors(e)
        errors["role" if "role" in found else "school_code"] = found.get("role") or next(iter(found.values()))
    except HosoError as e:
        errors["school_code"] = said(e)
    if errors:
        return _admin_page(request, session, person, 422, person_form=form, errors=errors)
    try:
        service.create_person(session, person, data, role_in)
    except HosoError as e:
        return _admin_page(request, session, person, 409, person_form=form, errors={"username": said(e)})
    return RedirectResponse(f"/quan-tri?done=nguoi-dung-{form['username']}", status_code=303)


# -- one's own password -------------------------------------------------------------------------


def _password_page(
    request: Request, person: Person, status_code: int = 200, errors: dict[str, str] | None = None
) -> HTMLResponse:
    return render(request, "password.html", person, status_code=status_code, errors=errors or {})


@router.get("/doi-mat-khau", response_class=HTMLResponse)
def password_form(request: Request, session: DbSession) -> Response:
    """Everyone's own password; the first login with a one-time password lands here."""
    person = viewer(request, session)
    if person is None:
        return to_login()
    return _password_page(request, person)


@router.post("/doi-mat-khau")
def change_password(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    repeat_password: Annotated[str, Form()] = "",
    *,
    session: DbSession,
) -> Response:
    person = viewer(request, session)
    if person is None:
        return to_login()
    if refused := csrf_refused(request, csrf_token):
        return refused
    try:
        body = PasswordChange(current_password=current_password, new_password=new_password)
    except ValidationError as e:
        return _password_page(request, person, 422, field_errors(e))
    if new_password != repeat_password:
        return _password_page(request, person, 422, {"repeat_password": t("Hai lần nhập mật khẩu mới không khớp.")})
    try:
        confirmed = confirm_password(session, person, body.current_password, client_address(request))
    except TooManyAttempts as e:
        refused = _password_page(request, person, 429, {"current_password": said(e)})
        refused.headers["Retry-After"] = str(e.retry_after)
        return refused
    if not confirmed:
        return _password_page(request, person, 422, {"current_password": t("Mật khẩu hiện tại không đúng.")})
    service.change_password(session, person, body.new_password)
    settings = state(request).settings
    response = RedirectResponse("/trang-chu", status_code=303)
    token = issue_token(person, settings.resolved_secret_key(), settings.token_ttl_minutes)
    set_session(response, request, token, settings.token_ttl_minutes * 60)  # the old session ended with the change
    return response


# -- a person's registered signing certificates ----------------------------------------------------


def _certificates_page(
    request: Request,
    session: Session,
    viewer_: Person,
    owner_id: int,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    done: str = "",
) -> HTMLResponse:
    try:
        owner = service.person_by_id(session, owner_id)
    except HosoError as e:
        return render(request, "error.html", viewer_, status_code=404, message=said(e))
    rows = [ownership.registration_out(r) for r in ownership.registered_to(session, owner)]
    session.commit()
    return render(
        request,
        "certificates.html",
        viewer_,
        status_code=status_code,
        owner=owner,
        rows=rows,
        errors=errors or {},
        done=done,
    )


@router.get("/quan-tri/nguoi-dung/{person_id}/chung-thu-so", response_class=HTMLResponse)
def certificates_page(request: Request, person_id: int, done: str = "", *, session: DbSession) -> Response:
    person = page_viewer(request, session, ADMINS, t("Trang này dành cho quản trị viên."))
    if isinstance(person, Response):
        return person
    return _certificates_page(request, session, person, person_id, done=t("Đã lưu.") if done else "")


@router.post("/quan-tri/nguoi-dung/{person_id}/chung-thu-so")
def register_certificate(
    request: Request,
    person_id: int,
    csrf_token: Annotated[str, Form()] = "",
    certificate: Annotated[UploadFile | None, File()] = None,
    *,
    session: DbSession,
) -> Response:
    """The administrator registers a certificate (PEM/DER) for a person (`signing.service`, as the API does)."""
    person = form_poster(request, session, csrf_token, ADMINS, t("Trang này dành cho quản trị viên."))
    if isinstance(person, Response):
        return person
    if certificate is None or not certificate.filename:
        errors = {"certificate": t("Chọn tệp chứng thư số.")}
        return _certificates_page(request, session, person, person_id, 422, errors)
    try:
        signing_service.register_certificate(session, person, person_id, certificate.file)
    except HosoError as e:
        session.rollback()
        return _certificates_page(request, session, person, person_id, 422, {"certificate": said(e)})
    return RedirectResponse(f"/quan-tri/nguoi-dung/{person_id}/chung-thu-so?done=1", status_code=303)


@router.post("/quan-tri/chung-thu-so/{registration_id}/thu-hoi")
def revoke_certificate(
    request: Request,
    registration_id: int,
    csrf_token: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    *,
    session: DbSession,
) -> Response:
    person = form_poster(request, session, csrf_token, ADMINS, t("Trang này dành cho quản trị viên."))
    if isinstance(person, Response):
        return person
    row = session.get(SigningCertificate, registration_id)
    if row is None:
        return render(request, "error.html", person, status_code=404, message=t("Không có chứng thư số đăng ký này."))
    owner_id = row.person_id
    if not reason.strip():
        return _certificates_page(
            request, session, person, owner_id, 422, {f"reason-{registration_id}": t("Ghi lý do thu hồi.")}
        )
    try:
        ownership.revoke(session, registration_id, by=person, reason=reason)
    except HosoError as e:
        session.rollback()
        return _certificates_page(request, session, person, owner_id, 422, {f"reason-{registration_id}": said(e)})
    return RedirectResponse(f"/quan-tri/nguoi-dung/{owner_id}/chung-thu-so?done=1", status_code=303)
