"""What a running hoso holds: settings, the database, the store, the index and the worker's signals.

The API builds one per app and hands it to routers, the worker and the long jobs; it lives in flows so
that the worker and the evidence builder need nothing from `api/`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from archive.storage import ObjectStore
from flows.indexing import Describer
from flows.settings import Settings
from search.engine import SearchEngine


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

    def wake(self) -> None:
        """Tell the background worker there is work now (it would otherwise look within a moment)."""
        self.woken.set()
