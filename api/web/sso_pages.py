"""Pages of the single sign-on: "Đăng nhập bằng tài khoản của Sở", the provider's return, and after logout.

The checks are in archive/sso.py; these routes carry the browser there and back. Two cookie facts
shape them. The browser value that ties a sign-in to the browser that began it is SameSite=Lax:
the provider sends the person back with a top-level GET from its own site, and a Strict cookie
would not come along. The session cookie is Strict (api/web/session.py), and a browser keeps a
redirect from the provider's site cross-site, so a 303 from the return straight to the home page
would arrive without it and show the login form again (tried: with a 303 there, the browser walk in
tests/web/test_sso.py ends on the login page in Chromium); the return answers with a small page that
moves on by itself (a meta refresh, which counts as this site's own navigation) and a link.
"""

from __future__ import annotations

from urllib.parse import urljoin

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import DbSession, HosoState
from api.proxies import client_address
from api.web.i18n import said, t
from api.web.rendering import render
from api.web.session import VIA_SSO_COOKIE, set_lax_cookie, set_session
from archive.auth import issue_token
from archive.exceptions import TooManyAttempts
from archive.sso import Refusal, SsoRefused, begin, end_session_url, finish
from flows.settings import Settings

router = APIRouter(include_in_schema=False)

BROWSER_COOKIE = "hoso_sso"  # ties a sign-in begun here to this browser (archive/sso.py)
COOKIE_PATH = "/dang-nhap/so"
STATUS = {
    Refusal.state: 400,
    Refusal.token: 401,
    Refusal.provider: 502,
    Refusal.denied: 403,
    Refusal.no_claim: 403,
    Refusal.unknown: 403,
    Refusal.disabled: 403,
    Refusal.ambiguous: 403,
    Refusal.bound: 403,
    Refusal.admin: 403,
}


def redirect_uri(request: Request, settings: Settings) -> str:
    """The return address the provider knows (the setting behind a proxy, else this request's own)."""
    return settings.oidc_redirect_uri or str(request.url_for("sso_return"))


def _refused(request: Request, error: SsoRefused) -> HTMLResponse:
    response = render(
        request,
        "error.html",
        None,
        status_code=STATUS[error.reason],
        heading=t("Không đăng nhập được bằng tài khoản của Sở"),
        message=said(error),
        signed_out=True,
    )
    response.delete_cookie(BROWSER_COOKIE, path=COOKIE_PATH)
    return response


def _too_many(request: Request, error: TooManyAttempts) -> HTMLResponse:
    heading = t("Không đăng nhập được bằng tài khoản của Sở")
    response = render(
        request, "error.html", None, status_code=429, heading=heading, message=said(error), signed_out=True
    )
    response.headers["Retry-After"] = str(error.retry_after)
    return response


def _not_configured(request: Request) -> HTMLResponse:
    message = t("Trường này chưa bật đăng nhập bằng tài khoản của Sở; hãy dùng tên đăng nhập và mật khẩu.")
    return render(request, "error.html", None, status_code=404, message=message, signed_out=True)


@router.get("/dang-nhap/so")
def sso_begin(request: Request, session: DbSession, app_state: HosoState) -> Response:
    settings = app_state.settings
    if not settings.oidc_enabled:
        return _not_configured(request)
    try:
        begun = begin(session, settings, redirect_uri(request, settings), client_address(request))
    except TooManyAttempts as e:
        return _too_many(request, e)
    except SsoRefused as e:
        return _refused(request, e)
    response = RedirectResponse(begun.url, status_code=303)
    set_lax_cookie(response, request, BROWSER_COOKIE, begun.browser, 15 * 60, COOKIE_PATH)
    return response


@router.get("/dang-nhap/so/xong", name="sso_return", response_class=HTMLResponse)
def sso_return(request: Request, session: DbSession, app_state: HosoState) -> Response:
    settings = app_state.settings
    if not settings.oidc_enabled:
        return _not_configured(request)
    params = {k: v for k, v in request.query_params.items() if k in {"code", "state", "error"}}
    browser, address = request.cookies.get(BROWSER_COOKIE), client_address(request)
    try:
        person = finish(session, settings, redirect_uri(request, settings), params, browser, address)
    except TooManyAttempts as e:
        return _too_many(request, e)
    except SsoRefused as e:
        return _refused(request, e)
    ttl = settings.token_ttl_minutes  # never the one-time password change: the Sở vouched (archive/sso.py)
    response = render(request, "sso_done.html", None, target="/trang-chu")
    set_session(response, request, issue_token(person, settings.resolved_secret_key(), ttl), ttl * 60)
    set_lax_cookie(response, request, VIA_SSO_COOKIE, "1", ttl * 60)
    response.delete_cookie(BROWSER_COOKIE, path=COOKIE_PATH)
    return response


@router.get("/dang-xuat/so", response_class=HTMLResponse)
def after_logout(request: Request, app_state: HosoState) -> Response:
    """Signed out of hoso; the provider's own session is still open, so its logout is offered."""
    settings = app_state.settings
    after = urljoin(redirect_uri(request, settings), "/dang-nhap")
    provider_logout = end_session_url(settings, after) if settings.oidc_enabled else None
    response = render(request, "sso_logged_out.html", None, provider_logout=provider_logout)
    response.delete_cookie(VIA_SSO_COOKIE, path="/")
    return response
