"""What every page with a form needs: CSRF, and field errors in Vietnamese.

A refused form is rendered again with the values the person typed and one message per field, in
Vietnamese, taken from the same pydantic models the API validates with, so the page and the API
never disagree about what is valid.
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.deps import state
from api.errors import vietnamese
from api.web.i18n import lang, t
from api.web.rendering import page_viewer
from api.web.session import SESSION_COOKIE, csrf_ok
from archive.models import Person, Role

CSRF_REFUSED = "Thiếu mã chống giả mạo (CSRF); hãy tải lại trang."


def csrf_refused(request: Request, token: str) -> Response | None:
    """A 403 when the form's CSRF token does not belong to this browser's session."""
    secret = state(request).settings.resolved_secret_key()
    if csrf_ok(secret, request.cookies.get(SESSION_COOKIE), token):
        return None
    return HTMLResponse(t(CSRF_REFUSED), status_code=403)


def field_errors(exc: ValidationError) -> dict[str, str]:
    """One Vietnamese message per form field (the first, when a field fails several rules)."""
    found: dict[str, str] = {}
    for err in exc.errors(include_url=False, include_input=False):
        name = str(err["loc"][0]) if err.get("loc") else "_"
        found.setdefault(name, str(err["msg"]) if lang() == "en" else vietnamese(dict(err)))
    return found


async def posted_form(request: Request) -> FormData:
    """The posted form, read on the event loop, so the handler itself can be a plain function that
    FastAPI runs in its thread pool (signing, PDFs and packages must not block the loop)."""
    return await request.form()


def form_poster(
    request: Request, session: Session, csrf_token: str, roles: Collection[Role] = (), message: str = ""
) -> Person | Response:
    """The signed-in person who may post this form, or the response that refuses them: the login page,
    the one-time password change, a 403 page, or the CSRF refusal."""
    person = page_viewer(request, session, roles, message)
    if isinstance(person, Response):
        return person
    return csrf_refused(request, csrf_token) or person


def local_target(path: str, fallback: str = "/") -> str:
    """`path` if it is an address on this site, else `fallback`: a redirect never leaves hoso.

    A browser reads `/\\evil.example` and `/<TAB>/evil.example` as `//evil.example`, so a check for
    a leading "/" alone is an open redirect; here any backslash or control character, and anything
    with a scheme or a host, is refused."""
    if (
        not path.startswith("/")
        or path.startswith("//")
        or any(c == "\\" or ord(c) < 32 or ord(c) == 127 for c in path)
    ):
        return fallback
    parts = urlsplit(path)
    return path if not parts.scheme and not parts.netloc else fallback
