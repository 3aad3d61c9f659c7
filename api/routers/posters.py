"""A recording's poster (a still frame, made in the background by flows/renditions/recording.py).

The queue, search hits and the player show it like a PDF's first-page thumbnail (api/routers/previews.py):
access is a download's (`service.get_record`: the reader's school, or an inspector's grant), but a
poster is no look at the lesson and is not audited — a search page would otherwise write one
"viewed" per hit. Only a poster rendition is served here, never another version's bytes; the
answer is private, kept an hour by the browser and revalidated by its ETag.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from api.deps import CurrentUser, DbSession, StoreDep, state
from api.routers import file_body
from archive import blobs, mediatype, service
from archive.exceptions import Gone, NotFound
from archive.models import RecordStatus, Rendition, RenditionTarget
from archive.schemas import RowId

router = APIRouter(prefix="/records", tags=["records"])
CACHE = "private, max-age=3600, no-transform"


@router.get(
    "/{record_id}/versions/{number}/poster.jpg",
    response_class=Response,
    responses={**file_body(mediatype.JPEG, "The poster as a JPEG image"), 304: {"description": "Not modified"}},
)
def poster(
    record_id: str, number: RowId, request: Request, *, actor: CurrentUser, session: DbSession, store: StoreDep
) -> Response:
    """The poster version `number` of a recording (404 when that version is no poster)."""
    record = service.get_record(session, actor, record_id, False)
    if record.status == RecordStatus.destroyed.value:
        raise Gone(
            "Tài liệu đã được hủy theo quyết định hủy tài liệu hết giá trị; chỉ còn siêu dữ liệu và mã băm.",
            "The record was destroyed by a destruction decision; only its metadata and hashes remain.",
        )
    made = session.scalar(
        select(Rendition.id).where(
            Rendition.record_id == record.id,
            Rendition.version_number == number,
            Rendition.target == RenditionTarget.poster.value,
        )
    )
    if made is None:
        raise NotFound("Phiên bản này không phải ảnh đại diện của video.", "This version is not a recording's poster.")
    version = service.get_version(session, record, number)
    etag = f'"{version.blob_sha256}"'
    headers = {"ETag": etag, "Cache-Control": CACHE, "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        session.commit()
        return Response(status_code=304, headers=headers)
    try:
        jpeg = b"".join(blobs.read_verified(session, store, version.blob_sha256))  # ~30 KB, made by hoso
    except blobs.BlobMismatch as mismatch:
        blobs.report(state(request).sessions, mismatch, "poster", actor.id)
        raise
    session.commit()
    return Response(jpeg, media_type=mediatype.JPEG, headers=headers)
