"""The seam between hoso and a full-text library: two engines pass one test suite.

tantivy (tantivy-py, Rust) is the default: measured ~14,000 docs/s indexing and sub-millisecond
queries on 30,000 documents, where Whoosh (the design card's engine, pure Python) indexes ~320
docs/s and answers in ~300 ms. Whoosh stays as the fallback for a machine without a tantivy wheel
(`HOSO_SEARCH_ENGINE=whoosh`). Each of them keeps its index under `HOSO_DATA_DIR/index/<name>/`,
which the processes of one machine share and another machine cannot see. The third engine,
`HOSO_SEARCH_ENGINE=postgres` (search/postgres_engine.py), keeps it in hoso's PostgreSQL, so every
web process on every node searches one index: the engine of a deployment on several machines.

Writers are short-lived (one per batch of changes), so a running server and `hoso reindex` take
turns on the index lock instead of one of them failing for as long as the other runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

from search.documents import IndexDoc
from search.exceptions import IndexBusy
from search.query import SearchQuery, SearchResult


class SearchEngine(Protocol):
    name: str

    def upsert(self, docs: Sequence[IndexDoc], replace: bool = True) -> None:
        """Add or replace documents by id and commit; `replace=False` skips the delete (a fresh build)."""

    def delete(self, ids: Sequence[str]) -> None: ...

    def clear(self) -> None: ...

    def clean_temp(self) -> int:
        """Remove what a writer killed mid-commit left (files no commit refers to); returns how many.

        Measured: a SIGKILL mid-commit leaves tantivy's half-written segment files and Whoosh's
        `MAIN.tmp` folder and posting files; nothing reads them, but they grow with every crash.
        Called at `hoso serve` and `hoso reindex` start, like the upload spool's cleanup; it holds
        the index lock, so another process's writer is never cut short.
        """

    def count(self) -> int: ...

    def search(self, query: SearchQuery) -> SearchResult:
        """Run a checked query (see `search.query.checked`)."""


FOLDER_ENGINES = ("tantivy", "whoosh")
ENGINES = (*FOLDER_ENGINES, "postgres")
BUSY_WAIT_SECONDS = 30


def open_writer(open_: Callable[[], Any], busy: Callable[[Exception], bool]) -> Any:
    """An index writer, waiting while another process holds the index lock (they take turns)."""
    deadline = time.monotonic() + BUSY_WAIT_SECONDS
    while True:
        try:
            return open_()
        except Exception as e:
            if not busy(e):
                raise
            if time.monotonic() > deadline:
                raise IndexBusy(
                    "Chỉ mục tìm kiếm đang bận (một tiến trình khác đang ghi).",
                    f"The search index is busy (another process is writing): {e}",
                ) from None
            time.sleep(0.2)


def open_engine(name: str, data_dir: Path, database: Engine | None = None) -> SearchEngine:
    """The engine `name`: a folder engine under data_dir, or PostgreSQL through `database`."""
    if name == "postgres":
        from search.postgres_engine import PostgresEngine

        if database is None:
            raise ValueError("the postgres search engine needs the database")
        return PostgresEngine(database)
    directory = data_dir / "index" / name
    directory.mkdir(parents=True, exist_ok=True)
    if name == "tantivy":
        from search.tantivy_engine import TantivyEngine

        return TantivyEngine(directory)
    if name == "whoosh":
        from search.whoosh_engine import WhooshEngine

        return WhooshEngine(directory)
    raise ValueError(f"unknown search engine {name!r} ({', '.join(ENGINES)})")
