"""The append-only audit log, chained by SHA-256 so that an edited or removed event is detectable.

Each event's hash covers its own canonical JSON and the previous event's hash; the head row holds
the last sequence number and hash. Appends must happen inside `archive.db.write_transaction`, which
has already locked the head row, so two writers can never extend the chain from the same event.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.db import utcnow
from archive.models import AuditEvent, AuditHead, Person

GENESIS = "0" * 64


def _canonical_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(event: AuditEvent) -> str:
    """Hash of one event's content and its predecessor's hash (sorted-key JSON, UTF-8)."""
    return hash_body(event_body(event))


def event_body(event: AuditEvent) -> dict[str, Any]:
    """What an event's hash covers, as plain JSON: an excerpt carried out of hoso re-computes from it."""
    return {
        "seq": event.seq,
        "at": _canonical_time(event.at),
        "actor_id": event.actor_id,
        "actor": event.actor,
        "action": event.action,
        "school_id": event.school_id,
        "record_id": event.record_id,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "details": event.details,
        "prev_hash": event.prev_hash,
    }


def hash_body(body: dict[str, Any]) -> str:
    data = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(data).hexdigest()


def append(
    session: Session,
    *,
    actor: Person | None,
    action: str,
    object_type: str,
    object_id: str | int,
    school_id: int | None = None,
    record_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    head = session.get(AuditHead, 1, populate_existing=True)
    assert head is not None, "audit_head row missing: run `hoso db upgrade`"
    event = AuditEvent(
        seq=head.seq + 1,
        # Whole microseconds in UTC: both databases store them exactly, so the hash re-computes.
        at=utcnow(),
        actor_id=actor.id if actor else None,
        actor=actor.username if actor else "system",
        action=action,
        school_id=school_id,
        record_id=record_id,
        object_type=object_type,
        object_id=str(object_id),
        details=details or {},
        prev_hash=head.hash,
    )
    event.hash = event_hash(event)
    head.seq = event.seq
    head.hash = event.hash
    session.add(event)
    return event


@dataclass
class ChainReport:
    checked: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(session: Session, batch: int = 5000) -> ChainReport:
    """Walk the whole log in order: every hash recomputes, links follow, no sequence is missing."""
    problems: list[str] = []
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last_seq).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            break
        for event in rows:
            if event.seq != expected_seq:
                problems.append(f"events {expected_seq}..{event.seq - 1} are missing")
            if event.prev_hash != prev_hash:
                problems.append(f"event {event.seq}: does not link to the event before it")
            if event_hash(event) != event.hash:
                problems.append(f"event {event.seq}: content was altered (hash mismatch)")
            prev_hash, expected_seq, last_seq = event.hash, event.seq + 1, event.seq
            checked += 1
            session.expunge(event)  # keep memory flat on a long log, and leave the caller's objects be
    head = session.get(AuditHead, 1, populate_existing=True)
    if head is not None and (head.seq != last_seq or head.hash != prev_hash):
        problems.append(f"the chain ends at event {last_seq} but the head records event {head.seq}")
    return ChainReport(checked=checked, problems=problems)
