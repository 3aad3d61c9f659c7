"""Login (OAuth2 password flow → bearer token, throttled), logout, who am I, and password change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import DbSession, SettingsDep, SignedIn, oauth2
from api.proxies import client_address
from api.web.session import SESSION_COOKIE, clear_session
from archive.auth import confirm_password, issue_token
from archive.exceptions import Unauthorized
from archive.models import Person
from archive.schemas import PasswordChange, PersonOut, Token
from archive.service import change_password, end_session, log_in

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=Token)
def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: DbSession,
    settings: SettingsDep,
) -> Token:
    """A bearer token for the username and password. After 5 wrong passwords in a row for one account
    (30 from one address) each next attempt waits 1, 2, 4 … s, at most 5 minutes: 429 with Retry-After."""
    person = log_in(session, form.username, form.password, client_address(request))
    return Token(
        access_token=issue_token(person, settings.resolved_secret_key(), settings.token_ttl_minutes),
        must_change_password=person.must_change_password,
    )


@router.post("/logout", status_code=204)
def logout(
    request: Request,
    token: Annotated[str | None, Depends(oauth2)],
    person: SignedIn,
    session: DbSession,
    settings: SettingsDep,
) -> Response:
    """End this session: the bearer token (or the page's cookie) is refused from now on."""
    end_session(session, person, token or request.cookies.get(SESSION_COOKIE, ""), settings.resolved_secret_key())
    response = Response(status_code=204)
    clear_session(response)
    return response


@router.get("/me", response_model=PersonOut)
def me(person: SignedIn) -> Person:
    return person


@router.post("/password", response_model=Token)
def password(
    body: PasswordChange, request: Request, person: SignedIn, session: DbSession, settings: SettingsDep
) -> Token:
    """A new password; the current one is checked through the login throttle (429 when guessed at)."""
    if not confirm_password(session, person, body.current_password, client_address(request)):
        raise Unauthorized("Mật khẩu hiện tại không đúng.", "The current password is wrong.")
    change_password(session, person, body.new_password)
    return Token(
        access_token=issue_token(person, settings.resolved_secret_key(), settings.token_ttl_minutes),
        must_change_password=False,
    )
