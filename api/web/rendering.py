"""Rendering shared by every page: the templates and their filters (dates as dd/mm/yyyy, Vietnamese
labels for states), who is signed in, and the response for someone who may not be on a page."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, object_session

from api.deps import state
from api.web import menu
from api.web.i18n import english, gettext, lang
from api.web.labels import STATUS_VI, UNIT_ROLE_VI, badge_label, yes_no
from api.web.session import SESSION_COOKIE, csrf_for
from archive.auth import person_from_token
from archive.calendar import VN_TIME
from archive.exceptions import HosoError
from archive.models import Person, Role
from archive.notifications import service as notify
from archive.staff.check import ROLE_NAMES
from signing import periods, placement

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=gettext, ngettext=lambda one, many, n: gettext(one if n == 1 else many), newstyle=True
)

ROLE_VI = ROLE_NAMES  # one table of the roles' Vietnamese names (the staff list reads them too)
FACET_VI = {
    "school_code": "Trường",
    "record_type": "Loại hồ sơ",
    "school_year": "Năm học",
    "month": "Tháng",
    "subject": "Môn",
    "grade": "Khối",
    "class_name": "Lớp",
    "teacher": "Giáo viên",
    "status": "Trạng thái",
    "signed": "Chữ ký số",
    "retention": "Lưu trữ",
    "media": "Dạng",
}


def vn_date(value: Any) -> str:
    """dd/mm/yyyy (and the time, in Vietnam's zone, for a moment)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return value.astimezone(VN_TIME).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return "" if value is None else str(value)


ACTION_VI = {
    "record.created": "tải lên",
    "record.version_added": "thêm phiên bản",
    "record.submitted": "nộp duyệt",
    "record.approved": "duyệt",
    "record.returned": "trả lại",
    "record.signed": "ký số",
    "record.downloaded": "tải về / xem",
    "record.destroyed": "hủy theo quyết định",
    "record.rendition_made": "tạo bản PDF để xem",
    "record.rendition_failed": "không tạo được bản PDF",
    "inspector.viewed": "thanh tra xem",
}

KIND_VI = {"original": "bản gốc", "signed": "bản đã ký", "derived": "bản PDF chuyển đổi"}  # a version's kind
DECISION_VI = {"pending": "chờ duyệt", "approved": "đã duyệt", "returned": "đã trả lại"}
BATCH_VI = {"open": "đang mở", "signing": "đang ký", "signed": "đã ký xong"}
STAMP_PLACE_VI = {place.value: vi for place, (vi, _en) in placement.SAID.items()}  # where a signature shows

templates.env.filters["vn_date"] = vn_date
templates.env.filters["kind_vi"] = lambda kind: gettext(KIND_VI.get(str(kind), str(kind)))


def _label(names: dict[str, str]) -> Callable[[Any], str]:
    """A filter: a state's label in the page's language (the value itself when it has none)."""
    return lambda value: gettext(names.get(value, value))


templates.env.filters["decision_vi"] = _label(DECISION_VI)
templates.env.filters["batch_vi"] = _label(BATCH_VI)
templates.env.filters["stamp_place_vi"] = lambda value: _label(STAMP_PLACE_VI)(value or "")
templates.env.filters["status_vi"] = _label(STATUS_VI)
templates.env.filters["action_vi"] = _label(ACTION_VI)
templates.env.filters["badge_label"] = badge_label
templates.env.filters["yes_no"] = yes_no
templates.env.filters["t"] = gettext  # labels that come from Python dicts (roles, facets)


def type_name(record_type: Any) -> str:
    """A record type's name in the page's language (the schedule keeps both)."""
    get = record_type.get if isinstance(record_type, dict) else lambda k: getattr(record_type, k, None)
    return str(get("name_en") if lang() == "en" and get("name_en") else get("name_vi"))


templates.env.filters["type_name"] = type_name
PERIOD_WORDS = (("học kỳ", "semester"), ("năm học", "school year"), ("tháng", "month"), ("tuần", "week"))


def period_name(label: str) -> str:
    """signing.periods' Vietnamese label ("tháng 11/2026"), in English on an English page."""
    if lang() == "en":
        for vi, en in PERIOD_WORDS:
            label = label.replace(vi, en)
    return label


templates.env.filters["period_name"] = period_name
templates.env.filters["period_label"] = periods.label


def viewer(request: Request, session: Session) -> Person | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        person = person_from_token(session, token, state(request).settings.resolved_secret_key())
    except HosoError:
        return None
    _ = person.memberships
    session.commit()
    return person


def render(request: Request, name: str, person: Person | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    secret = state(request).settings.resolved_secret_key()
    token = request.cookies.get(SESSION_COOKIE) or ""
    roles = sorted({gettext(ROLE_VI[Role(m.role)]) for m in person.memberships}) if person else []
    roles += sorted({gettext(UNIT_ROLE_VI[m.role]) for m in person.unit_memberships}) if person else []
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return templates.TemplateResponse(
        request,
        name,
        {
            "person": person,
            "roles": roles,
            "csrf": csrf_for(secret, token) if token else "",
            "lang": lang(),
            "catalogue": english() if lang() == "en" else {},
            "here": here,
            "menu": menu.entries(person),
            "unread_notices": _unread(person),
            "status_code": status_code,
            **context,
        },
        status_code=status_code,
    )


def _unread(person: Person | None) -> int:
    """The header's count of unread notifications, read in the page's own session."""
    session = object_session(person) if person is not None else None
    return notify.unread_count(session, person) if session is not None and person is not None else 0


def to_login() -> RedirectResponse:
    return RedirectResponse("/dang-nhap", status_code=303)


def page_viewer(
    request: Request, session: Session, roles: Collection[Role] = (), message: str = ""
) -> Person | Response:
    """The signed-in person, or the response to send instead: the login page, the one-time password
    change (as the API insists on it too), or a 403 page for someone without one of `roles`."""
    person = viewer(request, session)
    if person is None:
        return to_login()
    if person.must_change_password:
        return RedirectResponse("/doi-mat-khau", status_code=303)
    if roles and not any(m.role in roles for m in person.memberships):
        return render(
            request, "error.html", person, status_code=403, message=message or "Bạn không có quyền ở trang này."
        )
    return person
