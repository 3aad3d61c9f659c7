"""Login (OAuth2 password flow → bearer token, throttled), logout, who am I, and password change."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import get_session, get_settings, oauth2, signed_in
from api.proxies import client_address
from api.web.session import SESSION_COOKIE, clear_session
from archive import audit
from archive.auth import authenticate, check_password, issue_token, revoke
from archive.db import write_transaction
from archive.exceptions import Unauthorized
from archive.models import Person
from archive.schemas import PasswordChange, PersonOut
from archive.service import change_password
from archive.settings import Settings

router = APIRouter(prefix="/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    must_change_password: bool


@router.post("/token", response_model=Token)
def login(
    request: Request,
    form: OAuth2PasswordRequestForm = Depends(),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Token:
    """A bearer token for the username and password. After 5 wrong passwords in a row for one account
    (30 from one address) each next attempt waits 1, 2, 4 … s, at most 5 minutes: 429 with Retry-After."""
    person = authenticate(session, form.username, form.password, client_address(request))
    with write_transaction(session):
        audit.append(session, actor=person, action="auth.login", object_type="person", object_id=person.id)
    return Token(
        access_token=issue_token(person, settings.resolved_secret_key(), settings.token_ttl_minutes),
        must_change_password=person.must_change_password,
    )


def end_session(session: Session, person: Person, token: str, secret: str) -> None:
    """Log out: this token stops working at once, on every server (the API and the pages' cookie alike)."""
    with write_transaction(session):
        revoke(session, person, token, secret)
        audit.append(session, actor=person, action="auth.logout", object_type="person", object_id=person.id)


@router.post("/logout", status_code=204)
def logout(
    request: Request,
    token: str | None = Depends(oauth2),
    person: Person = Depends(signed_in),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Response:
    """End this session: the bearer token (or the page's cookie) is refused from now on."""
    end_session(session, person, token or request.cookies.get(SESSION_COOKIE, ""), settings.resolved_secret_key())
    response = Response(status_code=204)
    clear_session(response)
    return response


@router.get("/me", response_model=PersonOut)
def me(person: Person = Depends(signed_in)) -> Person:
    return person


@router.post("/password", response_model=Token)
def password(
    body: PasswordChange,
    person: Person = Depends(signed_in),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Token:
    if not check_password(person.password_hash, body.current_password):
        raise Unauthorized("Mật khẩu hiện tại không đúng.", "The current password is wrong.")
    change_password(session, person, body.new_password)
    return Token(
        access_token=issue_token(person, settings.resolved_secret_key(), settings.token_ttl_minutes),
        must_change_password=False,
    )
