"""A search request as both engines take it, checked before any engine sees it.

The box takes plain words (any accents, any case) and "quoted phrases"; there is no operator
syntax to get wrong, so a query never fails to parse, and a long paste is refused with a message
rather than run. Every word must match (inspectors narrow down; they do not want "any of").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from archive.schemas import check_school_year
from search import analyzer
from search.documents import FACETS
from search.exceptions import BadQuery

MAX_CHARS = 500
MAX_WORDS = 32
MAX_PAGE_SIZE = 100
MAX_OFFSET = 10_000
PHRASE = re.compile(r'"([^"]*)"')

# A scope is a list of clauses; a record is visible when it satisfies any clause, and a clause
# when each of its fields has one of the listed values. None means no restriction.
Scope = list[dict[str, list[str]]] | None


@dataclass(frozen=True)
class Terms:
    """The parsed text: single words and phrases, each as (exact, folded)."""

    words: list[tuple[str, str]]
    phrases: list[list[tuple[str, str]]]

    @property
    def empty(self) -> bool:
        return not self.words and not self.phrases


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    scope: Scope = None
    page: int = 1
    page_size: int = 20
    facets: bool = True

    def terms(self) -> Terms:
        text = analyzer.normalize(self.text)
        phrases = []
        for quoted in PHRASE.findall(text):
            exact = analyzer.words(quoted)
            if len(exact) > 1:
                phrases.append([(w, analyzer.fold(w)) for w in exact])
            elif exact:  # a quoted single word is just a word
                text += " " + exact[0]
        rest = PHRASE.sub(" ", text)
        seen: dict[str, str] = {}
        for w in analyzer.words(rest):
            seen.setdefault(w, analyzer.fold(w))
        return Terms(words=list(seen.items()), phrases=phrases)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    title: str
    snippet: str  # HTML: the matched words in <b>, everything else escaped


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]


def checked(query: SearchQuery) -> SearchQuery:
    """Refuse what cannot be run, in words a person understands."""
    if len(query.text) > MAX_CHARS:
        raise BadQuery(
            f"Câu tìm kiếm quá dài (tối đa {MAX_CHARS} ký tự).", f"The query is too long (at most {MAX_CHARS} chars)."
        )
    terms = query.terms()
    count = len(terms.words) + sum(len(p) for p in terms.phrases)
    if count > MAX_WORDS:
        raise BadQuery(
            f"Câu tìm kiếm có quá nhiều từ (tối đa {MAX_WORDS}).",
            f"The query has too many words (at most {MAX_WORDS}).",
        )
    unknown = [name for name in query.filters if name not in FACETS]
    if unknown:
        raise BadQuery(
            f"Không lọc được theo {', '.join(unknown)}; chỉ theo: {', '.join(FACETS)}.",
            f"Cannot filter by {', '.join(unknown)}; only by: {', '.join(FACETS)}.",
        )
    for year in query.filters.get("school_year") or []:
        try:
            check_school_year(year)
        except ValueError as exc:
            vi, _, en = str(exc).partition(" / ")
            raise BadQuery(f"Lọc theo năm học: {vi}", f"School year filter: {en}") from None
    if query.page < 1 or not 1 <= query.page_size <= MAX_PAGE_SIZE:
        raise BadQuery(
            f"Trang phải từ 1, mỗi trang 1–{MAX_PAGE_SIZE} kết quả.", f"page ≥ 1 and page_size 1–{MAX_PAGE_SIZE}."
        )
    if query.offset + query.page_size > MAX_OFFSET:
        raise BadQuery(
            "Chỉ xem được 10.000 kết quả đầu; hãy thu hẹp tìm kiếm.",
            "Only the first 10,000 results can be paged; narrow the search.",
        )
    return query
