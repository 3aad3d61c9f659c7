"""What waits for the archivist or the principal on their home page: records in review at their
schools, the latest fixity run as they may see it, transfers (nộp lưu) due within 30 days or late,
and dossiers to hand to the school's archive within their deadline's alert days or late."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.models import Person, Record, School
from retention import service, transfer
from retention.dossiers import handover
from retention.holds import MANAGERS
from retention.models import FixityRun, RecordRetention, RetentionState


def in_review(session: Session, school_ids: Iterable[int]) -> int:
    """How many records of these schools are past their term and wait for a destruction review."""
    reviewing = (
        select(func.count())
        .select_from(RecordRetention)
        .join(Record, Record.id == RecordRetention.record_id)
        .where(RecordRetention.state == RetentionState.review, Record.school_id.in_(list(school_ids)))
    )
    return session.scalar(reviewing) or 0


def latest_fixity(session: Session, person: Person) -> dict[str, Any] | None:
    """The latest fixity run, with only the findings this person may see (None before the first run)."""
    latest = session.scalar(select(FixityRun).order_by(FixityRun.id.desc()).limit(1))
    return service.fixity_seen_by(session, latest, person) if latest else None


def transfers_due(session: Session, person: Person) -> list[tuple[School, transfer.Due]]:
    """The school years whose permanent records are due for nộp lưu soon or late, at the schools they manage."""
    managed = [m.school for m in person.memberships if m.role in MANAGERS and m.school is not None]
    return [(school, due) for school in managed for due in transfer.due_for(session, school) if due.alert]


def dossiers_due(session: Session, person: Person) -> list[tuple[School, handover.Due]]:
    """The school years whose dossiers are due for handing over soon or late, at the schools they keep."""
    managed = [m.school for m in person.memberships if m.role in MANAGERS and m.school is not None]
    return [(school, due) for school in managed for due in handover.due_for(session, school) if due.alert]
