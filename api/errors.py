"""Every domain error becomes an HTTP problem a person can read, in Vietnamese and English."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from archive.exceptions import (
    Conflict,
    Forbidden,
    HosoError,
    IncompleteUpload,
    IntegrityFailure,
    InvalidInput,
    NotFound,
    Unauthorized,
    UnsupportedMediaType,
    UploadTooLarge,
)
from archive.storage import StoreUnavailable

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
}


def status_of(exc: HosoError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def problem(exc: HosoError) -> JSONResponse:
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"error": exc.code, "message": exc.vi, "message_en": exc.en}
    if exc.context:
        body["detail"] = exc.context
    return JSONResponse(body, status_code=status, headers=headers)


def describe_validation(errors: list[dict]) -> tuple[str, str]:  # type: ignore[type-arg]
    parts = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    text = "; ".join(parts)
    return f"Dữ liệu không hợp lệ — {text}", f"Invalid input — {text}"


def invalid_from_pydantic(exc: ValidationError) -> InvalidInput:
    vi, en = describe_validation(exc.errors(include_url=False))  # type: ignore[arg-type]
    return InvalidInput(vi, en)


def install(app: FastAPI) -> None:
    @app.exception_handler(HosoError)
    async def _hoso_error(_request: Request, exc: HosoError) -> JSONResponse:
        if status_of(exc) >= 500:
            log.error("server-side failure: %s", exc.en)
        return problem(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        vi, en = describe_validation(errors)
        return JSONResponse(
            {"error": "invalid_input", "message": vi, "message_en": en, "detail": {"errors": errors}},
            status_code=422,
        )
