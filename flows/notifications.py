"""Turning the audit log into notifications, and sending their e-mails.

The worker calls `follow` every pass: it reads the audit events after the cursor and tells the
people each concerns — the author of a returned plan, the signers of a school whose period has
plans waiting (one updated line per school and period, with the count as it is now), the author
of plans just signed (one line per batch), the inspector whose evidence package is built. The
cursor moves in the same write transaction as the notifications (and their e-mail jobs), which
`write_transaction` serialises across every process, so an event is told once, even with many
workers. A pass that finds nothing to tell — no new event, or only events that concern nobody —
takes no lock and writes nothing (measured: a cursor written after every event made the
worker's follower a writer beside every request, and SQLite tests that read then write met
"database is locked").

This lives in flows/ because it reads the signing tables (which batch, which period, how many
wait) to word what the kernel's audit log recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.db import write_transaction
from archive.models import AuditEvent, Membership, Person, Record, Role
from archive.notifications import mail
from archive.notifications import service as notify
from archive.notifications.models import Notification, NotificationCursor, NotificationKind
from archive.settings import ArchiveSettings
from flows import copy_notifications
from signing import periods
from signing.models import ApprovalBatch, ApprovalItem, BatchState, Decision, SignState

log = logging.getLogger(__name__)
BATCH = 500
SIGNER_ROLES = (Role.principal.value, Role.vice_principal.value)


def follow(session: Session, seen: int = 0, limit: int = BATCH) -> int:
    """Tell people about the audit events since the last pass; how far the log has been read.

    Most events concern nobody here (uploads, logins, indexing): a pass that finds only those
    writes nothing and returns how far it read, which the worker passes back as `seen` — so the
    worker takes the write lock only when someone is to be told. The stored cursor catches up at
    the next pass that writes; a restarted worker re-reads the skipped events, read-only."""
    session.commit()  # a fresh snapshot: one held since before the latest events would hide them
    cursor = session.get(NotificationCursor, 1, populate_existing=True)
    start = max(cursor.seq if cursor is not None else 0, seen)
    rows = session.execute(
        select(AuditEvent.seq, AuditEvent.action).where(AuditEvent.seq > start).order_by(AuditEvent.seq).limit(limit)
    ).all()
    session.commit()
    if not rows:
        return start
    if not any(action in _HANDLERS for _seq, action in rows):
        return int(rows[-1].seq)
    with write_transaction(session):
        cursor = session.get(NotificationCursor, 1, populate_existing=True)
        if cursor is None:
            cursor = NotificationCursor(id=1, seq=0)
            session.add(cursor)
        events = list(
            session.scalars(select(AuditEvent).where(AuditEvent.seq > cursor.seq).order_by(AuditEvent.seq).limit(limit))
        )
        waiting: set[tuple[int, str]] = set()  # (school, period) whose count changed: recounted once
        for event in events:
            handler = _HANDLERS.get(event.action)
            if handler is not None:
                _told(session, f"event {event.seq}", partial(handler, session, event, waiting))
        for school_id, period in sorted(waiting):
            _told(session, f"school {school_id} {period}", partial(_tell_waiting, session, school_id, period))
        if events:
            cursor.seq = events[-1].seq
        done = cursor.seq
    return int(done)


def _told(session: Session, what: str, work: Callable[[], None]) -> None:
    """Run one telling in a savepoint: a fault in one (a record since destroyed, say) is logged and
    skipped, never a poison event that stops everyone's notifications behind it."""
    try:
        with session.begin_nested():
            work()
    except Exception:
        log.exception("could not turn %s into notifications; skipped", what)


def _batch(session: Session, event: AuditEvent) -> ApprovalBatch | None:
    batch_id = (event.details or {}).get("batch_id")
    return session.get(ApprovalBatch, batch_id) if batch_id else None


def _submitted(session: Session, event: AuditEvent, waiting: set[tuple[int, str]]) -> None:
    period = (event.details or {}).get("period")
    if event.school_id is not None and period:
        waiting.add((event.school_id, str(period)))


def _decided(session: Session, event: AuditEvent, waiting: set[tuple[int, str]]) -> None:
    batch = _batch(session, event)
    if batch is not None:
        waiting.add((batch.school_id, batch.period))


def _returned(session: Session, event: AuditEvent, waiting: set[tuple[int, str]]) -> None:
    _decided(session, event, waiting)
    record = session.get(Record, event.record_id) if event.record_id else None
    author = session.get(Person, record.author_id) if record is not None else None
    if record is None or author is None:
        return
    details = event.details or {}
    params = {"title": record.title, "comment": details.get("comment") or ""}
    key = f"{record.id}:v{details.get('version', record.current_version)}"
    notify.tell(session, author, NotificationKind.plan_returned, key, params, f"/ho-so/{record.id}")


def _signed(session: Session, event: AuditEvent, waiting: set[tuple[int, str]]) -> None:
    batch = _batch(session, event)
    record = session.get(Record, event.record_id) if event.record_id else None
    author = session.get(Person, record.author_id) if record is not None else None
    if batch is None or record is None or author is None:
        return
    count = session.scalar(
        select(func.count())
        .select_from(ApprovalItem)
        .join(Record, Record.id == ApprovalItem.record_id)
        .where(
            ApprovalItem.batch_id == batch.id,
            ApprovalItem.sign_state == SignState.signed.value,
            Record.author_id == author.id,
        )
    )
    if not count:  # the batch's own approval record, signed last: not a plan anyone submitted
        return
    params = {"count": int(count), "period": batch.period, "period_vi": periods.label(batch.period)}
    notify.tell(session, author, NotificationKind.plans_signed, f"batch:{batch.id}", params, "/trang-chu")


def _evidence(session: Session, event: AuditEvent, waiting: set[tuple[int, str]]) -> None:
    requester = session.get(Person, event.actor_id) if event.actor_id else None
    if requester is not None:
        params = {"records": (event.details or {}).get("records", 0)}
        notify.tell(session, requester, NotificationKind.evidence_ready, event.object_id, params, "/goi-chung-cu")


def _tell_waiting(session: Session, school_id: int, period: str) -> None:
    """Each signer of the school sees how many plans of `period` wait for a decision now."""
    count = int(
        session.scalar(
            select(func.count())
            .select_from(ApprovalItem)
            .join(ApprovalBatch, ApprovalBatch.id == ApprovalItem.batch_id)
            .where(
                ApprovalBatch.school_id == school_id,
                ApprovalBatch.period == period,
                ApprovalBatch.state == BatchState.open.value,
                ApprovalItem.decision == Decision.pending.value,
            )
        )
        or 0
    )
    signers = session.scalars(
        select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.school_id == school_id, Membership.role.in_(SIGNER_ROLES), Person.deleted_at.is_(None))
        .distinct()
    )
    key = f"{school_id}:{period}"
    for signer in signers:
        if count == 0:
            notify.settle(session, signer.id, NotificationKind.plans_waiting, key)
            continue
        before = notify.find(session, signer.id, NotificationKind.plans_waiting, key)
        more = before is None or count > int(before.params.get("count", 0))
        params = {"count": count, "period": period, "period_vi": periods.label(period)}
        link = f"/duyet?period={period}"
        notify.tell(session, signer, NotificationKind.plans_waiting, key, params, link, renew=more)


_HANDLERS: dict[str, Callable[[Session, AuditEvent, set[tuple[int, str]]], None]] = {
    "record.submitted": _submitted,
    "record.approved": _decided,
    "record.returned": _returned,
    "record.signed": _signed,
    "evidence.built": _evidence,
    "copy.requested": copy_notifications.requested,
    "copy.issued": copy_notifications.decided,
    "copy.refused": copy_notifications.decided,
}


def send_email(session: Session, settings: ArchiveSettings, notification_id: int) -> None:
    """The work of one e-mail job: send it when SMTP is set and the person still has an address.

    Without SMTP the job ends quietly (the app shows the notification anyway); an SMTP refusal
    raises, so the job is retried with back-off."""
    found = session.get(Notification, notification_id)
    person = session.get(Person, found.person_id) if found is not None else None
    if found is None or person is None or not person.email or not mail.configured(settings):
        return
    mail.send(settings, mail.message(settings, person, found))
    log.info("notification %s e-mailed", notification_id)
