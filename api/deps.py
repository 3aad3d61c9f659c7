"""FastAPI dependencies: the session, the store, the signed-in person and role checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from archive import access
from archive.auth import person_from_token
from archive.exceptions import Forbidden, Unauthorized
from archive.models import Person
from archive.storage import ObjectStore
from flows.settings import Settings
from flows.state import AppState

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def state(request: Request) -> AppState:
    return request.app.state.hoso  # type: ignore[no-any-return]


def get_session(request: Request) -> Iterator[Session]:
    session = state(request).sessions()
    try:
        yield session
    finally:
        session.close()


def get_store(request: Request) -> ObjectStore:
    return state(request).store


def get_settings(request: Request) -> Settings:
    return state(request).settings


def signed_in(request: Request, token: str | None = Depends(oauth2), session: Session = Depends(get_session)) -> Person:
    """The person behind the bearer token (or the page's session cookie), even one who must still
    change a one-time password. A state-changing call made with the cookie must carry the CSRF header."""
    from api.web.session import CSRF_HEADER, SESSION_COOKIE, csrf_ok

    secret = state(request).settings.resolved_secret_key()
    if not token:
        token = request.cookies.get(SESSION_COOKIE)
        unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
        if token and unsafe and not csrf_ok(secret, token, request.headers.get(CSRF_HEADER)):
            raise Forbidden(
                "Thiếu mã chống giả mạo (CSRF); hãy tải lại trang.", "Missing or wrong CSRF token; reload the page."
            )
    if not token:
        raise Unauthorized("Bạn cần đăng nhập.", "You need to log in.")
    person = person_from_token(session, token, secret)
    _ = person.memberships  # load roles now, then end the read transaction before long uploads
    session.commit()
    return person


def current_user(person: Person = Depends(signed_in)) -> Person:
    if person.must_change_password:
        raise Forbidden(
            "Bạn phải đổi mật khẩu dùng một lần trước (POST /api/v1/auth/password).",
            "Change your one-time password first (POST /api/v1/auth/password).",
        )
    return person


def admin_user(person: Person = Depends(current_user)) -> Person:
    access.require_admin(person)
    return person


# The dependencies every router repeats, as `Annotated` aliases: `person: CurrentUser` instead of
# `person: Person = Depends(current_user)`. FastAPI resolves them the same way.
DbSession = Annotated[Session, Depends(get_session)]
HosoState = Annotated[AppState, Depends(state)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[ObjectStore, Depends(get_store)]
SignedIn = Annotated[Person, Depends(signed_in)]
CurrentUser = Annotated[Person, Depends(current_user)]
AdminUser = Annotated[Person, Depends(admin_user)]
