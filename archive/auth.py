"""Passwords (argon2id) and bearer tokens (HS256 JWT) tied to the person's token version.

A token names the person and the token version it was issued under. Disabling, deleting or
changing the password of an account raises the version, so every earlier token stops working at
the next request. Logging out ends only the one session: the token's id (`jti`) goes into
`revoked_tokens` until the token would have expired anyway, so a stolen cookie is useless from the
moment its owner logs out, and the person stays signed in on their other devices. One primary-key
lookup per request pays for that. Logins pass the throttle first (archive/throttle.py).
"""

from __future__ import annotations

import functools
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from archive import throttle
from archive.db import utcnow
from archive.exceptions import Unauthorized
from archive.login_models import RevokedToken
from archive.models import Person
from archive.schemas import DB_INT_MAX

# OWASP's argon2id configuration (m=19 MiB, t=2, p=1): strong, and a login costs 19 MiB of memory
# rather than argon2-cffi's default 64 MiB, which matters on a small school server.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_ALGORITHM = "HS256"


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so response times do not reveal usernames."""
    return _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _bad_login() -> Unauthorized:
    return Unauthorized(
        "Tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đã bị khóa.",
        "Wrong username or password, or the account is disabled.",
    )


def authenticate(session: Session, username: str, password: str, address: str | None = None) -> Person:
    """The person, if the password is right; throttled per typed username and per client address."""
    gates = throttle.gates(username, address)
    throttle.attempt(session, gates)
    person = session.scalar(select(Person).where(Person.username == username))
    ok = check_password(person.password_hash if person else None, password)
    if person is None or not ok or not person.active:
        raise _bad_login()
    throttle.succeeded(session, gates)
    return person


def confirm_password(session: Session, person: Person, password: str, address: str | None = None) -> bool:
    """Whether `password` is the signed-in person's own, throttled exactly like a login: a session
    left open on a staff-room PC must not become a way to guess the password at full speed (before
    this, POST /auth/password answered every guess at once)."""
    gates = throttle.gates(person.username, address)
    throttle.attempt(session, gates)
    if not check_password(person.password_hash, password):
        return False
    throttle.succeeded(session, gates)
    return True


def issue_token(person: Person, secret: str, ttl_minutes: int) -> str:
    now = utcnow()
    claims = {
        "sub": str(person.id),
        "ver": person.token_version,
        "iat": int(now.timestamp()),
        "jti": secrets.token_urlsafe(18),
        "exp": int((now + timedelta(minutes=ttl_minutes)).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def _decode(token: str, secret: str) -> dict[str, Any]:
    """The signed claims. Their times are checked against hoso's clock (the one that issued them;
    tests pin it), never PyJWT's own time.time(): the callers compare `exp` themselves."""
    return jwt.decode(
        token,
        secret,
        algorithms=[_ALGORITHM],
        options={"require": ["sub", "exp", "ver"], "verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )


def person_from_token(session: Session, token: str, secret: str) -> Person:
    expired = Unauthorized(
        "Phiên đăng nhập không hợp lệ hoặc đã hết hạn; hãy đăng nhập lại.",
        "The session token is invalid or expired; log in again.",
    )
    try:
        claims = _decode(token, secret)
        person_id = int(claims["sub"])
        alive = int(claims["exp"]) > utcnow().timestamp()
    except (jwt.PyJWTError, ValueError, TypeError):
        raise expired from None
    if not alive or not 1 <= person_id <= DB_INT_MAX:  # out of range: no such row (the database would 500)
        raise expired
    person = session.get(Person, person_id)
    if person is None or not person.active or person.deleted_at is not None:
        raise expired
    if claims["ver"] != person.token_version:
        raise expired
    jti = claims.get("jti")
    if isinstance(jti, str) and session.get(RevokedToken, jti) is not None:
        raise expired
    return person


def revoke(session: Session, person: Person, token: str, secret: str) -> None:
    """End this one session now (logging out). A token from before `jti` existed ends them all."""
    claims = _decode(token, secret)
    jti = claims.get("jti")
    now = utcnow()
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))  # the table stays small
    if isinstance(jti, str) and jti:
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        if session.get(RevokedToken, jti) is None:
            session.add(RevokedToken(jti=jti[:64], expires_at=max(expires, now)))
    else:
        person.token_version += 1
        session.add(person)
