"""Import a school's staff list in the browser: pick the file, see the preview, confirm, hand out passwords.

The form sits on the administrator's page itself (the school just added is already chosen), so a
school and its people take three steps after the school: pick the file, "Xem trước", "Nhập". The
preview page carries the rows it read back to the server (one hidden field): nothing is stored
between preview and confirm, and the confirm checks every row again (`archive.staff`). The one-time
passwords are on the answer to the confirm (never a redirect: a reload does not show them again,
and a re-post only meets "tên đăng nhập đã có"), with a CSV of them posted back for printing.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.deps import DbSession
from api.errors import status_of
from api.web.forms import form_poster
from api.web.i18n import said, t
from api.web.menu import ADMIN_ONLY, ADMINS
from api.web.rendering import ROLE_VI, page_viewer, render
from archive import staff
from archive.exceptions import HosoError
from archive.models import Person, School
from archive.staff import sheet
from archive.staff.schemas import StaffImportOut, StaffLine, StaffPreview
from archive.staff.template import passwords_csv, template_csv, template_xlsx

router = APIRouter(include_in_schema=False)
_LINES = TypeAdapter(list[StaffLine])
_ACCOUNTS = TypeAdapter(list[tuple[str, str, str]])


def _page(
    request: Request,
    session: Session,
    person: Person,
    status_code: int = 200,
    school_code: str = "",
    errors: dict[str, str] | None = None,
    preview: StaffPreview | None = None,
    lines: list[StaffLine] | None = None,
    columns: dict[str, str] | None = None,
    done: StaffImportOut | None = None,
) -> HTMLResponse:
    schools = list(session.scalars(select(School).order_by(School.name)))
    session.commit()
    return render(
        request,
        "staff_import.html",
        person,
        status_code=status_code,
        schools=schools,
        role_names=ROLE_VI,
        school_code=school_code,
        errors=errors or {},
        preview=preview,
        lines_json=_LINES.dump_json(lines or []).decode(),
        columns_json=json.dumps(columns or {}, ensure_ascii=False),
        done=done,
        accounts_json=json.dumps([[a.full_name, a.username, a.password] for a in done.created] if done else []),
    )


@router.get("/quan-tri/nhap-danh-sach", response_class=HTMLResponse)
def import_form(request: Request, truong: str = "", *, session: DbSession) -> Response:
    person = page_viewer(request, session, ADMINS, t(ADMIN_ONLY))
    if isinstance(person, Response):
        return person
    return _page(request, session, person, school_code=truong)


@router.post("/quan-tri/nhap-danh-sach")
def preview_file(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    school_code: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
    *,
    session: DbSession,
) -> Response:
    """The preview of the chosen file: each row's account, or why it is refused (nothing written)."""
    person = form_poster(request, session, csrf_token, ADMINS, t(ADMIN_ONLY))
    if isinstance(person, Response):
        return person
    errors: dict[str, str] = {}
    if not school_code:
        errors["school_code"] = t("Chọn trường của danh sách.")
    if file is None or not file.filename:
        errors["file"] = t("Chọn tệp danh sách (.xlsx hoặc .csv).")
    if errors or file is None:
        return _page(request, session, person, 422, school_code, errors)
    data = file.file.read(staff.MAX_BYTES + 1)
    try:
        name = file.filename or "tệp"
        read = staff.lines_of(sheet.read(data, name), name)
        preview = staff.preview(session, school_code, read.lines, read.columns)
    except HosoError as e:
        session.rollback()
        field = "school_code" if e.code == "not_found" else "file"
        return _page(request, session, person, status_of(e), school_code, {field: said(e)})
    return _page(request, session, person, 200, school_code, preview=preview, lines=read.lines, columns=read.columns)


async def _preview_form(request: Request) -> FormData:
    """The posted preview: one `include` per ticked row, so up to MAX_ROWS of them (Starlette's
    default of 1,000 fields would refuse a full list with a 400)."""
    return await request.form(max_fields=sheet.MAX_ROWS + 20)


@router.post("/quan-tri/nhap-danh-sach/xac-nhan")
def confirm(request: Request, posted: Annotated[FormData, Depends(_preview_form)], session: DbSession) -> Response:
    """Import the ticked rows of the preview, all or none; the passwords are shown on the answer."""
    values: dict[str, Any] = {
        "csrf_token": str(posted.get("csrf_token", "")),
        "school_code": str(posted.get("school_code", "")),
        "lines": str(posted.get("lines", "[]")),
        "columns": str(posted.get("columns", "{}")),
        "include": [str(v) for v in posted.getlist("include")],
    }
    return _confirm(request, session, values)


def _confirm(request: Request, session: Session, values: dict[str, Any]) -> Response:
    person = form_poster(request, session, values["csrf_token"], ADMINS, t(ADMIN_ONLY))
    if isinstance(person, Response):
        return person
    school_code = values["school_code"]
    try:
        lines = _LINES.validate_json(values["lines"])
        columns = {str(k): str(v) for k, v in dict(json.loads(values["columns"])).items()}
        chosen = {int(v) for v in values["include"]}
    except (ValidationError, ValueError, TypeError):
        return _page(
            request, session, person, 422, school_code, {"file": t("Trang xem trước bị hỏng; hãy chọn lại tệp.")}
        )
    try:
        done = staff.import_lines(session, person, school_code, lines, chosen, columns)
    except HosoError as e:
        session.rollback()
        try:
            preview = staff.preview(session, school_code, lines, columns)
        except HosoError:
            return _page(request, session, person, status_of(e), school_code, {"school_code": said(e)})
        return _page(request, session, person, status_of(e), school_code, {"_": said(e)}, preview, lines, columns)
    response = _page(request, session, person, 201, school_code, done=done)
    response.headers["Cache-Control"] = "no-store"  # the passwords are shown once, never kept by a cache
    return response


@router.post("/quan-tri/nhap-danh-sach/mat-khau.csv")
def passwords_file(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    accounts: Annotated[str, Form()] = "[]",
    *,
    session: DbSession,
) -> Response:
    """The one-time passwords just shown, as a CSV to print (sent back by the page; nothing kept)."""
    person = form_poster(request, session, csrf_token, ADMINS, t(ADMIN_ONLY))
    if isinstance(person, Response):
        return person
    try:
        rows = _ACCOUNTS.validate_json(accounts)
    except ValidationError:
        return render(request, "error.html", person, status_code=422, message=t("Danh sách mật khẩu bị hỏng."))
    return Response(
        passwords_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="mat-khau-mot-lan.csv"', "Cache-Control": "no-store"},
    )


@router.get("/quan-tri/nhap-danh-sach/mau.{kind}")
def template_file(request: Request, kind: str, session: DbSession) -> Response:
    person = page_viewer(request, session, ADMINS, t(ADMIN_ONLY))
    if isinstance(person, Response):
        return person
    if kind == "xlsx":
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(template_xlsx(), media_type=media, headers=_attachment("mau-danh-sach-nhan-su.xlsx"))
    if kind == "csv":
        return Response(
            template_csv(), media_type="text/csv; charset=utf-8", headers=_attachment("mau-danh-sach-nhan-su.csv")
        )
    return render(request, "error.html", person, status_code=404, message=t("Không có tệp mẫu này."))


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}
