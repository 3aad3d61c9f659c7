"""Signed items committed in groups: whatever finishes while the previous group commits goes next.

Moved out of signing/batch/persist.py (which uses it) to keep that file readable; the measured
reason it exists is in the class docstring.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signing.batch.persist import SigningStore


class GroupCommit:
    """Signed items wait here while the previous group commits; then they commit together.

    Documents are signed a few at a time, and committing each alone cost one SQLite/PostgreSQL
    commit (an fsync) and the sidecar's fsyncs, serialised: the database was half the batch's time.
    The first item commits at once; whatever finishes meanwhile forms the next group.
    """

    MAX = 64

    def __init__(self, run: SigningStore) -> None:
        self.run = run
        self.waiting: list[tuple[Any, asyncio.Future[None]]] = []
        self.busy = False

    async def submit(self, entry: Any) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((entry, future))
        if not self.busy:
            self.busy = True
            asyncio.get_running_loop().create_task(self._drain())
        await future

    async def _drain(self) -> None:
        try:
            while self.waiting:
                group, self.waiting = self.waiting[: self.MAX], self.waiting[self.MAX :]
                try:
                    await self.run.db(self.run.commit_group, [entry for entry, _ in group])
                except BaseException as e:
                    for _, future in group:
                        if not future.done():
                            future.set_exception(e)
                else:
                    for _, future in group:
                        if not future.done():
                            future.set_result(None)
        finally:
            self.busy = False
