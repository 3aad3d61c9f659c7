"""A PDF version's pages as PNG images: the viewer beside the principal's queue and the thumbnails.

Access is a download's (`service.get_record`: the reader's school, or an inspector's grant; a
destroyed record is gone), and the first page of each look is audited as a view, like one audit
event per download and not per seek. A thumbnail (at most THUMB_WIDTH wide, as in the queue and
in search results) is no look and is not audited: a search page would otherwise write one view per
hit — 20 serialised writes, and an inspector's record of "viewed" for records they only saw listed
(the search itself is audited, with what it found). The bounds and the reason for images rather than the
browser's PDF viewer are in archive/preview.py. The answer is private, kept an hour by the browser
and then revalidated by its ETag (a 304 re-checks access but renders nothing): a version's bytes
never change, but a reader's access may end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from fastapi import APIRouter, Request, Response

from api.deps import CurrentUser, DbSession, StoreDep, state
from api.routers import file_body
from archive import blobs, preview, preview_copies, service
from archive.exceptions import Gone
from archive.models import Person, Record, RecordStatus, Version
from archive.schemas import PagesOut, RowId
from archive.storage import ObjectStore

router = APIRouter(prefix="/records", tags=["records"])
DEFAULT_WIDTH = 900
THUMB_WIDTH = 200  # at most this wide, a page image is a thumbnail, not a look at the document
CACHE = "private, max-age=3600, no-transform"
T = TypeVar("T")


def _pdf_version(
    session: DbSession, actor: Person, record_id: str, number: int, audited: bool = True
) -> tuple[Record, Version]:
    record = service.get_record(session, actor, record_id, audited)
    version = service.get_version(session, record, number)
    if record.status == RecordStatus.destroyed.value:
        raise Gone(
            "Tài liệu đã được hủy theo quyết định hủy tài liệu hết giá trị; chỉ còn siêu dữ liệu và mã băm.",
            "The record was destroyed by a destruction decision; only its metadata and hashes remain.",
        )
    return record, version


def _read(request: Request, session: DbSession, store: ObjectStore, version: Version, actor: Person) -> Path:
    """The verified local copy of the version's bytes (archive/preview_copies.py), fetched and hashed
    the first time; a mismatch is reported as a download's is, and nothing is kept."""

    def fetch() -> Iterator[bytes]:
        try:
            yield from blobs.read_verified(session, store, version.blob_sha256)
        except blobs.BlobMismatch as mismatch:
            blobs.report(state(request).sessions, mismatch, "preview", actor.id)
            raise

    return preview_copies.copy_of(state(request).settings.tmp_dir, version.blob_sha256, fetch)


def _with_copy(
    request: Request, session: DbSession, store: ObjectStore, version: Version, actor: Person, use: Callable[[Path], T]
) -> T:
    """`use` on the local copy; one that another process evicted between lookup and use is fetched again."""
    try:
        return use(_read(request, session, store, version, actor))
    except FileNotFoundError:
        return use(_read(request, session, store, version, actor))


@router.get("/{record_id}/versions/{number}/pages", response_model=PagesOut)
def page_count(
    record_id: str, number: RowId, request: Request, *, actor: CurrentUser, session: DbSession, store: StoreDep
) -> PagesOut:
    """How many pages the viewer shows for this PDF version (415 when it is not a PDF)."""
    _record, version = _pdf_version(session, actor, record_id, number)
    preview.check_request(version, 1, DEFAULT_WIDTH)
    pages = _with_copy(request, session, store, version, actor, preview.page_count)
    session.commit()
    return PagesOut(record_id=record_id, version=number, pages=pages)


@router.get(
    "/{record_id}/versions/{number}/pages/{page}.png",
    response_class=Response,
    responses={**file_body("image/png", "The page as a PNG image"), 304: {"description": "Not modified"}},
)
def page_image(
    record_id: str,
    number: RowId,
    page: int,
    request: Request,
    width: int = DEFAULT_WIDTH,
    *,
    actor: CurrentUser,
    session: DbSession,
    store: StoreDep,
) -> Response:
    """Page `page` (from 1) of a PDF version, `width` px wide (32–1600), as PNG."""
    thumbnail = width <= THUMB_WIDTH
    record, version = _pdf_version(session, actor, record_id, number, audited=not thumbnail)
    preview.check_request(version, page, width)
    etag = f'"{version.blob_sha256}-p{page}-w{width}"'
    headers = {"ETag": etag, "Cache-Control": CACHE, "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    png, _count = _with_copy(
        request, session, store, version, actor, lambda copy: preview.render_png(copy, page, width)
    )
    if not thumbnail:
        _audited(session, actor, record, version.number, page)
    session.commit()
    return Response(png, media_type="image/png", headers=headers)


def _audited(session: DbSession, actor: Person, record: Record, number: int, page: int) -> None:
    if page == 1:  # one audit event per look at a version, not per page turned
        service.audit_read(session, actor, record, number, preview=True)
    session.commit()
