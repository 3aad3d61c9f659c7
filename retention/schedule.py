"""The retention schedule applied: every record's term, computed in SQL, and its blobs locked to match.

Luật Lưu trữ 2024 Điều 15: permanent, or 2–70 years counted from the year the work ended. For a
school record the work ends with its school year, so a plan of 2025-2026 kept 10 years is kept
through 31/12/2036 and may be reviewed for destruction from 1/1/2037. The schedule itself is data
(`RecordType.retention_*`, editable by the archivist); this module keeps `record_retention` in step
with it and with each record, set-based (a million records take seconds), and never shortens a
term once computed — exactly as S3 COMPLIANCE retention cannot be shortened.

Storage locks follow: each blob of a record (its versions and detached signatures) is retained in
the store until the end of the record's term (COMPLIANCE on S3, a lock file in the folder store);
permanent records are locked for `PERMANENT_LOCK_YEARS` and extended as the years pass.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import CursorResult, Integer, and_, case, cast, exists, func, literal, or_, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from archive import blobs, calendar
from archive.db import utcnow, write_transaction
from archive.models import Record, RecordType, Version
from archive.storage import ObjectMissing, ObjectStore, RetentionShortening, blob_key
from retention.models import RecordRetention, RetentionState

log = logging.getLogger(__name__)
PERMANENT_LOCK_YEARS = 100
# the records whose blobs the store keeps locked (destroyed ones have none left)
LOCKED_STATES = (RetentionState.active, RetentionState.review, RetentionState.proposed, RetentionState.transferred)


def end_year(school_year: str) -> int:
    """'2025-2026' → 2026: the year the work of a school year ends."""
    return int(school_year[5:9])


def keep_until_year(permanent: bool, years: int | None, school_year: str) -> int | None:
    return None if permanent else end_year(school_year) + int(years or 0)


def eligible_from(row: RecordRetention) -> date | None:
    """The first day the record may be reviewed for destruction (None: never, it is permanent)."""
    return None if row.permanent or row.keep_until_year is None else date(row.keep_until_year + 1, 1, 1)


def lock_target(row: RecordRetention, today: date) -> date:
    if row.permanent or row.keep_until_year is None:
        return date(today.year + PERMANENT_LOCK_YEARS, 1, 1)
    return date(row.keep_until_year + 1, 1, 1)


def _new_keep() -> Any:
    """SQL: the term the record's type and school year give now (NULL when permanent)."""
    end = cast(func.substr(Record.school_year, 6, 4), Integer)
    return case((RecordType.retention_permanent, None), else_=end + RecordType.retention_years)


def refresh(session: Session, record_ids: Sequence[str] | None = None) -> tuple[int, int]:
    """Compute missing rows and recompute changed ones, in two statements; returns (added, changed).

    With `record_ids`, only those records (a page, a batch of changed records); without, the whole
    table (the sweep, a schedule edit): an anti-join over every record, which is seconds at a million.
    """
    now = utcnow()
    session.commit()  # begin as a writer (SQLite cannot upgrade a read snapshot another writer moved past)
    if record_ids is not None and not record_ids:
        return 0, 0
    ids = list(record_ids) if record_ids is not None else None
    added = _add_missing(session, ids, now)
    changed = _recompute(session, ids, now)
    session.commit()
    return added, changed


def _insert(session: Session) -> Callable[[type[RecordRetention]], Any]:
    """The dialect's INSERT, for its ON CONFLICT DO NOTHING."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _add_missing(session: Session, ids: list[str] | None, now: datetime) -> int:
    """Rows for records that have none (INSERT … SELECT), counted before and after."""
    missing = ~exists().where(RecordRetention.record_id == Record.id)
    if ids is not None:
        missing = and_(missing, Record.id.in_(ids))
    counted = select(func.count()).select_from(RecordRetention).where(_scoped(ids))
    before = session.scalar(counted) or 0  # psycopg reports no rowcount for INSERT … SELECT … ON CONFLICT
    session.commit()  # the insert must begin the write transaction (SQLite), not this read
    # ON CONFLICT DO NOTHING: the serving worker and a request may compute the same new record at once
    session.execute(
        _insert(session)(RecordRetention)
        .from_select(
            [
                "record_id",
                "permanent",
                "keep_until_year",
                "record_type_id",
                "school_year",
                "years_applied",
                "state",
                "computed_at",
            ],
            select(
                Record.id,
                RecordType.retention_permanent,
                _new_keep(),
                Record.record_type_id,
                Record.school_year,
                RecordType.retention_years,
                literal(RetentionState.active.value),
                literal(now, RecordRetention.computed_at.type),
            )
            .join(RecordType, RecordType.id == Record.record_type_id)
            .where(missing),
        )
        .on_conflict_do_nothing(index_elements=["record_id"])
    )
    return int(session.scalar(counted) or 0) - before


def _scoped(ids: list[str] | None) -> ColumnElement[bool]:
    return RecordRetention.record_id.in_(ids) if ids is not None else true()


def _recompute(session: Session, ids: list[str] | None, now: datetime) -> int:
    """Changed inputs (a corrected school year or type, an edited schedule): recompute, never shorter."""
    source = (
        select(Record.id)
        .join(RecordType, RecordType.id == Record.record_type_id)
        .where(
            Record.id == RecordRetention.record_id,
            or_(
                Record.school_year != RecordRetention.school_year,
                Record.record_type_id != RecordRetention.record_type_id,
                # the schedule got longer (a shorter schedule applies to new records only)
                and_(RecordType.retention_permanent, ~RecordRetention.permanent),
                and_(
                    RecordType.retention_years.is_not(None),
                    RecordRetention.years_applied.is_not(None),
                    RecordType.retention_years > RecordRetention.years_applied,
                ),
            ),
        )
    )
    new_perm = _current(RecordType.retention_permanent)
    new_keep = _current(_new_keep())
    result = session.execute(
        update(RecordRetention)
        .where(_scoped(ids), exists(source), RecordRetention.state == RetentionState.active)
        .values(
            permanent=or_(RecordRetention.permanent, new_perm),
            keep_until_year=case(
                (or_(RecordRetention.permanent, new_perm), None),
                (new_keep > RecordRetention.keep_until_year, new_keep),
                else_=RecordRetention.keep_until_year,
            ),
            record_type_id=_current(Record.record_type_id),
            school_year=_current(Record.school_year),
            years_applied=_current(RecordType.retention_years),
            computed_at=now,
            locked_until=None,  # the storage lock follows on the next `lock_pending`
        )
        .execution_options(synchronize_session=False)
    )
    return typing.cast("CursorResult[Any]", result).rowcount or 0  # an UPDATE: the cursor's result


def _current(column: Any) -> Any:
    """SQL: the value `column` has now for the record of the `record_retention` row being updated."""
    return (
        select(column)
        .select_from(Record)
        .join(RecordType, RecordType.id == Record.record_type_id)
        .where(Record.id == RecordRetention.record_id)
        .scalar_subquery()
    )


BlobsOf = Callable[[Session, str], set[str]]


def version_blobs(session: Session, record_id: str) -> set[str]:
    """The blobs of a record's versions (`api` adds the detached signatures, which signing keeps)."""
    return set(session.scalars(select(Version.blob_sha256).where(Version.record_id == record_id)))


def lock_pending(
    session: Session,
    store: ObjectStore,
    blobs_of: BlobsOf = version_blobs,
    limit: int = 500,
    record_ids: Sequence[str] | None = None,
) -> int:
    """Lock the blobs of records not locked yet (or recomputed), and roll permanent locks forward."""
    today = calendar.today()
    permanent_floor = date(today.year + PERMANENT_LOCK_YEARS - 1, 1, 1)
    session.commit()
    rows = list(
        session.scalars(
            select(RecordRetention)
            .where(
                RecordRetention.state.in_(LOCKED_STATES),
                or_(
                    RecordRetention.locked_until.is_(None),
                    and_(RecordRetention.permanent, RecordRetention.locked_until < permanent_floor),
                ),
                RecordRetention.record_id.in_(list(record_ids)) if record_ids is not None else true(),
            )
            .limit(limit)
        )
    )
    plans = [(row.record_id, lock_target(row, today), row.locked_until) for row in rows]
    session.commit()  # the store calls below take time: hold no transaction meanwhile
    done: dict[str, date] = {}
    for record_id, target, locked in plans:
        if locked is not None and locked >= target:
            continue
        if target > today:  # a term already over (an old record archived late) has nothing left to lock
            until = datetime(target.year, target.month, target.day, tzinfo=UTC)
            for sha in blobs_of(session, record_id):
                try:
                    # the version hoso wrote is the one locked, not whatever was put over it since
                    store.set_retention(blob_key(sha), until, blobs.version_of(session, sha))
                except RetentionShortening:
                    pass  # already retained longer (a blob shared with a record kept longer)
                except ObjectMissing:
                    log.error("blob %s of record %s is missing: the next fixity run reports it", sha, record_id)
            session.commit()
        done[record_id] = target
    if done:
        with write_transaction(session):
            for record_id, target in done.items():
                session.execute(
                    update(RecordRetention)
                    .where(RecordRetention.record_id == record_id)
                    .values(locked_until=target)
                    .execution_options(synchronize_session=False)
                )
    return len(done)
