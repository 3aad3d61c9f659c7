"""Evidence packages: an inspector (or the school) selects records, a job builds the sealed package."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from api.deps import CurrentUser, DbSession, HosoState
from api.ranges import RangeNotSatisfiable, parse_range
from api.routers import file_body
from flows.evidence import exports
from search.schemas import EvidenceIn, EvidenceOut

router = APIRouter(prefix="/evidence", tags=["evidence"])


@router.post("", status_code=202, response_model=EvidenceOut)
def request_evidence(body: EvidenceIn, person: CurrentUser, session: DbSession, app_state: HosoState) -> EvidenceOut:
    """Queue a sealed evidence package of the chosen records (or of a search); poll GET /evidence/{id}.

    Every record must be readable by you (an inspector: within an active grant). An empty selection
    or one over `HOSO_EVIDENCE_MAX_RECORDS` / `HOSO_EVIDENCE_MAX_BYTES` is refused before anything
    is built.
    """
    return exports.request(session, person, app_state, body)


@router.get("", response_model=list[EvidenceOut])
def list_evidence(person: CurrentUser, session: DbSession) -> list[EvidenceOut]:
    return exports.list_mine(session, person)


@router.get("/{export_id}", response_model=EvidenceOut)
def get_evidence(export_id: str, person: CurrentUser, session: DbSession) -> EvidenceOut:
    return exports.export_out(exports.mine(session, person, export_id))


_ZIP = file_body("application/zip", "The sealed ZIP", ranged=True)


@router.get("/{export_id}/download", response_class=StreamingResponse, responses=_ZIP)
def download_evidence(
    export_id: str, request: Request, person: CurrentUser, session: DbSession, app_state: HosoState
) -> Response:
    """The sealed ZIP, streamed (`Range` resumes a cut download). An inspector's grant must still be active."""
    export = exports.downloadable(session, person, export_id)
    assert export.size is not None and export.store_key is not None  # downloadable() checked both
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": f'"{export.sha256}"',
        "Content-Disposition": f'attachment; filename="hoso-evidence-{export.id}.zip"',
        "X-Content-SHA256": export.sha256 or "",
    }
    try:
        span = parse_range(request.headers.get("range"), export.size)
    except RangeNotSatisfiable:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{export.size}"})
    start, end = span if span else (0, export.size - 1)
    if start == 0:
        exports.record_download(session, person, export)
    headers["Content-Length"] = str(end - start + 1)
    if span:
        headers["Content-Range"] = f"bytes {start}-{end}/{export.size}"
    body = app_state.store.get(export.store_key, start, end - start + 1)
    return StreamingResponse(body, status_code=206 if span else 200, media_type="application/zip", headers=headers)
