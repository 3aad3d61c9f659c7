"""What every destruction step shares: who may act, loading a procedure and its records, the list's table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import access
from archive.exceptions import Forbidden, NotFound
from archive.models import Person, Record, Role
from retention.models import Disposition, DispositionItem, RecordRetention, RetentionState

EXECUTION_DAYS = 15  # TT 06/2025/TT-BNV: destruction within 15 days of the decision
PROPOSERS = {Role.archivist, Role.clerk, Role.principal}
SignPdf = Callable[[bytes], bytes]


def execute_before(disposition: Disposition) -> datetime | None:
    """The end of the decision's `EXECUTION_DAYS`: after it the decision has lapsed (None: not decided)."""
    return disposition.decided_at + timedelta(days=EXECUTION_DAYS) if disposition.decided_at else None


HEADER = ["TT", "Tên tài liệu", "Loại", "Năm học", "Thời hạn", "Lý do hủy"]
WIDTHS = [10, 55, 35, 20, 18, 42]


def require(actor: Person, school_id: int, roles: set[Role], vi: str, en: str) -> None:
    if not (access.roles_at(actor, school_id) & roles):
        raise Forbidden(vi, en)


def load(session: Session, disposition_id: int) -> Disposition:
    disposition = session.get(Disposition, disposition_id)
    if disposition is None:
        raise NotFound("Không có đợt hủy này.", "No such disposition.")
    return disposition


def items_of(session: Session, disposition: Disposition) -> list[tuple[DispositionItem, Record]]:
    return list(
        session.execute(
            select(DispositionItem, Record)
            .join(Record, Record.id == DispositionItem.record_id)
            .where(DispositionItem.disposition_id == disposition.id)
            .order_by(Record.school_year, Record.title)
        ).all()
    )


def rows(pairs: list[tuple[str, Record]]) -> list[list[str]]:
    """The list's table: (reason, record) pairs in the list's order."""
    table = []
    for n, (why, record) in enumerate(pairs, start=1):
        retention = f"{record.record_type.retention_years} năm" if record.record_type.retention_years else "—"
        table.append([str(n), record.title, record.record_type.name_vi, record.school_year, retention, why])
    return table


def listed(session: Session, disposition: Disposition) -> list[tuple[str, Record]]:
    return [(item.explanation, record) for item, record in items_of(session, disposition)]


def back_to_review(session: Session, disposition: Disposition) -> None:
    """A list the council or the principal turned down: its records wait in review again."""
    mine = select(DispositionItem.record_id).where(DispositionItem.disposition_id == disposition.id)
    ids = list(session.scalars(mine))
    for row in session.scalars(select(RecordRetention).where(RecordRetention.record_id.in_(ids))):
        row.state = RetentionState.review
