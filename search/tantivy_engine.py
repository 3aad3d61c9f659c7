"""The default engine: tantivy through tantivy-py, with the Vietnamese analyzers as tantivy tokenizers.

`vi_exact` is tantivy's `simple` tokenizer + lowercase; `vi_fold` adds `ascii_fold`, which maps
Vietnamese letters (đ included) to ASCII as `analyzer.fold` does. Text arrives in NFC (the indexer
normalizes) and queries are cut into terms in Python (`search.query`), so no query parser runs.
Facets are tantivy terms aggregations over fast keyword fields.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import tantivy
from tantivy import Filter, Occur, Order, Query, TextAnalyzerBuilder, Tokenizer

from search.documents import BOOSTS, EXACT_BOOST, FACETS, TEXT_GROUPS, IndexDoc
from search.engine import open_writer
from search.query import Hit, SearchQuery, SearchResult, Terms

HEAP = 64 * 1024 * 1024
SNIPPET_CHARS = 240
FACET_SIZE = 50


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    for group in TEXT_GROUPS:
        sb.add_text_field(f"{group}_x", stored=False, tokenizer_name="vi_exact")
        sb.add_text_field(f"{group}_f", stored=group != "meta", tokenizer_name="vi_fold")
    for name in FACETS:
        sb.add_text_field(name, stored=False, tokenizer_name="raw", fast=True)
    sb.add_integer_field("created", stored=False, indexed=False, fast=True)
    return sb.build()


class TantivyEngine:
    name = "tantivy"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.schema = _schema()
        self.index = tantivy.Index(self.schema, path=str(directory), reuse=True)
        self.index.register_tokenizer(
            "vi_exact", TextAnalyzerBuilder(Tokenizer.simple()).filter(Filter.lowercase()).build()
        )
        self.index.register_tokenizer(
            "vi_fold",
            TextAnalyzerBuilder(Tokenizer.simple()).filter(Filter.lowercase()).filter(Filter.ascii_fold()).build(),
        )
        self._lock = threading.Lock()  # one writer per process at a time; other processes: tantivy's lock file
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hoso-facets")

    # -- writing ---------------------------------------------------------------------------------

    def _writer(self) -> Any:
        return open_writer(
            lambda: self.index.writer(HEAP, 1), lambda e: isinstance(e, ValueError) and "LockBusy" in str(e)
        )

    def upsert(self, docs: Sequence[IndexDoc], replace: bool = True) -> None:
        with self._lock:
            writer = self._writer()
            try:
                for doc in docs:
                    if replace:
                        writer.delete_documents_by_term("id", doc.id)
                    writer.add_document(self._document(doc))
                writer.commit()
                writer.wait_merging_threads()
            finally:
                del writer
        self.index.reload()

    def _document(self, doc: IndexDoc) -> tantivy.Document:
        fields: dict[str, Any] = {"id": doc.id, "created": doc.created}
        for group in TEXT_GROUPS:
            value = getattr(doc, group)
            fields[f"{group}_x"] = value
            fields[f"{group}_f"] = value
        for name, value in doc.facets().items():
            if value:
                fields[name] = value
        return tantivy.Document(**fields)

    def delete(self, ids: Sequence[str]) -> None:
        with self._lock:
            writer = self._writer()
            try:
                for record_id in ids:
                    writer.delete_documents_by_term("id", record_id)
                writer.commit()
                writer.wait_merging_threads()
            finally:
                del writer
        self.index.reload()

    def clear(self) -> None:
        with self._lock:
            writer = self._writer()
            try:
                writer.delete_all_documents()
                writer.commit()
                writer.wait_merging_threads()
            finally:
                del writer
        self.index.reload()

    def clean_temp(self) -> int:
        with self._lock:
            writer = self._writer()
            try:
                before = {p.name for p in self.directory.iterdir()}
                writer.garbage_collect_files()  # segment files a killed commit registered but never used
                for partial in self.directory.glob(".tmp*"):  # an atomic write (meta.json) cut short
                    partial.unlink(missing_ok=True)
                return len(before - {p.name for p in self.directory.iterdir()})
            finally:
                del writer

    def count(self) -> int:
        self.index.reload()
        return int(self.index.searcher().num_docs)

    # -- searching -------------------------------------------------------------------------------

    def _term(self, field: str, value: str, boost: float = 1.0) -> Query:
        q = Query.term_query(self.schema, field, value)
        return Query.boost_query(q, boost) if boost != 1.0 else q

    def _any_of(self, field: str, values: Sequence[str]) -> Query:
        return Query.term_set_query(self.schema, field, list(values))

    def _text_query(self, terms: Terms) -> Query:
        musts = []
        for exact, folded in terms.words:
            options = []
            for group in TEXT_GROUPS:
                options.append((Occur.Should, self._term(f"{group}_f", folded, BOOSTS[group])))
                if exact != folded:  # typed with diacritics: those exact words rank first
                    options.append((Occur.Should, self._term(f"{group}_x", exact, BOOSTS[group] * EXACT_BOOST)))
            musts.append((Occur.Must, Query.boolean_query(options)))
        for phrase in terms.phrases:
            options = [
                (Occur.Should, Query.phrase_query(self.schema, f"{group}_f", [f for _, f in phrase]))
                for group in TEXT_GROUPS
            ]
            musts.append((Occur.Must, Query.boolean_query(options)))
        return Query.boolean_query(musts)

    def _restrictions(self, query: SearchQuery) -> list[tuple[Occur, Query]]:
        parts = []
        for name, values in query.filters.items():
            parts.append((Occur.Must, self._any_of(name, values) if values else Query.empty_query()))
        if query.scope is not None:
            clauses = [
                (
                    Occur.Should,
                    Query.boolean_query(
                        [(Occur.Must, self._any_of(name, values)) for name, values in clause.items()]
                        or [(Occur.Must, Query.all_query())]
                    ),
                )
                for clause in query.scope
            ]
            parts.append((Occur.Must, Query.boolean_query(clauses) if clauses else Query.empty_query()))
        return parts

    def search(self, query: SearchQuery) -> SearchResult:
        self.index.reload()
        searcher = self.index.searcher()
        terms = query.terms()
        text = None if terms.empty else self._text_query(terms)
        restrictions = self._restrictions(query)
        whole = Query.boolean_query([(Occur.Must, text or Query.all_query()), *restrictions])
        # Facet counts run beside the search on a second core (tantivy releases the GIL): the
        # aggregation costs about as much as the search itself on a million records.
        facets = self._pool.submit(self._facets, searcher, whole) if query.facets else None
        if text is None:
            found = searcher.search(
                whole, query.page_size, count=True, offset=query.offset, order_by_field="created", order=Order.Desc
            )
        else:
            found = searcher.search(whole, query.page_size, count=True, offset=query.offset)
        snippets = tantivy.SnippetGenerator.create(searcher, text, self.schema, "text_f") if text else None
        if snippets is not None:
            snippets.set_max_num_chars(SNIPPET_CHARS)
        hits = []
        for score, address in found.hits:
            doc = searcher.doc(address)
            title = doc.get_first("title_f") or ""
            snippet = snippets.snippet_from_doc(doc).to_html() if snippets is not None else ""
            if not snippet:
                snippet = html.escape((doc.get_first("text_f") or "")[:SNIPPET_CHARS])
            hits.append(Hit(id=str(doc.get_first("id")), score=float(score), title=title, snippet=snippet))
        total = int(found.count or 0)  # type: ignore[attr-defined]  # the stubs omit `count` (set by count=True)
        return SearchResult(total=total, hits=hits, facets=facets.result() if facets else {})

    def _facets(self, searcher: Any, whole: Query) -> dict[str, dict[str, int]]:
        request = {name: {"terms": {"field": name, "size": FACET_SIZE}} for name in FACETS}
        answer = searcher.aggregate(whole, request)
        return {
            name: {str(b["key"]): int(b["doc_count"]) for b in answer.get(name, {}).get("buckets", [])}
            for name in FACETS
        }
