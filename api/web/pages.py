"""Pages: log in, each role's home, search, a record (with its signatures, audit trail and player).

Each page calls the same functions the API routes use, so what a person sees in the browser is
what the API would answer them: the same access rules, the same audit events (an inspector's
view is audited here as it is over the API). Forms carry a CSRF token; a refused form comes back
with the message next to the field and the values kept.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import AppState, DbSession, HosoState, state
from api.proxies import client_address
from api.web import labels, playback, scan_view
from api.web.forms import form_poster, local_target
from api.web.i18n import LANG_COOKIE, LANGS, said, t
from api.web.menu import EXPORTERS, may
from api.web.rendering import FACET_VI, page_viewer, render, to_login, viewer, vn_date
from api.web.session import (
    CSRF_FIELD,
    PRELOGIN_COOKIE,
    SESSION_COOKIE,
    VIA_SSO_COOKIE,
    clear_session,
    csrf_for,
    csrf_ok,
    new_prelogin_value,
    set_prelogin,
    set_session,
)
from archive import calendar, preview, renditions, service
from archive.auth import issue_token, person_from_token
from archive.exceptions import HosoError, TooManyAttempts
from archive.models import Dossier, Person, Record, RecordStatus, RenditionTarget
from flows import home as home_flow
from flows import search as scoped_search
from retention import service as retention
from search.documents import FACETS
from signing import periods, seal, workflow
from signing import service as signing_service
from signing.models import ApprovalBatch

router = APIRouter(include_in_schema=False)


@router.get("/")
def root(request: Request, session: DbSession) -> Response:
    return RedirectResponse("/trang-chu", status_code=303) if viewer(request, session) else to_login()


def _login_page(request: Request, status_code: int, username: str, error: str) -> HTMLResponse:
    """The login form, its CSRF token bound to a per-browser value set in its own cookie."""
    value = request.cookies.get(PRELOGIN_COOKIE) or new_prelogin_value()
    secret = state(request).settings.resolved_secret_key()
    response = render(
        request,
        "login.html",
        None,
        status_code=status_code,
        username=username,
        error=error,
        login_csrf=csrf_for(secret, value),
        sso=state(request).settings.oidc_enabled,
    )
    set_prelogin(response, request, value)
    return response


@router.get("/ngon-ngu")
def choose_language(lang: str = "vi", next: str = "/") -> Response:
    """Tiếng Việt / English, kept in a cookie for a year; back to the page the person was on."""
    response = RedirectResponse(local_target(next), status_code=303)
    response.set_cookie(LANG_COOKIE, lang if lang in LANGS else "vi", max_age=365 * 24 * 3600, samesite="lax")
    return response


@router.get("/dang-nhap", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return _login_page(request, 200, "", "")


@router.post("/dang-nhap")
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form("", alias=CSRF_FIELD),
    *,
    session: DbSession,
    app_state: HosoState,
) -> Response:
    secret = app_state.settings.resolved_secret_key()
    if not csrf_ok(secret, request.cookies.get(PRELOGIN_COOKIE), csrf_token):
        return HTMLResponse(t("Phiên đăng nhập đã hết hạn; hãy tải lại trang."), status_code=403)
    try:
        person = service.log_in(session, username.strip(), password, client_address(request))
    except TooManyAttempts as e:
        refused = _login_page(request, 429, username, said(e))
        refused.headers["Retry-After"] = str(e.retry_after)
        return refused
    except HosoError as e:
        return _login_page(request, 401, username, said(e))
    ttl = app_state.settings.token_ttl_minutes
    response = RedirectResponse("/doi-mat-khau" if person.must_change_password else "/trang-chu", status_code=303)
    set_session(response, request, issue_token(person, secret, ttl), ttl * 60)
    return response


@router.post("/dang-xuat")
def logout(request: Request, csrf_token: str = Form("", alias=CSRF_FIELD), *, session: DbSession) -> Response:
    """Log out on the server too: the cookie's token is revoked, as POST /api/v1/auth/logout does."""
    secret = state(request).settings.resolved_secret_key()
    token = request.cookies.get(SESSION_COOKIE)
    if not csrf_ok(secret, token, csrf_token):
        return HTMLResponse(t("Thiếu mã chống giả mạo (CSRF)."), status_code=403)
    try:
        person = person_from_token(session, token or "", secret)
    except HosoError:
        person = None  # already ended or expired: only the cookie is left to clear
    if person is not None:
        service.end_session(session, person, token or "", secret)
    via_sso = request.cookies.get(VIA_SSO_COOKIE) and state(request).settings.oidc_enabled
    response = RedirectResponse("/dang-xuat/so", status_code=303) if via_sso else to_login()
    clear_session(response)
    return response


@router.get("/trang-chu", response_class=HTMLResponse)
def home(request: Request, session: DbSession) -> Response:
    person = page_viewer(request, session)
    if isinstance(person, Response):
        return person
    blocks = home_flow.attention(session, person)
    if "grants" in blocks:  # the inspector checks every package they take against this seal
        blocks["seal_fingerprint"] = seal.published_fingerprint(state(request).settings)
        blocks["names"] = labels.names(session)
    if "units" in blocks:
        blocks["unit_role_names"] = labels.UNIT_ROLE_VI
    return render(request, "home.html", person, **blocks)


def search_url(q: str, filters: dict[str, list[str]], page: int = 1, toggle: tuple[str, str] | None = None) -> str:
    """The search page's address for these words and filters (a facet value toggled on or off)."""
    chosen = {name: list(values) for name, values in filters.items()}
    if toggle:
        name, value = toggle
        values = chosen.setdefault(name, [])
        if value in values:
            values.remove(value)
        else:
            values.append(value)
    pairs = [("q", q)] + [(n, v) for n, vs in chosen.items() for v in vs] + ([("page", str(page))] if page > 1 else [])
    return "/tim-kiem?" + urlencode(pairs)


def render_search(
    request: Request,
    person: Person,
    session: Session,
    app_state: AppState,
    q: str,
    filters: dict[str, list[str]],
    page: int = 1,
    export: dict[str, Any] | None = None,
) -> HTMLResponse:
    """Results, facets (each keeps the other filters) and the evidence-export form (`export` holds a
    refused export's title, selection and messages, so nothing typed or ticked is lost)."""
    error, result = "", None
    try:
        result = scoped_search.run(session, app_state.search, person, q, filters, page, 20)
    except HosoError as e:
        error = said(e)
    export = export or {}
    return render(
        request,
        "search.html",
        person,
        status_code=422 if error or export.get("errors") else 200,
        q=q,
        filters=filters,
        result=result,
        error=error,
        facet_names=FACET_VI,
        names=labels.names(session, _teachers(result)),
        may_export=may(person, EXPORTERS),
        page=page,
        search_url=search_url,
        export=export,
        default_title=t("Gói chứng cứ ngày %(day)s", day=vn_date(calendar.today())),
        selected=set(export.get("record_ids", [])),
        previews=preview.newest_pdf(session, [h.id for h in result.hits]) if result else {},
        posters=renditions.made(session, [h.id for h in result.hits], RenditionTarget.poster) if result else {},
    )


def _teachers(result: Any) -> set[str]:
    return set(result.facets.get("teacher", {})) if result is not None else set()


@router.get("/tim-kiem", response_class=HTMLResponse)
def search_page(
    request: Request,
    q: str = "",
    page: int = 1,
    *,
    session: DbSession,
    app_state: HosoState,
) -> Response:
    person = page_viewer(request, session)
    if isinstance(person, Response):
        return person
    filters = {name: request.query_params.getlist(name) for name in FACETS if request.query_params.getlist(name)}
    return render_search(request, person, session, app_state, q, filters, max(page, 1))


@router.get("/ho-so/{record_id}", response_class=HTMLResponse)
def record_page(
    request: Request,
    record_id: str,
    xong: str = "",
    ban: str = "",
    *,
    session: DbSession,
    app_state: HosoState,
) -> Response:
    """`ban=goc` plays a recording's original instead of its light streaming copy."""
    person = page_viewer(request, session)
    if isinstance(person, Response):
        return person
    try:
        record = service.get_record(session, person, record_id)
    except HosoError as e:
        return render(request, "error.html", person, status_code=403 if e.code == "forbidden" else 404, message=said(e))
    return _record_page(request, session, app_state, person, record, done=xong, original=ban == "goc")


def _record_page(
    request: Request,
    session: Session,
    app_state: AppState,
    person: Person,
    record: Record,
    status_code: int = 200,
    submit_error: str = "",
    period: str = "",
    done: str = "",
    copy_form: dict[str, str] | None = None,
    original: bool = False,
) -> HTMLResponse:
    """The record with its versions, signatures, approvals (comments included), audit trail, and for
    its author the "Nộp duyệt" form and a new-version upload (a returned plan is corrected here)."""
    versions = service.list_versions(session, record)
    trail = service.record_audit(session, record)
    keeping = retention.status(session, record)
    history = [(i, session.get(ApprovalBatch, i.batch_id)) for i in workflow.items_for_record(session, record.id)]
    cadence = record.record_type.signing_cadence
    mine = record.author_id == person.id and record.status in (
        RecordStatus.draft,
        RecordStatus.returned,
        RecordStatus.submitted,
    )
    unchanged = workflow.returned_unchanged(session, record)
    report: dict[str, Any] | None = None
    if record.status != RecordStatus.destroyed:
        try:
            report = signing_service.signature_report(
                session, app_state.store, app_state.settings, person, record.id, online=False
            )
        except HosoError as e:
            report = {"error": said(e), "signatures": []}
    made = renditions.of_record(session, record.id)
    playing = playback.for_record(session, record, versions, original)
    session.commit()
    return render(
        request,
        "record.html",
        person,
        status_code=status_code,
        record=record,
        versions=versions,
        trail=trail,
        keeping=keeping,
        dossier=session.get(Dossier, record.dossier_id) if record.dossier_id else None,
        report=report,
        history=history,
        renditions=scan_view.others(made),
        scans=scan_view.for_record(session, record.id, made),
        playback=playing,
        clock=playback.clock,
        may_submit=bool(cadence) and mine,
        returned_unchanged=unchanged,  # resubmitted only as a corrected version (signing.workflow)
        may_add_version=mine,
        period=period or (periods.default_for(record, cadence, calendar.today()) if cadence else ""),
        submit_error=submit_error,
        done=done,
        # a refused copy request comes back with its message and what was typed ("error", "kind", "purpose", "until")
        copy_form=copy_form or {"kind": "read", "until": (calendar.today() + timedelta(days=7)).isoformat()},
    )


@router.post("/ho-so/{record_id}/nop-duyet")
def submit_for_approval(
    request: Request,
    record_id: str,
    csrf_token: Annotated[str, Form()] = "",
    period: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    *,
    session: DbSession,
    app_state: HosoState,
) -> Response:
    """The teacher submits the current version for the period's approval (the principal's queue)."""
    person = form_poster(request, session, csrf_token)
    if isinstance(person, Response):
        return person
    try:
        workflow.submit(session, person, record_id, period.strip() or None, note.strip() or None)
    except HosoError as e:
        try:
            record = service.get_record(session, person, record_id)
        except HosoError as missing:
            return render(request, "error.html", person, status_code=404, message=said(missing))
        return _record_page(request, session, app_state, person, record, 422, said(e), period)
    return RedirectResponse(f"/ho-so/{record_id}?xong=nop-duyet", status_code=303)
