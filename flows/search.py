"""Search over what a person may see: their schools, plus an inspector's active grants, each search
by an inspector on the audit record, and hits hydrated from the database (a record destroyed since it
was indexed is left out). Needs the kernel's access rules and the search engine: a flow."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import access, audit, grants
from archive.db import write_transaction
from archive.models import Person, Record, School
from search import query as search_query
from search.engine import SearchEngine
from search.schemas import SearchHit, SearchResult


def scope_of(session: Session, person: Person) -> tuple[search_query.Scope, list[grants.Clause]]:
    """The schools whose records this person reads, and an inspector's active grants (an admin alone: none)."""
    scope: list[dict[str, list[str]]] = []
    ids = access.readable_school_ids(person)
    if ids:
        scope.append({"school_code": list(session.scalars(select(School.code).where(School.id.in_(ids))))})
    active = grants.clauses(session, person)
    scope.extend(c.as_scope() for c in active)
    return scope, active


def run(
    session: Session,
    engine: SearchEngine,
    person: Person,
    q: str,
    filters: dict[str, list[str]],
    page: int,
    page_size: int,
) -> SearchResult:
    """Every word must match; facet counts and the total cover only records the caller may see."""
    scope, active = scope_of(session, person)
    session.commit()
    wanted = search_query.checked(
        search_query.SearchQuery(text=q, filters=filters, scope=scope, page=page, page_size=page_size)
    )
    found = engine.search(wanted)
    if grants.is_inspector(person):  # every search by an inspector is on the record
        with write_transaction(session):
            audit.append(
                session,
                actor=person,
                action="inspector.searched",
                object_type="search",
                object_id="-",
                details={
                    "q": q[:500],
                    "filters": filters,
                    "total": found.total,
                    "grants": [c.grant_id for c in active],
                    "decision_numbers": [c.decision_number for c in active],
                },
            )
    rows = {r.id: r for r in session.scalars(select(Record).where(Record.id.in_([h.id for h in found.hits])))}
    readable = access.readable_school_ids(person)
    hits = []
    for hit in found.hits:
        record = rows.get(hit.id)
        if record is None or not (record.school_id in readable or any(c.covers(record) for c in active)):
            continue  # destroyed since it was indexed, or (never expected) outside the scope
        hits.append(
            SearchHit(
                id=record.id,
                title=record.title,
                snippet=hit.snippet,
                score=round(hit.score, 4),
                record_type=record.record_type.code,
                record_type_name=record.record_type.name_vi,
                school_code=record.school.code,
                school_name=record.school.name,
                school_year=record.school_year,
                month=record.month,
                subject=record.subject,
                grade=record.grade,
                class_name=record.class_name,
                teacher=record.author.username,
                teacher_name=record.author.full_name,
                status=record.status,
                current_version=record.current_version,
                url=f"/api/v1/records/{record.id}",
            )
        )
    return SearchResult(query=q, total=found.total, page=page, page_size=page_size, hits=hits, facets=found.facets)
