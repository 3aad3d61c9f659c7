"""The background worker of `hoso serve`: it runs the jobs table's work inside the serving process.

Index updates are drained in batches every moment (or at once when a request wakes the worker);
evidence packages are built one at a time between them. A job a dead worker left `running` goes
back to the queue at start, so a crash between a commit and its follow-up work is repaired by the
next start. Several server processes may run workers: jobs are claimed with SKIP LOCKED.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from api import evidence_package
from api.deps import AppState
from archive import jobs
from search import indexer

log = logging.getLogger(__name__)
IDLE_SECONDS = 0.5


class Worker:
    def __init__(self, state: AppState) -> None:
        self.state = state
        self.name = f"{socket.gethostname()}:{os.getpid()}:worker"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hoso-worker", daemon=True)

    def start(self) -> None:
        with self.state.sessions() as session:
            jobs.requeue_stale(session, timedelta(minutes=10))
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.state.wake()
        if self._thread.is_alive():
            self._thread.join(timeout=60)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.state.woken.clear()
            try:
                indexer.drain(self.state.sessions, self.state.search, self.state.describe, limit=2000)
                self.run_one_export()
            except Exception:
                log.exception("the background worker failed; retrying")
            self.state.woken.wait(IDLE_SECONDS)

    def run_one_export(self) -> bool:
        """Build the oldest queued evidence package, if any; True when one was taken."""
        with self.state.sessions() as session:
            claimed = jobs.claim(session, self.name, [evidence_package.EXPORT_JOB])
            if claimed is None:
                return False
            try:
                evidence_package.run(self.state, str(claimed.payload["export_id"]))
            except Exception as e:
                jobs.fail(session, session.merge(claimed), repr(e))
            else:
                jobs.finish(session, session.merge(claimed))
        return True
