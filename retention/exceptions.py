"""Errors of retention a person may see; each is a kernel error class, so `api/errors.py` maps it once.

The dossier errors (issue #18) carry a stable `code` the pages and scripts can react to.
"""

from __future__ import annotations

from archive.exceptions import Conflict, InvalidInput


class DuplicateFileCode(Conflict):
    """Two dossiers of one school may not share a file code (số, ký hiệu hồ sơ)."""

    code = "duplicate_file_code"


class AwaitingApproval(Conflict):
    """A dossier with a document still waiting for the principal's approval cannot close."""

    code = "awaiting_approval"


class AlreadyHandedOver(Conflict):
    code = "already_handed_over"


class YearNotStarted(InvalidInput):
    """No yearly list for a school year that has not begun."""

    code = "year_not_started"
