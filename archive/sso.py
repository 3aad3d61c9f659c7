"""Single sign-on with the Sở GDĐT's OpenID provider: authorization code with PKCE, linked to people hoso knows.

A Sở runs one identity provider (Keycloak, the ministry's SSO) for all its schools; a school running
alone keeps its local passwords, and both can be on. The provider only says who someone is. At a
person's first sign-in the configured claim (`preferred_username`, `email`, or the ministry's staff
ID claim) is compared with one field of an existing hoso person (`oidc_link`, without case but for
the staff ID), and the account's `iss|sub` is then stored on that person (`Person.oidc_subject`);
every later sign-in matches on that alone. A review found why (issue #17): linked by the claim on
every visit, whoever came to carry a matching `preferred_username` or e-mail at the provider (a
renamed account, a reused address) became that hoso person; `sub` is the provider's own name for
the account, never reassigned (OIDC Core §2). A claim that matches a person already bound to
another account is refused. Administrators are refused unless `oidc_allow_admins`: the archive's
keys should not hang on a claim at somebody else's server. Nobody is created here and no role comes
from the provider: roles are still granted in hoso, so a stranger with a valid Sở account gets a
refusal, not an empty account. A one-time password waiting to be changed is dropped at an SSO
login: the person signs in through the Sở, and a printed password left valid would be a way in.

Why authlib (with joserfc, which it uses for JOSE): it is the maintained Python OAuth/OIDC library
with the pieces this needs and no framework tie — the PKCE S256 challenge, the token request with
client authentication, and `CodeIDToken`, which checks nonce, `at_hash` and `azp` as OpenID Connect
Core §3.1.3.7 says. What is left here is the order of the checks and the link to a person. Its
requests-based session, not its httpx one: authlib 1.9 marks the httpx client deprecated (it wants
httpx2), and its Starlette client keeps the state in one server's signed session, async only.

Every check a tampered answer could slip past is made: the `state` must be one this archive sent,
from this browser, not used before and younger than `PENDING_TTL`; the ID token's signature against
the provider's JWKS (asymmetric algorithms only), its issuer, that this client is its audience, its
expiry and its nonce. The ID token's times are the provider's, real time (archive/calendar.py: a
third party's clock never follows a test's pin); the hoso session it opens follows hoso's clock.

The pending sign-in lives in the database (`sso_logins`), not in a process: the provider may send
the person back to any of the server processes. Both routes are anonymous and write, so each client
address passes archive/throttle.py's gates on each (a finished sign-in gives its attempts back).
Each login is audited, and each refusal after the state check; a return with a state this archive
never sent, or from another browser, gets the refusal page and a log line only (anyone can send
those, and an audit row per request would be a free write under the global write lock). The browser
is checked before the pending row is deleted: a state that leaked (a log, a referrer) must not let
a stranger cancel the sign-in of the person it belongs to.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2 import OAuth2Error
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from archive import audit, throttle
from archive.access import is_admin
from archive.db import utcnow, write_transaction
from archive.exceptions import Unauthorized
from archive.login_models import SsoLogin
from archive.models import Person
from archive.settings import ArchiveSettings, SsoLink

log = logging.getLogger(__name__)
PENDING_TTL = timedelta(minutes=10)  # to type a password and pass a second factor at the provider
LEEWAY_SECONDS = 60  # clock skew allowed between this server and the provider
HTTP_TIMEOUT = 10.0
# Asymmetric signatures only: an HMAC-signed ID token would be keyed with our own client secret.
SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


class Refusal(StrEnum):
    state = "state"  # no such sign-in begun here, from another browser, used already, or too old
    denied = "denied"  # the person (or the provider) said no
    provider = "provider"  # the provider could not be reached or answered an error
    token = "token"  # the ID token failed a check
    no_claim = "no_claim"  # the provider sent no value for the linking claim
    unknown = "unknown"  # no hoso person has that value
    disabled = "disabled"  # that person's account is disabled or deleted
    ambiguous = "ambiguous"  # several people have that value
    bound = "bound"  # the person that value names is bound to another account of the provider
    admin = "admin"  # an administrator, who signs in with the hoso password (unless oidc_allow_admins)


_MESSAGES: dict[Refusal, tuple[str, str]] = {
    Refusal.state: (
        "Lượt đăng nhập này không hợp lệ hoặc đã hết hạn (quá 10 phút, hoặc đã dùng rồi). Hãy đăng nhập lại từ đầu.",
        "This sign-in is invalid or expired (over 10 minutes old, or already used). Start the sign-in again.",
    ),
    Refusal.denied: (
        "Đăng nhập bằng tài khoản của Sở đã bị từ chối hoặc bị hủy. Hãy thử lại, hoặc dùng mật khẩu của trường.",
        "Sign-in with the Sở account was refused or cancelled. Try again, or use the school password.",
    ),
    Refusal.provider: (
        "Không liên lạc được với máy chủ đăng nhập của Sở. Hãy thử lại sau ít phút, hoặc dùng mật khẩu của trường.",
        "The Sở's sign-in server could not be reached. Try again in a few minutes, or use the school password.",
    ),
    Refusal.token: (
        "Máy chủ đăng nhập của Sở gửi về một xác nhận không hợp lệ. Hãy đăng nhập lại; nếu vẫn lỗi, báo quản trị.",
        "The Sở's sign-in server sent back an invalid confirmation. Sign in again; if it persists, tell the admin.",
    ),
    Refusal.no_claim: (
        "Tài khoản của Sở không có thông tin dùng để nhận ra bạn trong hoso. Hãy báo quản trị của trường.",
        "The Sở account carries no value that hoso recognises you by. Tell the school administrator.",
    ),
    Refusal.unknown: (
        "Tài khoản của Sở này chưa được gắn với người dùng nào trong hoso. Hãy nhờ quản trị của trường thêm bạn.",
        "This Sở account is not linked to anyone in hoso. Ask the school administrator to add you.",
    ),
    Refusal.disabled: (
        "Tài khoản hoso của bạn đã bị khóa. Hãy liên hệ quản trị của trường.",
        "Your hoso account is disabled. Contact the school administrator.",
    ),
    Refusal.ambiguous: (
        "Có nhiều người dùng trong hoso trùng thông tin này, nên không thể đăng nhập. Hãy báo quản trị của trường.",
        "Several hoso people share this value, so sign-in is refused. Tell the school administrator.",
    ),
    Refusal.bound: (
        "Người dùng hoso này đã được gắn với một tài khoản khác của Sở. Hãy đăng nhập bằng tài khoản đó, "
        "hoặc báo quản trị của trường.",
        "This hoso person is bound to another Sở account. Sign in with that account, or tell the school administrator.",
    ),
    Refusal.admin: (
        "Tài khoản quản trị hệ thống không đăng nhập được bằng tài khoản của Sở; hãy dùng tên đăng nhập "
        "và mật khẩu của hoso.",
        "Administrator accounts cannot sign in with the Sở account; use the hoso username and password.",
    ),
}


class SsoRefused(Unauthorized):
    """A sign-in through the provider that hoso refused; `reason` says which check it failed."""

    code = "sso_refused"

    def __init__(self, reason: Refusal, person: Person | None = None) -> None:
        vi, en = _MESSAGES[reason]
        super().__init__(vi, en, reason=reason.value)
        self.reason = reason
        self.person = person  # the account it matched (disabled, bound elsewhere, an admin), for the audit trail


@dataclass(frozen=True)
class Begun:
    url: str  # where to send the browser
    browser: str  # the value the browser keeps (a cookie) until it comes back


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _get_json(url: str, bearer: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    try:
        response = requests.get(url, headers=headers, timeout=HTTP_TIMEOUT, allow_redirects=False)
        response.raise_for_status()
        body = response.json()
    except (requests.RequestException, ValueError):
        raise SsoRefused(Refusal.provider) from None
    if not isinstance(body, dict):
        raise SsoRefused(Refusal.provider)
    return body


_metadata_cache: dict[str, tuple[float, dict[str, Any]]] = {}


def metadata(issuer: str) -> dict[str, Any]:
    """The provider's discovery document, kept an hour in this process (it is the provider's, not ours)."""
    cached = _metadata_cache.get(issuer)
    if cached and time.monotonic() - cached[0] < 3600:
        return cached[1]
    found = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    # The provider's own spelling of its issuer is the one its tokens carry (a trailing "/" in the
    # setting is forgiven); any other issuer is someone else's document (OIDC Discovery §4.3).
    named = found.get("issuer")
    if not isinstance(named, str) or named.rstrip("/") != issuer.rstrip("/"):
        raise SsoRefused(Refusal.provider)
    if not {"authorization_endpoint", "token_endpoint", "jwks_uri"} <= set(found):
        raise SsoRefused(Refusal.provider)
    _metadata_cache[issuer] = (time.monotonic(), found)
    return found


def end_session_url(settings: ArchiveSettings, after_logout: str) -> str | None:
    """The provider's own logout (RP-initiated logout), to offer after hoso's session ended."""
    try:
        endpoint = metadata(settings.oidc_issuer or "").get("end_session_endpoint")
    except SsoRefused:
        return None
    if not isinstance(endpoint, str):
        return None
    query = urlencode({"client_id": settings.oidc_client_id or "", "post_logout_redirect_uri": after_logout})
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def _client(settings: ArchiveSettings, redirect_uri: str) -> OAuth2Session:
    return OAuth2Session(
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        scope=settings.oidc_scopes,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        default_timeout=HTTP_TIMEOUT,
    )


def _gates(route: str, address: str | None) -> list[throttle.Gate]:
    """This client address's gate on one of the two routes (none when the address is unknown)."""
    return [throttle.Gate(f"sso-{route}:{address[:80]}", throttle.ADDRESS_FREE)] if address else []


def begin(session: Session, settings: ArchiveSettings, redirect_uri: str, address: str | None = None) -> Begun:
    """Start a sign-in: a fresh state, nonce and PKCE verifier kept in the database, and the provider's URL.
    TooManyAttempts when this address began too many that it did not finish."""
    throttle.attempt(session, _gates("begin", address))
    found = metadata(settings.oidc_issuer or "")
    state, nonce, verifier, browser = (secrets.token_urlsafe(32) for _ in range(4))
    with write_transaction(session):  # the table keeps only the sign-ins of the last few minutes
        session.execute(delete(SsoLogin).where(SsoLogin.created_at < utcnow() - PENDING_TTL))
        session.add(SsoLogin(state=state, browser_hash=_digest(browser), nonce=nonce, code_verifier=verifier))
    with _client(settings, redirect_uri) as client:
        url, _ = client.create_authorization_url(
            found["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
        )
    return Begun(url=url, browser=browser)


def _take_pending(session: Session, state: str, browser: str | None, address: str | None) -> SsoLogin:
    """The sign-in this state names, if this browser began it, then deleted (a state works once).
    Nothing is written for a state that is unknown or another browser's."""
    pending = session.get(SsoLogin, state[:64]) if state else None
    session.commit()  # end the read snapshot either way
    if pending is None or not browser or not hmac.compare_digest(pending.browser_hash, _digest(browser)):
        why = "no such state" if pending is None else "another browser's state"
        log.warning("SSO return from %s refused: %s", address, why)
        raise SsoRefused(Refusal.state)
    with write_transaction(session):  # the same browser twice at once: only one of them finds it still there
        still = session.get(SsoLogin, pending.state, populate_existing=True)
        if still is not None:
            session.delete(still)
    if still is None or pending.created_at < utcnow() - PENDING_TTL:
        log.warning("SSO return from %s refused: %s", address, "used already" if still is None else "expired")
        raise SsoRefused(Refusal.state)
    return pending


def _exchange(settings: ArchiveSettings, redirect_uri: str, code: str, pending: SsoLogin) -> dict[str, Any]:
    token_endpoint = metadata(settings.oidc_issuer or "")["token_endpoint"]
    try:
        with _client(settings, redirect_uri) as client:
            token = client.fetch_token(token_endpoint, code=code, code_verifier=pending.code_verifier)
    except (requests.RequestException, OAuth2Error, ValueError):
        raise SsoRefused(Refusal.provider) from None
    if not isinstance(token, Mapping) or not isinstance(token.get("id_token"), str):
        raise SsoRefused(Refusal.token)
    return dict(token)


def validate_id_token(settings: ArchiveSettings, token: Mapping[str, Any], nonce: str) -> dict[str, Any]:
    """The ID token's claims, once its signature, issuer, audience, expiry, nonce and at_hash hold."""
    found = metadata(settings.oidc_issuer or "")
    offered = found.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [a for a in SIGNING_ALGORITHMS if isinstance(offered, list) and a in offered]
    if not algorithms:  # joserfc given no list takes its defaults, HS256 among them: refuse, never fall open
        log.warning(
            "%s signs ID tokens with none of %s (it offers %s)", settings.oidc_issuer, SIGNING_ALGORITHMS, offered
        )
        raise SsoRefused(Refusal.provider)
    try:
        keys = KeySet.import_key_set(_get_json(found["jwks_uri"]))  # type: ignore[arg-type]
        decoded = jwt.decode(str(token["id_token"]), keys, algorithms=algorithms)
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": found["issuer"]},
                "aud": {"essential": True, "value": settings.oidc_client_id},
            },
            {"nonce": nonce, "client_id": settings.oidc_client_id, "access_token": token.get("access_token")},
        )
        claims.validate(now=int(time.time()), leeway=LEEWAY_SECONDS)  # the provider's clock: real time
    except (JoseError, ValueError, KeyError, TypeError) as e:  # a JWKS that fails to import is the provider's fault too
        log.warning("ID token from %s refused: %s: %s", settings.oidc_issuer, type(e).__name__, e)  # for the admin
        raise SsoRefused(Refusal.token) from None
    return dict(claims)


def _userinfo(settings: ArchiveSettings, token: Mapping[str, Any], subject: str) -> dict[str, Any]:
    """Claims the ID token left out (providers put profile claims in either place), for the same subject."""
    endpoint = metadata(settings.oidc_issuer or "").get("userinfo_endpoint")
    if not isinstance(endpoint, str) or not token.get("access_token"):
        return {}
    info = _get_json(endpoint, bearer=str(token["access_token"]))
    return info if info.get("sub") == subject else {}


def _link_value(settings: ArchiveSettings, claims: Mapping[str, Any]) -> str:
    value = claims.get(settings.oidc_claim)
    if settings.oidc_link == SsoLink.email and claims.get("email_verified") is not True:
        value = None  # an address the provider never confirmed could be anybody's
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise SsoRefused(Refusal.no_claim)
    return str(value).strip()


def linked_person(session: Session, link: SsoLink, value: str) -> Person:
    """The one person whose `link` field is `value` (username and e-mail compared without case), else a refusal."""
    field = getattr(Person, link.value)
    match = field == value if link == SsoLink.national_id else func.lower(field) == value.lower()
    people = list(session.scalars(select(Person).where(match).limit(2)))
    if not people:
        raise SsoRefused(Refusal.unknown)
    if len(people) > 1:
        raise SsoRefused(Refusal.ambiguous)
    person = people[0]
    if not person.active or person.deleted_at is not None:
        raise SsoRefused(Refusal.disabled, person)
    return person


def refuse(session: Session, settings: ArchiveSettings, error: SsoRefused, details: dict[str, Any]) -> None:
    """Audit a refused sign-in (who it was, as far as the provider said, and which check failed)."""
    with write_transaction(session):
        audit.append(
            session,
            actor=error.person,
            action="auth.sso_refused",
            object_type="sso",
            object_id=error.reason.value,
            details={"issuer": settings.oidc_issuer, "reason": error.reason.value, **details},
        )


def _subject(claims: Mapping[str, Any]) -> str:
    """`iss|sub`: the provider's stable name for the account (the issuer was checked already)."""
    subject = f"{claims.get('iss')}|{claims.get('sub')}"
    if not isinstance(claims.get("sub"), str) or not claims["sub"] or len(subject) > 600:
        raise SsoRefused(Refusal.token)
    return subject


def _person_for(
    session: Session,
    settings: ArchiveSettings,
    token: Mapping[str, Any],
    claims: Mapping[str, Any],
    seen: dict[str, Any],
) -> Person:
    """The person bound to this account; else, at a first sign-in, the one the claim names (if unbound)."""
    subject = _subject(claims)
    person = session.scalar(select(Person).where(Person.oidc_subject == subject))
    if person is None:
        if settings.oidc_claim not in claims:
            claims = {**_userinfo(settings, token, claims["sub"]), **claims}
        value = _link_value(settings, claims)
        seen["claim"] = {settings.oidc_claim: value}
        person = linked_person(session, settings.oidc_link, value)
        if person.oidc_subject is not None:  # bound to another account: a matching claim is not enough
            raise SsoRefused(Refusal.bound, person)
    if not person.active or person.deleted_at is not None:
        raise SsoRefused(Refusal.disabled, person)
    if is_admin(person) and not settings.oidc_allow_admins:
        raise SsoRefused(Refusal.admin, person)
    return person


def _sign_in(session: Session, settings: ArchiveSettings, person: Person, subject: str, seen: dict[str, Any]) -> None:
    """Bind the account at the first sign-in, drop a one-time password, audit the login: one transaction."""
    details = {"issuer": settings.oidc_issuer, **seen}
    with write_transaction(session):
        session.refresh(person)  # as it is now, under the write lock: another sign-in may have bound it
        taken = session.scalar(select(Person.id).where(Person.oidc_subject == subject))
        if person.oidc_subject not in (None, subject) or taken not in (None, person.id):
            raise SsoRefused(Refusal.bound, person)
        if person.oidc_subject is None:
            person.oidc_subject = subject
            audit.append(
                session,
                actor=person,
                action="auth.sso_bound",
                object_type="person",
                object_id=person.id,
                details=details,
            )
        login = details
        if person.must_change_password:  # signed in through the Sở: the local password change is not forced
            person.must_change_password = False
            person.password_hash = None
            login = {**details, "one_time_password_dropped": True}
        audit.append(
            session, actor=person, action="auth.sso_login", object_type="person", object_id=person.id, details=login
        )


def finish(
    session: Session,
    settings: ArchiveSettings,
    redirect_uri: str,
    params: Mapping[str, str],
    browser: str | None,
    address: str | None = None,
) -> Person:
    """Finish a sign-in from the provider's answer (`params` of the callback); audit it either way once
    the state is this browser's. TooManyAttempts when this address sent too many returns."""
    returning = _gates("return", address)
    throttle.attempt(session, returning)
    pending = _take_pending(session, params.get("state", ""), browser, address)
    seen: dict[str, Any] = {}
    try:
        if params.get("error") or not params.get("code"):
            seen["provider_error"] = str(params.get("error", ""))[:100]
            raise SsoRefused(Refusal.denied)
        token = _exchange(settings, redirect_uri, params["code"], pending)
        claims = validate_id_token(settings, token, pending.nonce)
        seen["sub"] = claims["sub"]
        person = _person_for(session, settings, token, claims, seen)
        _sign_in(session, settings, person, _subject(claims), seen)
    except SsoRefused as e:
        refuse(session, settings, e, seen)
        raise
    if returning:  # a finished sign-in: its return starts afresh and its begin is given back
        throttle.succeeded(session, [*returning, *_gates("begin", address)])
    return person
