"""Search over what the caller may see: one box (accents optional), filters, facets, snippets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentUser, DbSession, HosoState
from flows import search as scoped_search
from search.documents import FACETS
from search.schemas import SearchResult

router = APIRouter(tags=["search"])


@router.get("/search", response_model=SearchResult)
def search(
    q: Annotated[str, Query(max_length=2000, description='Words, accents optional; "quoted phrase"')] = "",
    school_code: Annotated[list[str] | None, Query()] = None,
    record_type: Annotated[list[str] | None, Query()] = None,
    school_year: Annotated[list[str] | None, Query()] = None,
    month: Annotated[list[str] | None, Query()] = None,
    subject: Annotated[list[str] | None, Query()] = None,
    grade: Annotated[list[str] | None, Query()] = None,
    class_name: Annotated[list[str] | None, Query()] = None,
    teacher: Annotated[list[str] | None, Query(description="username")] = None,
    status: Annotated[list[str] | None, Query()] = None,
    signed: Annotated[list[str] | None, Query(description="yes or no")] = None,
    retention: Annotated[list[str] | None, Query()] = None,
    media: Annotated[list[str] | None, Query(description="document, sheet or video")] = None,
    page: int = 1,
    page_size: int = 20,
    *,
    person: CurrentUser,
    session: DbSession,
    app_state: HosoState,
) -> SearchResult:
    """Every word must match (in the title, the text or the metadata); exact diacritics rank first.

    Facet counts and the total cover only records the caller may see.
    """
    asked = {
        "school_code": school_code,
        "record_type": record_type,
        "school_year": school_year,
        "month": month,
        "subject": subject,
        "grade": grade,
        "class_name": class_name,
        "teacher": teacher,
        "status": status,
        "signed": signed,
        "retention": retention,
        "media": media,
    }
    assert set(asked) == set(FACETS)
    filters = {name: values for name, values in asked.items() if values}
    return scoped_search.run(session, app_state.search, person, q, filters, page, page_size)
