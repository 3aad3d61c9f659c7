"""Resumable uploads over HTTP (tus 1.0 semantics): create, ask the offset, append chunks, done.

    POST   /uploads            {"metadata": {...}, "filename", "size"}  → 201 {"id", "offset": 0}
    HEAD   /uploads/{id}       Upload-Offset, Upload-Length headers (GET: the same as JSON)
    PATCH  /uploads/{id}       Upload-Offset: N, body = the next bytes → {"offset", "state", "record_id"}
                               (a PATCH to a finished upload answers with its record: a retry is safe)
    DELETE /uploads/{id}       give up

A chunk is written to the upload's spool on the data disk as it arrives (never held in memory); a PATCH
at the wrong offset is a 409 carrying the right one, so a client that lost its connection asks
HEAD and carries on from there.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import AppState, current_user, get_session, state
from archive import uploads
from archive.exceptions import InvalidInput, UploadTooLarge
from archive.models import Person, UploadSession
from archive.schemas import RecordCreate

router = APIRouter(prefix="/uploads", tags=["records"])
MAX_CHUNK = 64 * 1024 * 1024


class UploadIn(BaseModel):
    metadata: RecordCreate
    filename: str = Field(min_length=1, max_length=255)
    size: int = Field(gt=0)


def upload_out(upload: UploadSession) -> dict[str, Any]:
    return {
        "id": upload.id,
        "filename": upload.filename,
        "size": upload.size,
        "offset": upload.offset,
        "state": upload.state,
        "record_id": upload.record_id,
        "expires_at": upload.expires_at,
        "url": f"/api/v1/uploads/{upload.id}",
    }


@router.post("", status_code=201)
def create_upload(
    body: UploadIn,
    response: Response,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> dict[str, Any]:
    """Start a resumable upload; metadata, rights and size are checked before any byte is sent."""
    upload = uploads.create(
        session, person, body.metadata, body.filename, body.size, app_state.settings.max_upload_bytes
    )
    response.headers["Location"] = f"/api/v1/uploads/{upload.id}"
    return upload_out(upload)


@router.get("/{upload_id}")
def get_upload(
    upload_id: str, person: Person = Depends(current_user), session: Session = Depends(get_session)
) -> dict[str, Any]:
    return upload_out(uploads.load(session, person, upload_id))


@router.head("/{upload_id}")
def head_upload(
    upload_id: str, person: Person = Depends(current_user), session: Session = Depends(get_session)
) -> Response:
    upload = uploads.load(session, person, upload_id)
    return Response(headers={"Upload-Offset": str(upload.offset), "Upload-Length": str(upload.size)})


@router.patch("/{upload_id}")
async def append_upload(
    upload_id: str,
    request: Request,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> dict[str, Any]:
    """Append the next bytes at `Upload-Offset`; the last chunk turns the upload into a record."""
    try:
        offset = int(request.headers.get("upload-offset", ""))
    except ValueError:
        raise InvalidInput("Thiếu tiêu đề Upload-Offset.", "The Upload-Offset header is missing.") from None
    settings = app_state.settings
    finished = await run_in_threadpool(uploads.load, session, person, upload_id)
    if finished.state == "done":  # the last chunk's answer was lost: the same record, never a second one
        return upload_out(finished)
    upload, path = await run_in_threadpool(uploads.begin_append, session, person, upload_id, offset, settings.tmp_dir)
    writer = await run_in_threadpool(uploads.ChunkWriter, path, upload.offset, upload.size)
    received, complete = 0, False
    try:
        async for part in request.stream():  # straight into the upload's own spool: written once
            received += len(part)
            if received > MAX_CHUNK:
                raise UploadTooLarge("Mỗi lần gửi tối đa 64 MB.", "A chunk is at most 64 MiB.")
            await run_in_threadpool(writer.write, part)
        complete = True
    finally:
        # a chunk cut off mid-way is not acknowledged: the offset stays, the tail is cut next time
        await run_in_threadpool(writer.close, complete)
    upload = await run_in_threadpool(
        uploads.commit_append, session, app_state.store, person, upload_id, path, writer.start, writer.written
    )
    app_state.wake()
    return upload_out(upload)


@router.delete("/{upload_id}", status_code=204)
def cancel_upload(
    upload_id: str,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> None:
    uploads.cancel(session, app_state.settings.tmp_dir, person, upload_id)
