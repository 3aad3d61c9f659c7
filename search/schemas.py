"""What the search and evidence routes take and answer: a search's hits and facet counts, and the
evidence packages built from a selection or a saved search (`/openapi.json` documents each body)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from archive.schemas import IsoTime, RequiredText


class SearchHit(BaseModel):
    """One record found, hydrated from the database (what the index held may be older)."""

    id: str
    title: str
    snippet: str
    score: float
    record_type: str
    record_type_name: str
    school_code: str
    school_name: str
    school_year: str
    month: int | None
    subject: str | None
    grade: int | None
    class_name: str | None
    teacher: str = Field(description="The author's username")
    teacher_name: str
    status: str
    current_version: int
    url: str


class SearchResult(BaseModel):
    query: str
    total: int = Field(description="Every match the caller may see, not only this page")
    page: int
    page_size: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = Field(description="Per facet, each value's count among the matches")


class SavedSearch(BaseModel):
    q: str = Field(default="", max_length=500)
    filters: dict[str, list[str]] = Field(default_factory=dict)


class EvidenceIn(BaseModel):
    title: RequiredText = Field(min_length=1, max_length=300, description="E.g. 'Thanh tra KHBD tháng 11/2026 — THA'")
    record_ids: list[str] = Field(default_factory=list, max_length=20000)
    search: SavedSearch | None = Field(default=None, description="Or: every record a search finds (in your scope)")


class EvidenceOut(BaseModel):
    """An evidence package as its requester follows it: queued → building → ready (or failed)."""

    id: str
    title: str
    state: str = Field(description="queued | building | ready | failed")
    records: int
    estimated_bytes: int
    size: int | None
    sha256: str | None
    files: int | None
    decision_numbers: list[str]
    error: str | None
    created_at: IsoTime
    finished_at: IsoTime | None
    download_url: str | None = Field(description="Set once the package is ready")
