"""One person's page for the administrator: details, disable/re-enable, a new one-time password, roles.

Every form posts to the service the API uses (`archive.service`), audited the same way. Disabling
raises the person's token version, so their open sessions end at the next request; a reset password
is shown once, on the answer to the reset (never in a URL), and must be changed at first login.
The service refuses what would lock the archive out: disabling oneself, or the last administrator.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import DbSession
from api.errors import status_of
from api.web.forms import field_errors, form_poster
from api.web.i18n import said, t
from api.web.menu import ADMIN_ONLY, ADMINS
from api.web.rendering import ROLE_VI, page_viewer, render
from archive import service
from archive.exceptions import HosoError
from archive.models import Membership, Person, Role, School
from archive.schemas import MembershipCreate, PersonUpdate, RowId

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    session: Session,
    viewer_: Person,
    person_id: int,
    status_code: int = 200,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
    new_password: str = "",
) -> HTMLResponse:
    try:
        person = service.person_by_id(session, person_id)
    except HosoError as e:
        return render(request, "error.html", viewer_, status_code=404, message=said(e))
    schools = list(session.scalars(select(School).order_by(School.name)))
    roles = [(m, ROLE_VI[Role(m.role)], m.school.name if m.school else "") for m in person.memberships]
    session.commit()
    response = render(
        request,
        "person.html",
        viewer_,
        status_code=status_code,
        who=person,
        memberships=roles,
        schools=schools,
        role_names=ROLE_VI,
        form=form
        or {"full_name": person.full_name, "email": person.email or "", "national_id": person.national_id or ""},
        errors=errors or {},
        done=_done(done),
        new_password=new_password,
        is_self=person.id == viewer_.id,
    )
    if new_password:
        response.headers["Cache-Control"] = "no-store"
    return response


def _done(done: str) -> str:
    """What the last form did, said on the page it led back to."""
    return {
        "thong-tin": t("Đã lưu thông tin."),
        "khoa": t("Đã khóa tài khoản; mọi phiên đăng nhập của người này đã kết thúc."),
        "mo-khoa": t("Đã mở khóa tài khoản."),
        "vai-tro": t("Đã cập nhật vai trò."),
    }.get(done, "")


def _admin(request: Request, session: Session, csrf_token: str) -> Person | Response:
    return form_poster(request, session, csrf_token, ADMINS, t(ADMIN_ONLY))


def _back(person_id: int, done: str) -> RedirectResponse:
    return RedirectResponse(f"/quan-tri/nguoi-dung/{person_id}?done={done}", status_code=303)


@router.get("/quan-tri/nguoi-dung/{person_id}", response_class=HTMLResponse)
def person_page(request: Request, person_id: RowId, done: str = "", *, session: DbSession) -> Response:
    admin = page_viewer(request, session, ADMINS, t(ADMIN_ONLY))
    if isinstance(admin, Response):
        return admin
    return _page(request, session, admin, person_id, done=done)


@router.post("/quan-tri/nguoi-dung/{person_id}/thong-tin")
def edit_details(
    request: Request,
    person_id: RowId,
    csrf_token: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    national_id: Annotated[str, Form()] = "",
    *,
    session: DbSession,
) -> Response:
    admin = _admin(request, session, csrf_token)
    if isinstance(admin, Response):
        return admin
    form = {"full_name": full_name.strip(), "email": email.strip(), "national_id": national_id.strip()}
    try:
        body = PersonUpdate(
            full_name=form["full_name"], email=form["email"] or None, national_id=form["national_id"] or None
        )
        if form["email"] and "@" not in form["email"]:
            return _page(
                request, session, admin, person_id, 422, form, {"email": t("Ghi địa chỉ email, vd. lan@truong.edu.vn.")}
            )
        service.update_person(session, admin, service.person_by_id(session, person_id), body)
    except ValidationError as e:
        return _page(request, session, admin, person_id, 422, form, field_errors(e))
    except HosoError as e:
        session.rollback()
        return _page(request, session, admin, person_id, status_of(e), form, {"_": said(e)})
    return _back(person_id, "thong-tin")


@router.post("/quan-tri/nguoi-dung/{person_id}/trang-thai")
def set_active(
    request: Request,
    person_id: RowId,
    csrf_token: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
    *,
    session: DbSession,
) -> Response:
    """Disable (their sessions end at once) or re-enable an account."""
    admin = _admin(request, session, csrf_token)
    if isinstance(admin, Response):
        return admin
    enable = active == "1"
    try:
        service.update_person(session, admin, service.person_by_id(session, person_id), PersonUpdate(active=enable))
    except HosoError as e:
        session.rollback()
        return _page(request, session, admin, person_id, status_of(e), errors={"active": said(e)})
    return _back(person_id, "mo-khoa" if enable else "khoa")


@router.post("/quan-tri/nguoi-dung/{person_id}/dat-lai-mat-khau")
def reset_password(
    request: Request, person_id: RowId, csrf_token: Annotated[str, Form()] = "", *, session: DbSession
) -> Response:
    """A new one-time password, shown once on this answer."""
    admin = _admin(request, session, csrf_token)
    if isinstance(admin, Response):
        return admin
    try:
        password = service.reset_password(session, admin, service.person_by_id(session, person_id))
    except HosoError as e:
        session.rollback()
        return _page(request, session, admin, person_id, status_of(e), errors={"password": said(e)})
    return _page(request, session, admin, person_id, new_password=password)


@router.post("/quan-tri/nguoi-dung/{person_id}/vai-tro")
def add_role(
    request: Request,
    person_id: RowId,
    csrf_token: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    school_code: Annotated[str, Form()] = "",
    *,
    session: DbSession,
) -> Response:
    admin = _admin(request, session, csrf_token)
    if isinstance(admin, Response):
        return admin
    if refused := _role_refused(role, school_code):
        return _page(request, session, admin, person_id, 422, errors=refused)
    try:
        body = MembershipCreate(role=role or None, school_code=school_code or None)  # type: ignore[arg-type]
        service.add_membership(session, admin, service.person_by_id(session, person_id), body)
    except ValidationError as e:
        found = field_errors(e)
        message = found.get("role") or next(iter(found.values()))
        return _page(
            request, session, admin, person_id, 422, errors={"role" if "role" in found else "school_code": message}
        )
    except HosoError as e:
        session.rollback()
        return _page(request, session, admin, person_id, status_of(e), errors={"role": said(e)})
    return _back(person_id, "vai-tro")


def _role_refused(role: str, school_code: str) -> dict[str, str]:
    """The role form's mistakes in plain words (the model's own message names the role by its code)."""
    if role not in set(Role):
        return {"role": t("Chọn một vai trò trong danh sách.")}
    if Role(role) in (Role.admin, Role.inspector) and school_code:
        return {
            "school_code": t(
                "Vai trò %(role)s không gắn với trường; hãy chọn “không gắn với trường”.", role=t(ROLE_VI[Role(role)])
            )
        }
    if Role(role) not in (Role.admin, Role.inspector) and not school_code:
        return {"school_code": t("Chọn trường cho vai trò này.")}
    return {}


@router.post("/quan-tri/vai-tro/{membership_id}/xoa")
def remove_role(
    request: Request, membership_id: RowId, csrf_token: Annotated[str, Form()] = "", *, session: DbSession
) -> Response:
    admin = _admin(request, session, csrf_token)
    if isinstance(admin, Response):
        return admin
    membership = session.get(Membership, membership_id)
    if membership is None:
        return render(request, "error.html", admin, status_code=404, message=t("Không có vai trò này."))
    person_id = membership.person_id
    try:
        service.remove_membership(session, admin, membership_id)
    except HosoError as e:
        session.rollback()
        return _page(request, session, admin, person_id, status_of(e), errors={"roles": said(e)})
    return _back(person_id, "vai-tro")
