"""Evidence packages: an inspector (or the school) selects records, a job builds the sealed package."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import AppState, current_user, get_session, state
from api.ranges import RangeNotSatisfiable, parse_range
from archive import audit, grants, jobs, service
from archive.db import write_transaction
from archive.exceptions import Forbidden, InvalidInput, NotFound
from archive.models import Blob, Person, Version
from archive.schemas import RequiredText
from flows import search as scoped_search
from flows.evidence.package import EXPORT_JOB
from search import query as search_query
from search.documents import FACETS
from search.models import EvidenceExport
from signing.models import Signature

router = APIRouter(prefix="/evidence", tags=["evidence"])


class SavedSearch(BaseModel):
    q: str = Field(default="", max_length=500)
    filters: dict[str, list[str]] = Field(default_factory=dict)


class EvidenceIn(BaseModel):
    title: RequiredText = Field(min_length=1, max_length=300, description="E.g. 'Thanh tra KHBD tháng 11/2026 — THA'")
    record_ids: list[str] = Field(default_factory=list, max_length=20000)
    search: SavedSearch | None = Field(default=None, description="Or: every record a search finds (in your scope)")


def export_out(export: EvidenceExport) -> dict[str, Any]:
    return {
        "id": export.id,
        "title": export.title,
        "state": export.state,
        "records": len(export.record_ids),
        "estimated_bytes": export.estimated_bytes,
        "size": export.size,
        "sha256": export.sha256,
        "files": export.files,
        "decision_numbers": export.decision_numbers,
        "error": export.error,
        "created_at": export.created_at,
        "finished_at": export.finished_at,
        "download_url": f"/api/v1/evidence/{export.id}/download" if export.state == "ready" else None,
    }


def _from_search(session: Session, person: Person, app_state: AppState, saved: SavedSearch, limit: int) -> list[str]:
    unknown = [k for k in saved.filters if k not in FACETS]
    if unknown:
        raise InvalidInput(f"Không lọc được theo {', '.join(unknown)}.", f"Cannot filter by {', '.join(unknown)}.")
    scope, _active = scoped_search.scope_of(session, person)
    session.commit()
    ids: list[str] = []
    page = 1
    while len(ids) <= limit:
        q = search_query.checked(
            search_query.SearchQuery(
                text=saved.q, filters=saved.filters, scope=scope, page=page, page_size=100, facets=False
            )
        )
        found = app_state.search.search(q)
        ids.extend(h.id for h in found.hits)
        if len(found.hits) < 100 or page * 100 >= search_query.MAX_OFFSET:
            break
        page += 1
    return ids


@router.post("", status_code=202)
def request_evidence(
    body: EvidenceIn,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> dict[str, Any]:
    """Queue a sealed evidence package of the chosen records (or of a search); poll GET /evidence/{id}.

    Every record must be readable by you (an inspector: within an active grant). An empty selection
    or one over `HOSO_EVIDENCE_MAX_RECORDS` / `HOSO_EVIDENCE_MAX_BYTES` is refused before anything
    is built.
    """
    settings = app_state.settings
    ids = list(dict.fromkeys(body.record_ids))
    if body.search is not None:
        found = _from_search(session, person, app_state, body.search, settings.evidence_max_records)
        ids = list(dict.fromkeys(ids + found))
    if not ids:
        raise InvalidInput(
            "Gói chứng cứ cần ít nhất một hồ sơ (lựa chọn hoặc tìm kiếm không có kết quả).",
            "An evidence package needs at least one record (the selection or search found none).",
        )
    if len(ids) > settings.evidence_max_records:
        raise InvalidInput(
            f"Một gói chứng cứ tối đa {settings.evidence_max_records} hồ sơ; hãy thu hẹp lựa chọn.",
            f"An evidence package holds at most {settings.evidence_max_records} records; narrow the selection.",
            records=len(ids),
        )
    for record_id in ids:
        service.get_record(session, person, record_id)  # 403/404 as for a single read; inspectors audited
    versions = select(func.coalesce(func.sum(Version.size), 0)).where(Version.record_id.in_(ids))
    detached = (
        select(func.coalesce(func.sum(Blob.size), 0))
        .select_from(Signature)
        .join(Blob, Blob.sha256 == Signature.detached_sha256)
        .where(Signature.record_id.in_(ids))
    )
    estimated = int(session.scalar(versions) or 0) + int(session.scalar(detached) or 0)
    if estimated > settings.evidence_max_bytes:
        raise InvalidInput(
            f"Gói chứng cứ sẽ quá lớn ({estimated / 1024**3:.1f} GiB; tối đa "
            f"{settings.evidence_max_bytes / 1024**3:.1f} GiB); hãy chia thành nhiều gói.",
            f"The package would be too large ({estimated} bytes; at most {settings.evidence_max_bytes}); split it.",
            estimated_bytes=estimated,
        )
    active = grants.clauses(session, person)
    with write_transaction(session):
        export = EvidenceExport(
            requested_by_id=person.id,
            title=body.title,
            record_ids=ids,
            query=body.search.model_dump() if body.search else None,
            grant_ids=[c.grant_id for c in active],
            decision_numbers=sorted({c.decision_number for c in active}),
            estimated_bytes=estimated,
        )
        session.add(export)
        session.flush()
        jobs.enqueue(session, EXPORT_JOB, {"export_id": export.id}, max_attempts=3)
        audit.append(
            session,
            actor=person,
            action="evidence.requested",
            object_type="evidence_export",
            object_id=export.id,
            details={"title": body.title, "records": len(ids), "decision_numbers": export.decision_numbers},
        )
    app_state.wake()
    return export_out(export)


def _mine(session: Session, person: Person, export_id: str) -> EvidenceExport:
    export = session.get(EvidenceExport, export_id)
    if export is None or export.requested_by_id != person.id:
        raise NotFound("Không có gói chứng cứ này.", "No such evidence package.")
    return export


@router.get("")
def list_evidence(person: Person = Depends(current_user), session: Session = Depends(get_session)) -> list[dict]:  # type: ignore[type-arg]
    mine = select(EvidenceExport).where(EvidenceExport.requested_by_id == person.id)
    rows = session.scalars(mine.order_by(EvidenceExport.created_at.desc()))
    return [export_out(e) for e in rows]


@router.get("/{export_id}")
def get_evidence(
    export_id: str, person: Person = Depends(current_user), session: Session = Depends(get_session)
) -> dict[str, Any]:
    return export_out(_mine(session, person, export_id))


@router.get("/{export_id}/download", response_class=StreamingResponse)
def download_evidence(
    export_id: str,
    request: Request,
    person: Person = Depends(current_user),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> Response:
    """The sealed ZIP, streamed (`Range` resumes a cut download). An inspector's grant must still be active."""
    export = _mine(session, person, export_id)
    if export.state != "ready" or not export.store_key or export.size is None:
        raise InvalidInput("Gói chứng cứ chưa sẵn sàng.", "The evidence package is not ready yet.", state=export.state)
    if grants.is_inspector(person):
        active = {c.grant_id for c in grants.clauses(session, person)}
        if not set(export.grant_ids) <= active or not export.grant_ids:
            raise Forbidden(*grants.OUTSIDE)
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
        with write_transaction(session):
            audit.append(
                session,
                actor=person,
                action="evidence.downloaded",
                object_type="evidence_export",
                object_id=export.id,
                details={"sha256": export.sha256, "decision_numbers": export.decision_numbers},
            )
    headers["Content-Length"] = str(end - start + 1)
    if span:
        headers["Content-Range"] = f"bytes {start}-{end}/{export.size}"
    body = app_state.store.get(export.store_key, start, end - start + 1)
    return StreamingResponse(body, status_code=206 if span else 200, media_type="application/zip", headers=headers)
