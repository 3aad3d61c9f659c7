"""The pure-Python fallback engine: Whoosh 2.7, the design card's engine, with the same analyzers.

Slower by two orders of magnitude than tantivy (DESIGN §9), but it needs nothing compiled. The
analyzers reproduce `search.analyzer`: words are `[^\\W_]+` runs, lowercased; the folded field
strips marks and maps đ→d. Facets are Whoosh's grouping over sortable keyword columns.
"""

from __future__ import annotations

import html
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from whoosh import fields, index, query, sorting
from whoosh.analysis import Filter, LowercaseFilter, RegexTokenizer
from whoosh.highlight import ContextFragmenter, HtmlFormatter, get_text
from whoosh.index import LockError

from search import analyzer
from search.documents import BOOSTS, EXACT_BOOST, FACETS, TEXT_GROUPS, IndexDoc
from search.engine import open_writer
from search.query import Hit, SearchQuery, SearchResult, Terms

SNIPPET_CHARS = 240


class FoldFilter(Filter):
    """Accents off, đ→d: the folded twin of every word (`analyzer.fold`)."""

    def __call__(self, tokens: Iterator[Any]) -> Iterator[Any]:
        for token in tokens:
            token.text = analyzer.fold(token.text)
            yield token


def _exact() -> Any:
    return RegexTokenizer(analyzer.WORD.pattern) | LowercaseFilter()


def _folded() -> Any:
    return RegexTokenizer(analyzer.WORD.pattern) | LowercaseFilter() | FoldFilter()


def _schema() -> fields.Schema:
    spec: dict[str, Any] = {"id": fields.ID(stored=True, unique=True)}
    for group in TEXT_GROUPS:
        spec[f"{group}_x"] = fields.TEXT(analyzer=_exact(), phrase=False)
        spec[f"{group}_f"] = fields.TEXT(analyzer=_folded(), stored=group != "meta", phrase=True)
    for name in FACETS:
        spec[name] = fields.ID(sortable=True)
    spec["created"] = fields.NUMERIC(bits=64, sortable=True)
    return fields.Schema(**spec)


class _Bold(HtmlFormatter):
    """Matches in plain <b>, as tantivy's snippets mark them; the rest escaped by Whoosh."""

    def __init__(self) -> None:
        super().__init__(tagname="b", between=" … ")

    def format_token(self, text: str, token: Any, replace: bool = False) -> str:
        return f"<b>{html.escape(get_text(text, token, replace))}</b>"


def _raise_busy() -> bool:
    raise LockError("the index is being written by another process")


class WhooshEngine:
    name = "whoosh"

    def __init__(self, directory: Path) -> None:
        if index.exists_in(str(directory)):
            self.ix = index.open_dir(str(directory))
        else:
            self.ix = index.create_in(str(directory), _schema())
        self._lock = threading.Lock()

    def _writer(self) -> Any:
        return open_writer(self.ix.writer, lambda e: isinstance(e, LockError))

    def upsert(self, docs: Sequence[IndexDoc], replace: bool = True) -> None:
        with self._lock:
            writer = self._writer()
            try:
                for doc in docs:
                    fields_: dict[str, Any] = {"id": doc.id, "created": doc.created}
                    for group in TEXT_GROUPS:
                        value = getattr(doc, group)
                        fields_[f"{group}_x"] = value
                        fields_[f"{group}_f"] = value
                    fields_.update({k: v for k, v in doc.facets().items() if v})
                    (writer.update_document if replace else writer.add_document)(**fields_)
            except BaseException:
                writer.cancel()
                raise
            writer.commit()

    def delete(self, ids: Sequence[str]) -> None:
        with self._lock:
            writer = self._writer()
            for record_id in ids:
                writer.delete_by_term("id", record_id)
            writer.commit()

    def clear(self) -> None:
        with self._lock:
            writer = self._writer()
            writer.delete_by_query(query.Every())
            writer.commit()

    def clean_temp(self) -> int:
        with self._lock:
            lock = self.ix.lock("WRITELOCK")  # the writers' lock, without a writer's own new files
            open_writer(lambda: lock.acquire(blocking=False) or _raise_busy(), lambda e: isinstance(e, LockError))
            try:
                folder = Path(self.ix.storage.folder)
                before = {p.name for p in folder.iterdir()}
                toc = index.TOC.read(self.ix.storage, self.ix.indexname)
                index.clean_files(self.ix.storage, self.ix.indexname, toc.generation, toc.segments)
                for spill in folder.glob("*.tmp"):  # a killed writer's posting pool
                    shutil.rmtree(spill, ignore_errors=True)
                return len(before - {p.name for p in folder.iterdir()})
            finally:
                lock.release()

    def count(self) -> int:
        self.ix = self.ix.refresh()
        return int(self.ix.doc_count())

    def _text_query(self, terms: Terms) -> query.Query:
        musts: list[query.Query] = []
        for exact, folded in terms.words:
            options: list[query.Query] = []
            for group in TEXT_GROUPS:
                options.append(query.Term(f"{group}_f", folded, boost=BOOSTS[group]))
                if exact != folded:  # typed with diacritics: those exact words rank first
                    options.append(query.Term(f"{group}_x", exact, boost=BOOSTS[group] * EXACT_BOOST))
            musts.append(query.Or(options))
        for phrase in terms.phrases:
            musts.append(query.Or([query.Phrase(f"{group}_f", [f for _, f in phrase]) for group in TEXT_GROUPS]))
        return query.And(musts)

    def _restrictions(self, q: SearchQuery) -> query.Query | None:
        parts: list[query.Query] = []
        for name, values in q.filters.items():
            parts.append(query.Or([query.Term(name, v) for v in values]) if values else query.NullQuery)
        if q.scope is not None:
            clauses: list[query.Query] = [
                query.And([query.Or([query.Term(n, v) for v in vals]) for n, vals in clause.items()])
                if clause
                else query.Every()
                for clause in q.scope
            ]
            parts.append(query.Or(clauses) if clauses else query.NullQuery)
        if not parts:
            return None
        return query.And(parts)

    def search(self, q: SearchQuery) -> SearchResult:
        self.ix = self.ix.refresh()
        terms = q.terms()
        text = None if terms.empty else self._text_query(terms)
        restriction = self._restrictions(q)
        whole: query.Query = text or query.Every()
        if restriction is not None:
            whole = query.And([whole, restriction])
        with self.ix.searcher() as searcher:
            facet_map = {name: sorting.FieldFacet(name) for name in FACETS} if q.facets else None
            kwargs: dict[str, Any] = {"groupedby": facet_map} if facet_map else {}
            if text is None:
                kwargs["sortedby"] = sorting.FieldFacet("created", reverse=True)
            results = searcher.search(whole, limit=q.offset + q.page_size, **kwargs)
            results.fragmenter = ContextFragmenter(maxchars=SNIPPET_CHARS, surround=60)
            results.formatter = _Bold()
            hits = []
            for hit in results[q.offset : q.offset + q.page_size]:
                stored = hit.fields()
                snippet = hit.highlights("text_f", top=2) if text is not None else ""
                if not snippet:
                    snippet = html.escape((stored.get("text_f") or "")[:SNIPPET_CHARS])
                title = stored.get("title_f", "")
                hits.append(Hit(id=stored["id"], score=float(hit.score or 0.0), title=title, snippet=snippet))
            facets = {}
            if q.facets:
                for name in FACETS:
                    facets[name] = {
                        str(value): len(docs) for value, docs in results.groups(name).items() if value not in (None, "")
                    }
            return SearchResult(total=len(results), hits=hits, facets=facets)
