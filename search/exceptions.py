"""Search errors a person may see; `api/errors.py` maps them to HTTP statuses."""

from __future__ import annotations

from archive.exceptions import HosoError, InvalidInput


class BadQuery(InvalidInput):
    """The query cannot be run as typed (too long, too many words, a bad filter)."""

    code = "bad_query"


class IndexBusy(HosoError):
    """Another process holds the index writer (a running server indexes for itself)."""

    code = "index_busy"
