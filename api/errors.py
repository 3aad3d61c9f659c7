"""Every domain error becomes an HTTP problem a person can read, in Vietnamese and English.

One place decides the answer's form: the API (anything under /api/, or a client that does not ask
for HTML) gets the JSON problem; a browser opening a page gets the error page of api/web/error_pages
with the same status. That holds for a HosoError, a request that does not validate, Starlette's
own 404/405 (no such route, wrong method) and an unhandled exception's 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.web.error_pages import error_page
from api.web.i18n import lang, said
from archive.exceptions import (
    Conflict,
    Forbidden,
    Gone,
    HosoError,
    IncompleteUpload,
    IntegrityFailure,
    InvalidInput,
    NotFound,
    ToolMissing,
    TooManyAttempts,
    Unauthorized,
    UnsupportedMediaType,
    UploadTooLarge,
)
from archive.storage import StoreUnavailable
from search.exceptions import IndexBusy
from signing.exceptions import FontMissing, ServiceUnavailable

log = logging.getLogger(__name__)

STATUS: dict[type[HosoError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unauthorized: 401,
    UploadTooLarge: 413,
    UnsupportedMediaType: 415,
    IncompleteUpload: 400,
    IntegrityFailure: 500,
    StoreUnavailable: 503,
    ServiceUnavailable: 503,
    FontMissing: 500,
    ToolMissing: 500,
    IndexBusy: 503,
    Gone: 410,
    TooManyAttempts: 429,
}


def status_of(exc: HosoError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def headers_of(exc: HosoError) -> dict[str, str] | None:
    if isinstance(exc, TooManyAttempts):
        return {"Retry-After": str(exc.retry_after)}
    return {"WWW-Authenticate": "Bearer"} if status_of(exc) == 401 else None


def problem(exc: HosoError) -> JSONResponse:
    status, headers = status_of(exc), headers_of(exc)
    body: dict[str, object] = {"error": exc.code, "message": exc.vi, "message_en": exc.en}
    if exc.context:
        body["detail"] = exc.context
    return JSONResponse(body, status_code=status, headers=headers)


_VI = {
    "missing": "thiếu trường bắt buộc",
    "extra_forbidden": "trường không được phép",
    "less_than_equal": "phải nhỏ hơn hoặc bằng {le}",
    "greater_than_equal": "phải lớn hơn hoặc bằng {ge}",
    "less_than": "phải nhỏ hơn {lt}",
    "greater_than": "phải lớn hơn {gt}",
    "string_too_short": "phải có ít nhất {min_length} ký tự",
    "string_too_long": "tối đa {max_length} ký tự",
    "string_pattern_mismatch": "có ký tự không hợp lệ",
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "string_type": "phải là chuỗi ký tự",
    "date_from_datetime_parsing": "phải là ngày dạng YYYY-MM-DD",
    "date_parsing": "phải là ngày dạng YYYY-MM-DD",
    "enum": "phải là một trong: {expected}",
    "model_attributes_type": "phải là một đối tượng JSON",
    "dict_type": "phải là một đối tượng JSON",
}


def vietnamese(err: dict[str, Any]) -> str:
    """Pydantic speaks English; a teacher reading the error should not have to."""
    kind = str(err.get("type", ""))
    if kind == "value_error":  # our validators already write "vi / en"
        return str(err.get("msg", "")).removeprefix("Value error, ").split(" / ")[0]
    template = _VI.get(kind)
    if template is None:
        return str(err.get("msg"))
    try:
        return template.format(**(err.get("ctx") or {}))
    except (KeyError, IndexError):
        return template


def describe_validation(errors: list[dict[str, Any]]) -> tuple[str, str]:
    vi, en = [], []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        prefix = f"{loc}: " if loc else ""
        vi.append(prefix + vietnamese(err))
        en.append(prefix + str(err.get("msg")))
    return f"Dữ liệu không hợp lệ — {'; '.join(vi)}", f"Invalid input — {'; '.join(en)}"


def invalid_from_pydantic(exc: ValidationError) -> InvalidInput:
    vi, en = describe_validation(exc.errors(include_url=False, include_input=False))  # type: ignore[arg-type]
    return InvalidInput(vi, en)


def wants_page(request: Request) -> bool:
    """A browser opening a page: not the API, and it asks for HTML (curl's and fetch()'s */* do not)."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


class PageErrors:
    """An unhandled exception on a page request answers the 500 page.

    Starlette's own 500 handler sits outside every middleware (no language, no security headers),
    so this one is installed innermost: the page speaks the chosen language and carries the
    headers. The exception is raised on as before, so the server still logs it; the API and
    other clients keep Starlette's plain 500."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            request = Request(scope)
            if not started and wants_page(request):
                await error_page(request, 500)(scope, receive, send)
            raise


def install(app: FastAPI, pages: bool = False) -> None:
    """The handlers; with `pages` (hoso's server, not the sign agent) the error pages too, and
    PageErrors: then call it before adding any other middleware, so that one is innermost."""
    if pages:
        app.add_middleware(PageErrors)

    def page(request: Request) -> bool:
        return pages and wants_page(request)

    @app.exception_handler(HosoError)
    async def _hoso_error(request: Request, exc: HosoError) -> Response:
        if status_of(exc) >= 500:
            log.error("server-side failure: %s", exc.en)
        if page(request):
            return await run_in_threadpool(error_page, request, status_of(exc), said(exc), headers_of(exc))
        return problem(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if page(request):  # Starlette's English detail ("Not Found") is not for a teacher
            return await run_in_threadpool(error_page, request, exc.status_code, "", exc.headers)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        vi, en = describe_validation(list(exc.errors()))
        if page(request):
            return await run_in_threadpool(error_page, request, 422, en if lang() == "en" else vi)
        errors = [
            {**{k: v for k, v in e.items() if k in ("loc", "msg", "type")}, "message": vietnamese(e)}
            for e in exc.errors()
        ]
        return JSONResponse(
            {"error": "invalid_input", "message": vi, "message_en": en, "detail": {"errors": errors}},
            status_code=422,
        )
