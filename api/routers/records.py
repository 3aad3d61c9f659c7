"""Records: streamed upload, listing with filters, versions, ranged download, audit trail."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentUser, DbSession, SettingsDep, StoreDep, state
from api.errors import invalid_from_pydantic
from api.multipart import Upload, read_upload
from api.ranges import RangeNotSatisfiable, parse_range
from api.routers import file_body
from archive import blobs, idempotency, ingest, photo_set, scans, service
from archive.exceptions import Gone, InvalidInput
from archive.models import AuditEvent, Person, Record, RecordStatus, Version
from archive.schemas import (
    AuditEventOut,
    PageNumber,
    RecordCreate,
    RecordFilters,
    RecordOut,
    RecordPage,
    RowId,
    VersionMetadataUpdate,
    VersionOut,
)
from archive.spool import Received, Spool
from archive.storage import ObjectStore
from flows import intake
from flows.settings import Settings

router = APIRouter(prefix="/records", tags=["records"])


def _upload_doc(metadata_schema: str, required: list[str]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": required,
                        "properties": {
                            "metadata": {
                                "type": "string",
                                "description": f"JSON object ({metadata_schema}); send it before the file",
                            },
                            "file": {"type": "string", "format": "binary"},
                        },
                    }
                }
            },
        }
    }


def _parse_json_field(value: str, model: type[Any]) -> Any:
    try:
        raw = json.loads(value)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"Trường 'metadata' không phải JSON hợp lệ ({exc.msg}, vị trí {exc.pos}).",
            f"The 'metadata' field is not valid JSON ({exc.msg} at position {exc.pos}).",
        ) from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise invalid_from_pydantic(exc) from None


def _require_file(upload: Upload) -> Spool:
    if upload.spool is None:
        raise InvalidInput("Thiếu trường 'file' (tệp cần tải lên).", "The 'file' field (the upload) is missing.")
    return upload.spool


@router.post(
    "", response_model=RecordOut, status_code=201, openapi_extra=_upload_doc("RecordCreate", ["metadata", "file"])
)
async def create_record(
    request: Request,
    response: Response,
    actor: CurrentUser,
    session: DbSession,
    store: StoreDep,
    settings: SettingsDep,
    submit: Annotated[bool, Query(description="Also submit it for approval, in the same transaction")] = False,
    period: Annotated[str | None, Query(description="The approval period (default: the record's own)")] = None,
) -> Record | RecordOut:
    """Upload a new record: `metadata` (JSON, see RecordCreate) then `file`, as multipart/form-data.

    Several `file` parts, each a JPEG, PNG or TIFF photo, are the pages of one paper document in the
    order sent: they become one PDF (each photo on its own A4 page, never re-encoded), which is the
    record's original and gets its OCR rendition like any scan.

    With `submit=true` the record is submitted for approval as it is made ("Tải lên và nộp duyệt"):
    both commit, or neither does (a type nobody signs, a wrong period: nothing is stored).

    A scan or photo below TT 05/2025 Điều 8 (200 dpi, 24-bit colour) is refused (422) where its
    record type says so, else stored with `scan_warnings` saying what falls short.

    With an `Idempotency-Key` header, sending the same upload again (its answer was lost) returns
    the record the first request made, with `Idempotent-Replayed: true`, instead of a duplicate.
    """
    key = idempotency.checked(request.headers.get(idempotency.HEADER))
    if key is not None:
        earlier = await run_in_threadpool(idempotency.replay, session, actor, key)
        if earlier is not None:
            response.headers["Idempotent-Replayed"] = "true"
            return earlier
    prepared: ingest.PreparedRecord | None = None

    def prepare(value: str) -> ingest.PreparedRecord:
        prepared = ingest.prepare_record(session, actor, _parse_json_field(value, RecordCreate))
        if submit:
            intake.check(prepared.record_type, period)
        return prepared

    async def on_field(name: str, value: str) -> None:
        nonlocal prepared
        if name == "metadata":
            prepared = await run_in_threadpool(prepare, value)

    upload = await read_upload(
        request,
        spool_factory=lambda: Spool(settings.tmp_dir, settings.max_upload_bytes),
        on_field=on_field,
        max_files=photo_set.MAX_PHOTOS,
    )
    try:
        spool = _require_file(upload)
        if prepared is None:
            if "metadata" not in upload.fields:
                raise InvalidInput("Thiếu trường 'metadata'.", "The 'metadata' field is missing.")
            prepared = await run_in_threadpool(prepare, upload.fields["metadata"])
        received, filename, details = spool.finish(), upload.filename or "", None
        if len(upload.files) > 1:  # the pages of one paper document, photographed one by one
            received, filename, details = await run_in_threadpool(_combined, upload, settings)
        within = idempotency.remember(session, actor, key) if key is not None else None
        if submit:
            within = intake.submitting(session, actor, period, also=within)
        try:
            record = await run_in_threadpool(
                ingest.create_record, session, store, actor, prepared, received, filename, within, details
            )
            return await run_in_threadpool(_answer, session, record)
        except IntegrityError:
            session.rollback()
            raced = await run_in_threadpool(idempotency.replay, session, actor, key) if key else None
            if raced is None:
                raise
            response.headers["Idempotent-Replayed"] = "true"
            return raced
    finally:
        upload.discard()


def _combined(upload: Upload, settings: Settings) -> tuple[Received, str, dict[str, object]]:
    """The photos made one PDF (`archive.photo_set`), its name, and what it was made of, for the audit."""
    photos = [(name, part.finish()) for name, part in upload.files]
    combined, kept = photo_set.combine(photos, settings.tmp_dir, settings.max_upload_bytes)
    upload.files.append(("", combined))  # discarded with the rest
    return combined.finish(), photo_set.filename_for(photos), {"photos": kept}


def _answer(session: Session, record: Record) -> RecordOut:
    """The new record, with what the scan check found (a photo at 150 dpi is stored, and said so)."""
    out = RecordOut.model_validate(record)
    out.scan_warnings = scans.warnings_out(session, record.id, record.current_version)
    return out


@router.get("", response_model=RecordPage)
def list_records(
    filters: Annotated[RecordFilters, Query()],
    page: PageNumber = 1,
    page_size: int = Query(50, ge=1, le=500),
    *,
    actor: CurrentUser,
    session: DbSession,
) -> RecordPage:
    rows, total = service.list_records(session, actor, filters, page, page_size)
    return RecordPage(items=[RecordOut.model_validate(r) for r in rows], total=total, page=page, page_size=page_size)


@router.get("/{record_id}", response_model=RecordOut)
def get_record(record_id: str, actor: CurrentUser, session: DbSession) -> Record:
    return service.get_record(session, actor, record_id)


@router.get("/{record_id}/versions", response_model=list[VersionOut])
def list_versions(record_id: str, actor: CurrentUser, session: DbSession) -> list[Version]:
    return service.list_versions(session, service.get_record(session, actor, record_id))


@router.post(
    "/{record_id}/versions",
    response_model=VersionOut,
    status_code=201,
    openapi_extra=_upload_doc("VersionMetadataUpdate, optional", ["file"]),
)
async def add_version(
    record_id: str,
    request: Request,
    actor: CurrentUser,
    session: DbSession,
    store: StoreDep,
    settings: SettingsDep,
) -> Version:
    """Upload a new immutable version of a record you authored (optionally correcting its metadata)."""
    record = await run_in_threadpool(ingest.prepare_version, session, actor, record_id)
    update: VersionMetadataUpdate | None = None

    async def on_field(name: str, value: str) -> None:
        nonlocal update
        if name == "metadata":
            update = _parse_json_field(value, VersionMetadataUpdate)

    upload = await read_upload(
        request, spool_factory=lambda: Spool(settings.tmp_dir, settings.max_upload_bytes), on_field=on_field
    )
    try:
        received = _require_file(upload).finish()
        return await run_in_threadpool(
            ingest.add_version, session, store, actor, record, received, upload.filename or "", update
        )
    finally:
        upload.discard()


def _content_disposition(filename: str, inline: bool) -> str:
    fallback = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _download(
    request: Request,
    session: Session,
    store: ObjectStore,
    actor: Person,
    record_id: str,
    number: int | None,
    inline: bool,
) -> Response:
    record = service.get_record(session, actor, record_id)
    version = service.get_version(session, record, number)
    if record.status == RecordStatus.destroyed.value:
        raise Gone(
            "Tài liệu đã được hủy theo quyết định hủy tài liệu hết giá trị; chỉ còn siêu dữ liệu và mã băm.",
            "The record was destroyed by a destruction decision; only its metadata and hashes remain.",
        )
    etag = f'"{version.blob_sha256}"'
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Content-Disposition": _content_disposition(version.original_filename, inline),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-transform",
    }
    if_range = request.headers.get("if-range")
    wanted = request.headers.get("range") if if_range in (None, etag) else None
    try:
        span = parse_range(wanted, version.size)
    except RangeNotSatisfiable:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{version.size}"})
    start, end = span if span else (0, version.size - 1)
    if start == 0:  # one audit event per download or playback, not per seek
        service.audit_read(session, actor, record, version.number)
    headers["Content-Length"] = str(end - start + 1)
    if span:
        headers["Content-Range"] = f"bytes {start}-{end}/{version.size}"
    body = blobs.get(session, store, version.blob_sha256, start, end - start + 1)
    session.commit()  # hold no read snapshot open for the length of a (perhaps 2 GB) stream
    if not span:
        # A whole-object download is hashed as it streams and its last chunk held back until the hash
        # is known: wrong bytes cut the connection before the end (the client sees a failed download,
        # never a complete body under the right ETag), and the blob is reported. A Range request cannot
        # be checked: its bytes are part of a whole nobody reads here (fixity checks it whole).
        body = _checked(state(request).sessions, body, version.blob_sha256, version.size, actor.id)
    return StreamingResponse(body, status_code=206 if span else 200, media_type=version.media_type, headers=headers)


def _checked(
    sessions: Callable[[], Session], body: Iterator[bytes], sha256: str, size: int, actor_id: int
) -> Iterator[bytes]:
    try:
        yield from blobs.verified(body, sha256, size)
    except blobs.BlobMismatch as mismatch:
        blobs.report(sessions, mismatch, "download", actor_id)
        # not a HosoError: no handler may try to answer a response already under way; the server
        # closes the connection mid-body
        raise DownloadCut(mismatch.en) from mismatch


class DownloadCut(Exception):
    """A download stopped before its last bytes because they did not hash to the blob's address."""


# The body is the version's own bytes under its own media type, whole or one `Range`.
_BYTES = file_body("application/octet-stream", "The bytes", ranged=True)


@router.get("/{record_id}/content", response_class=StreamingResponse, responses=_BYTES)
def download_current(
    record_id: str,
    request: Request,
    inline: bool = False,
    *,
    actor: CurrentUser,
    session: DbSession,
    store: StoreDep,
) -> Response:
    """The current version's bytes; honours `Range` for seeking and resuming."""
    return _download(request, session, store, actor, record_id, None, inline)


@router.get("/{record_id}/versions/{number}/content", response_class=StreamingResponse, responses=_BYTES)
def download_version(
    record_id: str,
    number: RowId,
    request: Request,
    inline: bool = False,
    *,
    actor: CurrentUser,
    session: DbSession,
    store: StoreDep,
) -> Response:
    return _download(request, session, store, actor, record_id, number, inline)


@router.get("/{record_id}/audit", response_model=list[AuditEventOut])
def record_audit(record_id: str, actor: CurrentUser, session: DbSession) -> list[AuditEvent]:
    return service.record_audit(session, service.get_record(session, actor, record_id))
