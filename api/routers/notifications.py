"""A person's notifications: list with the unread count, mark read, choose what comes by e-mail."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import DbSession, SettingsDep, SignedIn
from archive.notifications import mail
from archive.notifications import service as notify
from archive.notifications.models import Notification
from archive.notifications.schemas import ChoicesIn, ChoicesOut, NotificationList, NotificationOut, ReadIn, ReadOut
from archive.notifications.texts import text

router = APIRouter(tags=["notifications"])


def shown(found: Notification) -> NotificationOut:
    return NotificationOut(
        id=found.id,
        kind=found.kind,
        text=text(found.kind, found.params, "vi"),
        text_en=text(found.kind, found.params, "en"),
        link=found.link,
        created_at=found.created_at,
        updated_at=found.updated_at,
        read=found.read_at is not None,
    )


@router.get("/notifications", response_model=NotificationList)
def list_notifications(person: SignedIn, session: DbSession) -> NotificationList:
    items = [shown(n) for n in notify.recent(session, person)]
    return NotificationList(unread=notify.unread_count(session, person), items=items)


@router.post("/notifications/read", response_model=ReadOut)
def mark_read(body: ReadIn, person: SignedIn, session: DbSession) -> ReadOut:
    marked = notify.mark_read(session, person, body.ids)
    return ReadOut(marked=marked, unread=notify.unread_count(session, person))


def _choices(person: SignedIn, session: DbSession, settings: SettingsDep) -> ChoicesOut:
    email = {kind.value: on for kind, on in notify.choices(session, person).items()}
    return ChoicesOut(email=email, smtp_configured=mail.configured(settings), address=person.email)


@router.get("/notifications/choices", response_model=ChoicesOut)
def get_choices(person: SignedIn, session: DbSession, settings: SettingsDep) -> ChoicesOut:
    return _choices(person, session, settings)


@router.put("/notifications/choices", response_model=ChoicesOut)
def put_choices(body: ChoicesIn, person: SignedIn, session: DbSession, settings: SettingsDep) -> ChoicesOut:
    notify.choose(session, person, body.email)
    return _choices(person, session, settings)
