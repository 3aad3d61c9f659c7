"""The notifications page: what the person was told, opening one (marked read), and their e-mail choices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.deps import get_session, state
from api.web.forms import form_poster, local_target, posted_form
from api.web.i18n import lang
from api.web.rendering import page_viewer, render
from archive.notifications import mail
from archive.notifications import service as notify
from archive.notifications.models import NotificationKind
from archive.notifications.texts import KIND_VI, text

router = APIRouter(include_in_schema=False)


@router.get("/thong-bao", response_class=HTMLResponse)
def notifications_page(request: Request, session: Session = Depends(get_session), saved: str = "") -> Response:
    person = page_viewer(request, session)
    if isinstance(person, Response):
        return person
    items = [(n, text(n.kind, n.params, lang())) for n in notify.recent(session, person)]
    chosen = notify.choices(session, person)
    session.commit()
    return render(
        request,
        "notifications.html",
        person,
        items=items,
        unread=sum(1 for n, _ in items if n.read_at is None),
        choices=[(kind.value, KIND_VI[kind], on) for kind, on in chosen.items()],
        smtp=mail.configured(state(request).settings),
        saved=saved == "1",
    )


@router.get("/thong-bao/{notification_id}")
def open_notification(notification_id: int, request: Request, session: Session = Depends(get_session)) -> Response:
    """Follow a notification (from the list or an e-mail's link): marked read, then its page."""
    person = page_viewer(request, session)
    if isinstance(person, Response):
        return person
    found = notify.opened(session, person, notification_id)
    return RedirectResponse(local_target(found.link, "/thong-bao") if found else "/thong-bao", status_code=303)


@router.post("/thong-bao/da-doc")
def read_all(
    request: Request, csrf_token: Annotated[str, Form()] = "", session: Session = Depends(get_session)
) -> Response:
    person = form_poster(request, session, csrf_token)
    if isinstance(person, Response):
        return person
    notify.mark_read(session, person)
    return RedirectResponse("/thong-bao", status_code=303)


@router.post("/thong-bao/lua-chon")
def choose(
    request: Request, form: FormData = Depends(posted_form), session: Session = Depends(get_session)
) -> Response:
    """The ticked kinds come by e-mail too; the unticked ones only in the app."""
    person = form_poster(request, session, str(form.get("csrf_token", "")))
    if isinstance(person, Response):
        return person
    ticked = set(form.getlist("email"))
    notify.choose(session, person, {kind.value: kind.value in ticked for kind in NotificationKind})
    return RedirectResponse("/thong-bao?saved=1", status_code=303)
