"""Login (OAuth2 password flow → bearer token), who am I, and password change."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import get_session, get_settings, signed_in
from archive import audit
from archive.auth import authenticate, check_password, issue_token
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
    form: OAuth2PasswordRequestForm = Depends(),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> Token:
    person = authenticate(session, form.username, form.password)
    with write_transaction(session):
        audit.append(session, actor=person, action="auth.login", object_type="person", object_id=person.id)
    return Token(
        access_token=issue_token(person, settings.resolved_secret_key(), settings.token_ttl_minutes),
        must_change_password=person.must_change_password,
    )


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
