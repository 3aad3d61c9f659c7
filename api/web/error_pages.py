"""The error page a person sees in the browser: what happened in plain words, and where to go next.

A teacher who opens a stale link or a wrong address should read a page of the app, in her
language, not a JSON problem or Starlette's "Not Found". `api/errors.py` decides when an answer is
a page (a browser's request outside /api/); this module only says it: a heading per status, the
error's own message when there is one (never an exception's text or an internal code), and the
links that lead on (the home page, the login page when signed out). Signed out (401) goes straight
to the login page, as every page does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.routing import Match

from api.deps import state
from api.web.i18n import t
from api.web.rendering import render, templates, to_login, viewer
from api.web.session import SESSION_COOKIE
from archive.models import Person

log = logging.getLogger(__name__)


def heading(status_code: int) -> str:
    """What happened, in the page's language (the same words for every page that fails this way)."""
    return {
        400: t("Yêu cầu không hợp lệ"),
        403: t("Bạn không có quyền xem trang này"),
        404: t("Không tìm thấy trang"),
        405: t("Không mở được trang theo cách này"),
        409: t("Chưa làm được việc này"),
        410: t("Trang này không còn nữa"),
        413: t("Tệp quá lớn"),
        415: t("Loại tệp không được nhận"),
        422: t("Dữ liệu không hợp lệ"),
        429: t("Thử quá nhiều lần"),
        500: t("Đã có lỗi ở máy chủ"),
        503: t("Dịch vụ tạm thời gián đoạn"),
    }.get(status_code, t("Không xem được"))


def explanation(status_code: int) -> str:
    """What to do, when the error brings no message of its own (a wrong address, a failure)."""
    return {
        404: t("Địa chỉ này không có trong hoso: đường dẫn có thể đã cũ hoặc bị gõ nhầm."),
        405: t("Trang này chỉ nhận dữ liệu gửi từ biểu mẫu của nó. Hãy mở lại trang trước rồi làm lại."),
        500: t("Lỗi đã được ghi lại. Hãy thử lại sau ít phút; nếu vẫn lỗi, xin báo người quản trị của trường."),
        503: t("Một phần của hoso đang tạm ngừng. Hãy thử lại sau ít phút."),
    }.get(status_code, "")


templates.env.filters["error_heading"] = heading  # error.html rendered by a page itself gets the same words


def _person(request: Request) -> Person | None:
    """Who is signed in, for the header's menu; an error page never fails for want of a name."""
    try:
        with state(request).sessions() as session:
            return viewer(request, session)
    except Exception:  # the database may be what failed: the page is still owed
        log.warning("error page without the signed-in person", exc_info=True)
        return None


def form_of(request: Request) -> str | None:
    """The page whose form posts to this address (a POST-only path reopened from the history or a
    bookmark): the nearest shorter path a GET opens, e.g. /ho-so/ID/nop-duyet → /ho-so/ID."""
    parts = request.url.path.rstrip("/").split("/")
    while len(parts) > 1:
        parts.pop()
        path = "/".join(parts) or "/"
        scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            return path
    return None


def error_page(
    request: Request, status_code: int, message: str = "", headers: Mapping[str, str] | None = None
) -> Response:
    """The HTML answer for a page request that failed with `status_code` (the same code as the API's).

    A server-side failure (5xx) does not touch the database: it may be the cause."""
    if status_code == 401:
        return to_login()
    if status_code == 405 and request.method in ("GET", "HEAD") and (form := form_of(request)):
        return RedirectResponse(form, status_code=303)  # reopening a form's address shows the form
    person = _person(request) if status_code < 500 else None
    response = render(
        request,
        "error.html",
        person,
        status_code=status_code,
        heading=heading(status_code),
        message=message or explanation(status_code),
        signed_out=person is None and not request.cookies.get(SESSION_COOKIE),
    )
    response.headers.update(headers or {})
    return response
