"""Telling people things: create or update a notification, list, count, mark read, e-mail choices.

`tell` runs inside the caller's write transaction (the audit follower's) and queues the e-mail as a
job in that same transaction, so a notification and its e-mail are both there or neither is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from archive import jobs
from archive.db import utcnow, write_transaction
from archive.exceptions import InvalidInput
from archive.models import Person
from archive.notifications.models import Notification, NotificationChoice, NotificationKind
from archive.notifications.texts import EMAIL_BY_DEFAULT

EMAIL_JOB = "notification.email"


def wants_email(session: Session, person_id: int, kind: NotificationKind) -> bool:
    chosen = session.get(NotificationChoice, (person_id, kind.value))
    return chosen.email if chosen is not None else EMAIL_BY_DEFAULT[kind]


def find(session: Session, person_id: int, kind: NotificationKind, key: str) -> Notification | None:
    return session.scalar(
        select(Notification).where(
            Notification.person_id == person_id, Notification.kind == kind.value, Notification.key == key
        )
    )


def tell(
    session: Session,
    person: Person,
    kind: NotificationKind,
    key: str,
    params: dict[str, Any],
    link: str,
    renew: bool = True,
) -> Notification:
    """Create the notification of (person, kind, key), or update it with new params.

    With `renew`, an update of one already read is shown as new again (more plans wait); without
    it (fewer wait, after the principal's own decisions) it only changes its words. An e-mail goes
    only when the person has not been told by e-mail since they last read it, so 39 submissions
    send one message, not 39."""
    found = find(session, person.id, kind, key)
    now = utcnow()
    if found is None:
        found = Notification(person_id=person.id, kind=kind.value, key=key, created_at=now)
        session.add(found)
    elif found.read_at is not None and renew:
        found.read_at, found.emailed_at = None, None
    found.params, found.link, found.updated_at = params, link, now
    session.flush()
    if found.emailed_at is None and person.email and person.active and wants_email(session, person.id, kind):
        found.emailed_at = now  # claimed for this e-mail; the job sends it (or retries)
        jobs.enqueue(session, EMAIL_JOB, {"notification_id": found.id})
    return found


def settle_for_everyone(session: Session, kind: NotificationKind, key: str) -> None:
    """The subject needs nobody any more (a copy one issuer decided): marked read for all it was told."""
    session.execute(
        update(Notification)
        .where(Notification.kind == kind.value, Notification.key == key, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )


def settle(session: Session, person_id: int, kind: NotificationKind, key: str) -> None:
    """The subject needs nothing any more (no plan waits): mark its notification read."""
    session.execute(
        update(Notification)
        .where(
            Notification.person_id == person_id,
            Notification.kind == kind.value,
            Notification.key == key,
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
    )


def recent(session: Session, person: Person, limit: int = 50) -> list[Notification]:
    query = select(Notification).where(Notification.person_id == person.id)
    return list(session.scalars(query.order_by(Notification.updated_at.desc(), Notification.id.desc()).limit(limit)))


def unread_count(session: Session, person: Person) -> int:
    query = select(func.count()).where(Notification.person_id == person.id, Notification.read_at.is_(None))
    return int(session.scalar(query) or 0)


def mark_read(session: Session, person: Person, ids: Iterable[int] | None = None) -> int:
    """Mark this person's notifications read (`ids`, or all of them); the number marked."""
    query = update(Notification).where(Notification.person_id == person.id, Notification.read_at.is_(None))
    if ids is not None:
        query = query.where(Notification.id.in_(list(ids)))
    with write_transaction(session):
        marked = session.execute(query.values(read_at=utcnow()))
    return int(getattr(marked, "rowcount", 0) or 0)


def opened(session: Session, person: Person, notification_id: int) -> Notification | None:
    """The person's own notification, marked read (None for someone else's or an unknown id)."""
    found = session.get(Notification, notification_id)
    if found is None or found.person_id != person.id:
        return None
    if found.read_at is None:
        mark_read(session, person, [notification_id])
        session.refresh(found)
    return found


def choices(session: Session, person: Person) -> dict[NotificationKind, bool]:
    """Whether each kind goes by e-mail to this person (their choice, else the default)."""
    return {kind: wants_email(session, person.id, kind) for kind in NotificationKind}


def choose(session: Session, person: Person, email: Mapping[str, bool]) -> dict[NotificationKind, bool]:
    """Record the person's e-mail choices (kinds not named keep theirs)."""
    try:
        wanted = {NotificationKind(kind): bool(on) for kind, on in email.items()}
    except ValueError:
        raise InvalidInput(
            "Loại thông báo không có trong danh sách.", "Unknown notification kind.", kinds=sorted(email)
        ) from None
    with write_transaction(session):
        for kind, on in wanted.items():
            row = session.get(NotificationChoice, (person.id, kind.value))
            if row is None:
                session.add(NotificationChoice(person_id=person.id, kind=kind.value, email=on))
            else:
                row.email = on
    return choices(session, person)
