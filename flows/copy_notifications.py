"""Who is told about a copy for use: an authenticated copy waits for a person, so the people who issue
it (the school's clerks and principal) hear of the request, and the requester hears the decision.

A read copy or a BẢN SAO copy is ready the moment it is asked for: nobody waits, nobody is told.
The events come from the audit log (`flows/notifications.follow` calls these handlers), so a request
made over the API, the CLI or a page is told the same way, once.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import AuditEvent, Membership, Person, Record
from archive.notifications import service as notify
from archive.notifications.models import NotificationKind
from retention.copies.models import CopyKind, CopyRequest
from retention.copies.service import ISSUERS

LINK = "/ban-sao"


def _copy(session: Session, event: AuditEvent) -> tuple[CopyRequest, Record] | None:
    copy = session.get(CopyRequest, event.object_id) if event.object_id else None
    if copy is None or copy.kind != CopyKind.authenticated.value:
        return None
    record = session.get(Record, copy.record_id)
    return (copy, record) if record is not None else None


def requested(session: Session, event: AuditEvent, _waiting: set[tuple[int, str]]) -> None:
    found = _copy(session, event)
    if found is None:
        return
    copy, record = found
    issuers = session.scalars(
        select(Person)
        .join(Membership, Membership.person_id == Person.id)
        .where(
            Membership.school_id == copy.school_id,
            Membership.role.in_([role.value for role in ISSUERS]),
            Person.deleted_at.is_(None),
            Person.active.is_(True),
        )
        .distinct()
    )
    params = {"title": record.title, "requester": copy.requested_by.full_name}
    for issuer in issuers:
        if issuer.id != copy.requested_by_id:
            notify.tell(session, issuer, NotificationKind.copy_waiting, copy.id, params, LINK)


def decided(session: Session, event: AuditEvent, _waiting: set[tuple[int, str]]) -> None:
    found = _copy(session, event)
    if found is None:
        return
    copy, record = found
    notify.settle_for_everyone(session, NotificationKind.copy_waiting, copy.id)  # it waits for nobody now
    if copy.requested_by_id == event.actor_id:
        return
    issued = event.action == "copy.issued"
    params = {
        "title": record.title,
        "outcome_vi": "đã được cấp" if issued else f"bị từ chối: {copy.refuse_reason or ''}",
        "outcome": "was issued" if issued else f"was refused: {copy.refuse_reason or ''}",
    }
    notify.tell(session, copy.requested_by, NotificationKind.copy_decided, copy.id, params, LINK)
