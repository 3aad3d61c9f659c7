"""Cookie sessions for the pages, with CSRF protection.

The page session is the same signed token the API issues, kept in an HttpOnly, SameSite=Strict
cookie (Secure over HTTPS), so a page never holds a secret a script could read. Every form and
every state-changing API call made with the cookie carries a CSRF token: an HMAC of the session
token (or, before login, of a random per-browser value in its own cookie) under the server key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

SESSION_COOKIE = "hoso_session"
PRELOGIN_COOKIE = "hoso_pre"
VIA_SSO_COOKIE = "hoso_via_sso"  # this browser's session came from the Sở's provider (api/web/sso_pages.py)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def csrf_for(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{value}".encode(), hashlib.sha256).hexdigest()[:40]


def csrf_ok(secret: str, value: str | None, given: str | None) -> bool:
    return bool(value and given) and hmac.compare_digest(csrf_for(secret, value or ""), given or "")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def set_session(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="strict", secure=_secure(request), path="/"
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def new_prelogin_value() -> str:
    """A random value the login form's CSRF token is bound to, before anyone is signed in."""
    return secrets.token_urlsafe(24)


def set_prelogin(response: Response, request: Request, value: str) -> None:
    response.set_cookie(PRELOGIN_COOKIE, value, httponly=True, samesite="strict", secure=_secure(request), path="/")


def set_lax_cookie(response: Response, request: Request, name: str, value: str, max_age: int, path: str = "/") -> None:
    """An HttpOnly cookie that a top-level GET from another site (the Sở's sign-in server) still carries."""
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", secure=_secure(request), path=path)
