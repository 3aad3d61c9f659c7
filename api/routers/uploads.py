"""Resumable uploads over HTTP (tus 1.0 semantics): create, ask the offset, append chunks, done.

    POST   /uploads            {"metadata": {...}, "filename", "size"}  → 201 {"id", "offset": 0}
    HEAD   /uploads/{id}       Upload-Offset, Upload-Length headers (GET: the same as JSON)
    PATCH  /uploads/{id}       Upload-Offset: N, body = the next bytes → {"offset", "state", "record_id"}
                               (a PATCH to a finished upload answers with its record: a retry is safe);
                               `?submit=true` on the last chunk submits the record for approval in the
                               transaction that makes it (a refusal stores neither)
    DELETE /uploads/{id}       give up

A chunk is written to the upload's spool on the data disk as it arrives (never held in memory); a PATCH
at the wrong offset is a 409 carrying the right one, so a client that lost its connection asks
HEAD and carries on from there.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentUser, DbSession, HosoState
from archive import scans, uploads
from archive.exceptions import InvalidInput, UploadTooLarge
from archive.models import UploadState
from archive.schemas import UploadIn, UploadOut
from flows import intake

WRITE_BYTES = 1024 * 1024  # what a chunk's bytes gather to before they are written and hashed
router = APIRouter(prefix="/uploads", tags=["records"])
MAX_CHUNK = 64 * 1024 * 1024


@router.post("", status_code=201, response_model=UploadOut)
def create_upload(
    body: UploadIn, response: Response, person: CurrentUser, session: DbSession, app_state: HosoState
) -> UploadOut:
    """Start a resumable upload; metadata, rights and size are checked before any byte is sent."""
    upload = uploads.create(
        session, person, body.metadata, body.filename, body.size, app_state.settings.max_upload_bytes
    )
    response.headers["Location"] = f"/api/v1/uploads/{upload.id}"
    return uploads.out(upload)


@router.get("/{upload_id}", response_model=UploadOut)
def get_upload(upload_id: str, person: CurrentUser, session: DbSession) -> UploadOut:
    """Its offset and state; once done, its record and what TT 05/2025's check of a scan found (a client
    whose last chunk's answer was lost learns both here)."""
    upload = uploads.load(session, person, upload_id)
    answer = uploads.out(upload)
    if upload.record_id is not None:
        answer.scan_warnings = scans.warnings_out(session, upload.record_id, 1)
    return answer


@router.head(
    "/{upload_id}",
    response_class=Response,
    responses={
        200: {
            "description": "No body: the offset to send from and the whole size, as headers",
            "headers": {
                "Upload-Offset": {"schema": {"type": "integer"}},
                "Upload-Length": {"schema": {"type": "integer"}},
            },
        }
    },
)
def head_upload(upload_id: str, person: CurrentUser, session: DbSession) -> Response:
    upload = uploads.load(session, person, upload_id)
    return Response(headers={"Upload-Offset": str(upload.offset), "Upload-Length": str(upload.size)})


@router.patch("/{upload_id}", response_model=UploadOut)
async def append_upload(
    upload_id: str,
    request: Request,
    person: CurrentUser,
    session: DbSession,
    app_state: HosoState,
    submit: Annotated[bool, Query(description="On the last chunk: submit the record for approval too")] = False,
    period: Annotated[str | None, Query(description="The approval period (default: the record's own)")] = None,
) -> UploadOut:
    """Append the next bytes at `Upload-Offset`; the last chunk turns the upload into a record."""
    try:
        offset = int(request.headers.get("upload-offset", ""))
    except ValueError:
        raise InvalidInput("Thiếu tiêu đề Upload-Offset.", "The Upload-Offset header is missing.") from None
    settings = app_state.settings
    finished = await run_in_threadpool(uploads.load, session, person, upload_id)
    if finished.state == UploadState.done:  # the last chunk's answer was lost: the same record, never a second one
        return await run_in_threadpool(get_upload, upload_id, person, session)
    upload, path = await run_in_threadpool(uploads.begin_append, session, person, upload_id, offset, settings.tmp_dir)
    writer = await run_in_threadpool(uploads.ChunkWriter, path, upload.offset, upload.size)
    complete = False
    try:
        await _receive(request, writer)
        complete = True
    finally:
        # a chunk cut off mid-way is not acknowledged: the offset stays, the tail is cut next time
        await run_in_threadpool(writer.close, complete)
    then = intake.submitting(session, person, period) if submit else None
    upload = await run_in_threadpool(
        uploads.commit_append, session, app_state.store, person, upload_id, path, writer.start, writer.written, then
    )
    app_state.wake()
    answer = uploads.out(upload)
    if upload.record_id is not None:  # the last chunk: what TT 05/2025's check of a scan found
        answer.scan_warnings = await run_in_threadpool(scans.warnings_out, session, upload.record_id, 1)
    return answer


async def _receive(request: Request, writer: uploads.ChunkWriter) -> None:
    """The chunk's bytes into the spool as they arrive (straight into the upload's own spool: written
    once), gathered to a MiB per write: one thread hop a MiB, not one per 64 KiB read from the socket
    (bench/upload.py: 159 → 177–199 MB/s for a 1 GiB recording on the test machine)."""
    received, pending = 0, bytearray()
    async for part in request.stream():
        received += len(part)
        if received > MAX_CHUNK:
            raise UploadTooLarge("Mỗi lần gửi tối đa 64 MB.", "A chunk is at most 64 MiB.")
        pending += part
        if len(pending) >= WRITE_BYTES:
            await run_in_threadpool(writer.write, bytes(pending))
            pending.clear()
    if pending:
        await run_in_threadpool(writer.write, bytes(pending))


@router.delete("/{upload_id}", status_code=204)
def cancel_upload(upload_id: str, person: CurrentUser, session: DbSession, app_state: HosoState) -> None:
    uploads.cancel(session, app_state.settings.tmp_dir, person, upload_id)
