"""Asking for an evidence package, following it and taking it: the rules the API and the pages share.

A flow: a request joins the kernel's access rules and grants, the search engine (a saved search
becomes its records) and signing's detached signatures (counted in the size estimate). Every record
must be readable by the requester, exactly as for a single read (an inspector's reads audited), and
an oversized selection is refused before anything is built; the worker builds the package
(`flows.evidence.package`).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import audit, grants, jobs, service
from archive.db import write_transaction
from archive.exceptions import Forbidden, InvalidInput, NotFound
from archive.models import Blob, Person, Version
from flows import search as scoped_search
from flows.evidence.package import EXPORT_JOB
from flows.state import AppState
from search import query as search_query
from search.documents import FACETS
from search.models import EvidenceExport, ExportState
from search.schemas import EvidenceIn, EvidenceOut, SavedSearch
from signing.models import Signature


def export_out(export: EvidenceExport) -> EvidenceOut:
    return EvidenceOut(
        id=export.id,
        title=export.title,
        state=export.state,
        records=len(export.record_ids),
        estimated_bytes=export.estimated_bytes,
        size=export.size,
        sha256=export.sha256,
        files=export.files,
        decision_numbers=export.decision_numbers,
        error=export.error,
        created_at=export.created_at,
        finished_at=export.finished_at,
        download_url=f"/api/v1/evidence/{export.id}/download" if export.state == ExportState.ready else None,
    )


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


def _selection(session: Session, person: Person, app_state: AppState, body: EvidenceIn) -> list[str]:
    """The records asked for (chosen, and what the saved search finds), each checked readable."""
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
    return ids


def _estimate(session: Session, ids: list[str], max_bytes: int) -> int:
    """Every version's bytes and every detached signature's, refused over `max_bytes`."""
    versions = select(func.coalesce(func.sum(Version.size), 0)).where(Version.record_id.in_(ids))
    detached = (
        select(func.coalesce(func.sum(Blob.size), 0))
        .select_from(Signature)
        .join(Blob, Blob.sha256 == Signature.detached_sha256)
        .where(Signature.record_id.in_(ids))
    )
    estimated = int(session.scalar(versions) or 0) + int(session.scalar(detached) or 0)
    if estimated > max_bytes:
        raise InvalidInput(
            f"Gói chứng cứ sẽ quá lớn ({estimated / 1024**3:.1f} GiB; tối đa "
            f"{max_bytes / 1024**3:.1f} GiB); hãy chia thành nhiều gói.",
            f"The package would be too large ({estimated} bytes; at most {max_bytes}); split it.",
            estimated_bytes=estimated,
        )
    return estimated


def request(session: Session, person: Person, app_state: AppState, body: EvidenceIn) -> EvidenceOut:
    """Queue a sealed evidence package of the chosen records (or of a search) and wake the worker."""
    ids = _selection(session, person, app_state, body)
    estimated = _estimate(session, ids, app_state.settings.evidence_max_bytes)
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


def mine(session: Session, person: Person, export_id: str) -> EvidenceExport:
    """One of the person's own packages (another's is as unknown as a missing one)."""
    export = session.get(EvidenceExport, export_id)
    if export is None or export.requested_by_id != person.id:
        raise NotFound("Không có gói chứng cứ này.", "No such evidence package.")
    return export


def list_mine(session: Session, person: Person) -> list[EvidenceOut]:
    """The person's packages, newest first."""
    rows = select(EvidenceExport).where(EvidenceExport.requested_by_id == person.id)
    return [export_out(e) for e in session.scalars(rows.order_by(EvidenceExport.created_at.desc()))]


def downloadable(session: Session, person: Person, export_id: str) -> EvidenceExport:
    """The person's ready package; an inspector's only while every grant it was built under is active."""
    export = mine(session, person, export_id)
    if export.state != ExportState.ready or not export.store_key or export.size is None:
        raise InvalidInput("Gói chứng cứ chưa sẵn sàng.", "The evidence package is not ready yet.", state=export.state)
    if grants.is_inspector(person):
        active = {c.grant_id for c in grants.clauses(session, person)}
        if not set(export.grant_ids) <= active or not export.grant_ids:
            raise Forbidden(*grants.OUTSIDE)
    return export


def record_download(session: Session, person: Person, export: EvidenceExport) -> None:
    """The audit event of a download (once per download, not per resumed range)."""
    with write_transaction(session):
        audit.append(
            session,
            actor=person,
            action="evidence.downloaded",
            object_type="evidence_export",
            object_id=export.id,
            details={"sha256": export.sha256, "decision_numbers": export.decision_numbers},
        )
