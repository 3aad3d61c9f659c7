"""Upload and submit for approval in one go ("Tải lên và nộp duyệt"): the record and its submission
commit in one transaction, or neither does.

A flow because it joins the kernel (the record made by `archive.ingest`) and signing (the
submission in `signing.workflow`). Before this, a teacher uploaded a plan and then opened its page to
submit it: 9 actions a plan, 45 for a month's five (issue #15). Two requests would also leave a draft
behind whenever the second one failed (a returned plan, a type nobody signs, a dropped connection),
which the teacher then had to find and submit by hand; the submission now runs inside the record's
own transaction (`ingest.create_record(within=...)`), so a refusal stores nothing at all.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from archive.models import Person, Record, RecordType
from signing import workflow

Within = Callable[[Record], None]


def submitting(
    session: Session, actor: Person, period: str | None = None, note: str | None = None, also: Within | None = None
) -> Within:
    """The `within` hook that submits the record being made (after `also`, the caller's own hook)."""

    def within(record: Record) -> None:
        if also is not None:
            also(record)
        session.flush()  # the record's row exists before its approval item points at it
        workflow.submit_within(session, actor, record, period, note)

    return within


def check(record_type: RecordType, period: str | None) -> None:
    """Refuse an upload-and-submit of a type nobody signs, or for a wrong period, before its bytes."""
    workflow.require_signed(record_type, period)
