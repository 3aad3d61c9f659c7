"""What a running hoso holds: settings, the database, the store, the index and the worker's signals.

The API builds one per app and hands it to routers, the worker and the long jobs; `hoso worker`
builds one without a web app. It lives in flows so that the worker and the evidence builder need
nothing from `api/`. Nothing in it is a fact another process needs: sessions, throttles, uploads,
jobs and signing progress are rows; `woken` only shortens this process's idle wait.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from archive.db import make_engine, make_sessionmaker
from archive.storage import ObjectStore, make_store
from flows.indexing import Describer
from flows.settings import Settings
from search.engine import SearchEngine, open_engine


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: ObjectStore
    search: SearchEngine
    describe: Describer  # a record as the index sees it
    woken: threading.Event = field(default_factory=threading.Event)
    # Set when the server stops: long work (fixity, evidence packages, indexing) checks it and ends.
    stopping: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def open(cls, settings: Settings) -> AppState:
        """The database, the store and the index these settings name (a web app's or a worker's)."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.resolved_database_url)
        store = make_store(settings)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            store=store,
            search=open_engine(settings.search_engine, settings.data_dir, engine),
            describe=Describer(store, settings),
        )

    def wake(self) -> None:
        """Tell the background worker there is work now (it would otherwise look within a moment)."""
        self.woken.set()
