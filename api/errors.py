"""Every domain error becomes an HTTP problem a person can read, in Vietnamese and English."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from archive.exceptions import (
    Conflict,
    Forbidden,
    Gone,
    HosoError,
    IncompleteUpload,
    IntegrityFailure,
    InvalidInput,
    NotFound,
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
    IndexBusy: 503,
    Gone: 410,
    TooManyAttempts: 429,
}


def status_of(exc: HosoError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def problem(exc: HosoError) -> JSONResponse:
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after)}
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


def install(app: FastAPI) -> None:
    @app.exception_handler(HosoError)
    async def _hoso_error(_request: Request, exc: HosoError) -> JSONResponse:
        if status_of(exc) >= 500:
            log.error("server-side failure: %s", exc.en)
        return problem(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        vi, en = describe_validation(list(exc.errors()))
        errors = [
            {**{k: v for k, v in e.items() if k in ("loc", "msg", "type")}, "message": vietnamese(e)}
            for e in exc.errors()
        ]
        return JSONResponse(
            {"error": "invalid_input", "message": vi, "message_en": en, "detail": {"errors": errors}},
            status_code=422,
        )
