"""Dossiers (hồ sơ) in the browser: the clerk's or archivist's yearly list (generate, edit, export),
the principal's approval, unfiled records and refiling, closing, and handing over to the school's
archive — one page per school and school year (`/ho-so`).

Each form calls the function the API route calls (`retention.dossiers`, `flows.dossiers`), so the
rules are the API's; a refused form comes back on the page with its message beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.datastructures import FormData
from starlette.datastructures import UploadFile as StarletteUploadFile

from api.deps import DbSession, HosoState
from api.web import menu
from api.web.forms import field_errors, form_poster, posted_form
from api.web.i18n import said, t
from api.web.rendering import page_viewer, render
from archive import access, calendar
from archive.exceptions import HosoError, InvalidInput
from archive.models import Dossier, DossierList, DossierState, Membership, Person, Record, School
from flows import dossiers as dossier_flow
from flows import own_signing
from flows.dossier_package import build as dossier_package
from retention.dossiers import closing, common, filing, handover, views, yearly_list
from signing import ownership

router = APIRouter(include_in_schema=False)
Posted = Annotated[FormData, Depends(posted_form)]
ROLES = menu.DOSSIER_KEEPERS
REFUSED = "Trang hồ sơ dành cho văn thư, cán bộ lưu trữ và ban giám hiệu."
STATE_VI = {
    "planned": "Dự kiến",
    "open": "Đang lập",
    "closed": "Đã đóng",
    "handed_over": "Đã giao nộp",
    "draft": "Dự thảo",
    "approved": "Đã phê duyệt",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _schools(session: Session, person: Person) -> list[School]:
    if access.is_admin(person):
        return list(session.scalars(select(School).order_by(School.code)))
    mine = {m.school for m in person.memberships if m.role in common.VIEWERS and m.school is not None}
    return sorted(mine, key=lambda s: s.code)


def _years() -> list[str]:
    start = calendar.school_year_bounds(calendar.current_school_year())[0]
    return [f"{y}-{y + 1}" for y in (start + 1, start, start - 1, start - 2)]


def _people(session: Session, school_id: int) -> list[Person]:
    return list(
        session.scalars(
            select(Person).join(Membership).where(Membership.school_id == school_id).order_by(Person.full_name)
        ).unique()
    )


def _page(
    request: Request,
    session: Session,
    person: Person,
    school_code: str = "",
    school_year: str = "",
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
    done: str = "",
) -> HTMLResponse:
    schools = _schools(session, person)
    school = next((s for s in schools if s.code == school_code), schools[0] if schools else None)
    context: dict[str, Any] = {"schools": schools, "school": school, "errors": errors or {}, "typed": typed or {}}
    context |= {"years": _years(), "subjects": common.SUBJECTS, "terms": common.YEARS_CHOICES, "done": done}
    if school is not None:
        roles = access.roles_at(person, school.id)
        lists = views.lists_of(session, person, school.code)
        chosen = next((m for m in lists if m.school_year == school_year), lists[0] if lists else None)
        context |= {
            "lists": lists,
            "chosen": views.list_view(session, chosen) if chosen else None,
            "may_edit": bool(roles & common.EDITORS) or access.is_admin(person),
            "may_approve": bool(roles & common.APPROVERS),
            "people": _people(session, school.id),
            "unfiled": [views.unfiled_view(r) for r in filing.unfiled(session, person, school.code)],
            "open_dossiers": list(
                session.scalars(
                    select(Dossier)
                    .where(Dossier.school_id == school.id, Dossier.state == DossierState.open)
                    .order_by(Dossier.school_year.desc(), Dossier.file_code)
                )
            ),
            "handovers": [views.handover_view(session, h) for h in views.handovers_of(session, school.id)],
            "due": [d for d in handover.due_for(session, school)],
            "deadline": common.HANDOVER_DEADLINE,
        }
    session.commit()
    return render(request, "dossiers.html", person, status_code=status_code, state_vi=STATE_VI, **context)


@router.get("/danh-muc-ho-so", response_class=HTMLResponse)
def dossiers_page(request: Request, session: DbSession, truong: str = "", nam: str = "", xong: str = "") -> Response:
    person = page_viewer(request, session, ROLES, t(REFUSED))
    if isinstance(person, Response):
        return person
    return _page(request, session, person, truong, nam, done=xong)


Action = Callable[[Person, dict[str, Any]], str]


def _act(request: Request, session: Session, posted: FormData, key: str, action: Action) -> Response:
    """One form of the page: who may post it, then `action`; a refusal comes back beside that form."""
    person = form_poster(request, session, str(posted.get("csrf_token", "")), ROLES, t(REFUSED))
    if isinstance(person, Response):
        return person
    many = {"grades", "subjects", "dossier_ids"}
    form = {k: posted.getlist(k) if k in many else posted.get(k) for k in posted}
    school, year = str(form.get("school") or ""), str(form.get("school_year") or "")
    try:
        done = action(person, form)
    except (ValidationError, HosoError) as e:
        session.rollback()
        message = said(e) if isinstance(e, HosoError) else "; ".join(field_errors(e).values())
        return _page(request, session, person, school, year, 422, {key: message}, form)
    return RedirectResponse(f"/danh-muc-ho-so?truong={school}&nam={year}&xong={done}", status_code=303)


def _int(value: object, field: str) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise InvalidInput("Hãy chọn từ danh sách.", "Choose from the list.", field=field)
    return int(text)


def _term(form: dict[str, Any]) -> dict[str, Any]:
    """The term select: "" (unchanged), "permanent", or a number of years."""
    term = str(form.get("term") or "")
    if not term:
        return {}
    return {"permanent": True} if term == "permanent" else {"permanent": False, "years": _int(term, "term")}


@router.post("/danh-muc-ho-so/lap")
def generate(request: Request, posted: Posted, session: DbSession) -> Response:
    """The draft list of a school year, from the types' schedule, the grades and the subjects ticked."""

    def action(person: Person, form: dict[str, Any]) -> str:
        yearly_list.generate(
            session,
            person,
            school_code=str(form.get("school") or ""),
            school_year=str(form.get("school_year") or ""),
            grades=[g for g in (_int(v, "grades") for v in form.get("grades") or []) if g is not None],
            subjects=[str(s) for s in form.get("subjects") or []],
        )
        return "lap"

    return _act(request, session, posted, "generate", action)


@router.post("/danh-muc-ho-so/{list_id}/them")
def add(request: Request, list_id: int, posted: Posted, session: DbSession) -> Response:
    def action(person: Person, form: dict[str, Any]) -> str:
        yearly_list.add(
            session,
            person,
            list_id,
            record_type=str(form.get("record_type") or ""),
            title=str(form.get("title") or ""),
            keeper_id=_int(form.get("keeper"), "keeper"),
            **_term(form),
        )
        return "them"

    return _act(request, session, posted, "add", action)


def _dossier_page(
    request: Request,
    session: Session,
    person: Person,
    dossier_id: str,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
) -> HTMLResponse:
    """One dossier: what it is, its documents in order, and (on a draft list) its edit form."""
    try:
        shown = views.visible_dossier(session, person, dossier_id)
    except HosoError as e:
        return render(request, "error.html", person, status_code=403 if e.code == "forbidden" else 404, message=said(e))
    dossier = common.load_dossier(session, dossier_id)
    draft = dossier.state == DossierState.planned
    editor = bool(access.roles_at(person, dossier.school_id) & common.EDITORS) or access.is_admin(person)
    documents = list(session.scalars(select(Record).where(Record.dossier_id == dossier_id).order_by(Record.created_at)))
    context = {"d": shown, "school": common.school_of(session, dossier.school_id), "documents": documents}
    context |= {
        "may_edit": draft and editor,
        "may_package": editor and dossier.state in dossier_package.PACKABLE and bool(documents),
        "people": _people(session, dossier.school_id),
        "terms": common.YEARS_CHOICES,
    }
    session.commit()
    return render(
        request,
        "dossier.html",
        person,
        status_code=status_code,
        state_vi=STATE_VI,
        errors=errors or {},
        typed=typed or {},
        **context,
    )


@router.get("/danh-muc-ho-so/ho-so/{dossier_id}", response_class=HTMLResponse)
def dossier_page(request: Request, dossier_id: str, session: DbSession) -> Response:
    person = page_viewer(request, session, ROLES, t(REFUSED))
    if isinstance(person, Response):
        return person
    return _dossier_page(request, session, person, dossier_id)


def _dossier_act(request: Request, session: Session, posted: FormData, dossier_id: str, action: Action) -> Response:
    """An edit of one dossier: a refusal comes back on the dossier's page beside its form."""
    person = form_poster(request, session, str(posted.get("csrf_token", "")), ROLES, t(REFUSED))
    if isinstance(person, Response):
        return person
    form = {k: posted.get(k) for k in posted}
    try:
        done = action(person, form)
    except (ValidationError, HosoError) as e:
        session.rollback()
        message = said(e) if isinstance(e, HosoError) else "; ".join(field_errors(e).values())
        return _dossier_page(request, session, person, dossier_id, 422, {"edit": message}, form)
    school, year = str(form.get("school") or ""), str(form.get("school_year") or "")
    return RedirectResponse(f"/danh-muc-ho-so?truong={school}&nam={year}&xong={done}", status_code=303)


@router.post("/danh-muc-ho-so/ho-so/{dossier_id}/sua")
def edit(request: Request, dossier_id: str, posted: Posted, session: DbSession) -> Response:
    """Rename, renumber, change the keeper or the term of one dossier on the draft list."""

    def action(person: Person, form: dict[str, Any]) -> str:
        yearly_list.edit(
            session,
            person,
            dossier_id,
            title=str(form["title"]) if form.get("title") else None,
            file_code=str(form["file_code"]) if form.get("file_code") else None,
            keeper_id=_int(form.get("keeper"), "keeper"),
            **_term(form),
        )
        return "sua"

    return _dossier_act(request, session, posted, dossier_id, action)


@router.post("/danh-muc-ho-so/ho-so/{dossier_id}/goi")
def package(request: Request, dossier_id: str, posted: Posted, session: DbSession, app_state: HosoState) -> Response:
    """The clerk's or archivist's download of the dossier's sealed package (TT 05/2025 form)."""
    person = form_poster(request, session, str(posted.get("csrf_token", "")), ROLES, t(REFUSED))
    if isinstance(person, Response):
        return person
    try:
        built = dossier_package.build(
            session, app_state.settings, app_state.store, person, dossier_id, str(posted.get("package_type") or "AIP")
        )
    except HosoError as e:
        session.rollback()
        if e.code in ("forbidden", "not_found"):
            return render(
                request, "error.html", person, status_code=403 if e.code == "forbidden" else 404, message=said(e)
            )
        return _dossier_page(request, session, person, dossier_id, 422, {"package": said(e)})
    return FileResponse(
        built.path,
        media_type="application/zip",
        filename=built.filename,
        background=BackgroundTask(built.path.unlink, missing_ok=True),
    )


@router.post("/danh-muc-ho-so/ho-so/{dossier_id}/xoa")
def remove(request: Request, dossier_id: str, posted: Posted, session: DbSession) -> Response:
    def action(person: Person, _form: dict[str, Any]) -> str:
        yearly_list.remove(session, person, dossier_id)
        return "xoa"

    return _dossier_act(request, session, posted, dossier_id, action)


@router.post("/danh-muc-ho-so/{list_id}/phe-duyet")
def approve(request: Request, list_id: int, posted: Posted, session: DbSession, app_state: HosoState) -> Response:
    """The principal approves the list (signed with their own .p12 when one is chosen, else sealed);
    its PDF is kept; its dossiers open."""

    def action(person: Person, form: dict[str, Any]) -> str:
        key_file = form.get("pkcs12")
        chosen = isinstance(key_file, StarletteUploadFile) and bool(key_file.filename)
        try:
            dossier_flow.approve_list(
                session,
                app_state.settings,
                app_state.store,
                person,
                list_id,
                pkcs12=key_file.file.read(own_signing.MAX_KEY_FILE + 1) if chosen else None,  # type: ignore[union-attr]
                password=str(form.get("password") or ""),
                confirm_certificate=str(form.get("confirm_certificate") or "") or None,
            )
        except ownership.CertificateUnconfirmed as e:
            form["unconfirmed"] = e.context  # its first use: the confirmation shown beside the form
            raise
        return "phe-duyet"

    return _act(request, session, posted, "approve", action)


def _ticked(session: Session, person: Person, form: dict[str, Any]) -> list[str]:
    """The dossiers ticked, or with "all" every dossier of the list in that state (open, closed)."""
    everything = str(form.get("all") or "")
    if everything in ("open", "closed"):
        made = views.visible_list(session, person, _int(form.get("list_id"), "list_id") or 0)
        return [d["id"] for d in views.list_view(session, made)["dossiers"] if d["state"] == everything]
    return [str(i) for i in form.get("dossier_ids") or []]


@router.post("/danh-muc-ho-so/dong")
def close(request: Request, posted: Posted, session: DbSession, app_state: HosoState) -> Response:
    """Close the ticked dossiers (all or none)."""

    def action(person: Person, form: dict[str, Any]) -> str:
        closing.close(session, app_state.store, person, _ticked(session, person, form))
        return "dong"

    return _act(request, session, posted, "close", action)


@router.post("/danh-muc-ho-so/giao-nop")
def hand_over(request: Request, posted: Posted, session: DbSession, app_state: HosoState) -> Response:
    """Hand the ticked closed dossiers to the school's archive with the sealed handover list."""

    def action(person: Person, form: dict[str, Any]) -> str:
        dossier_flow.hand_over(session, app_state.settings, app_state.store, person, _ticked(session, person, form))
        app_state.wake()  # each dossier's SIP is queued with the handover
        return "giao-nop"

    return _act(request, session, posted, "handover", action)


@router.post("/danh-muc-ho-so/tai-lieu/{record_id}/luu")
def refile(request: Request, record_id: str, posted: Posted, session: DbSession) -> Response:
    def action(person: Person, form: dict[str, Any]) -> str:
        filing.refile(session, person, record_id, str(form.get("dossier_id") or ""), str(form.get("reason") or ""))
        return "luu"

    return _act(request, session, posted, f"refile-{record_id}", action)


def _export(request: Request, session: Session, list_id: int) -> tuple[Person, DossierList] | Response:
    person = page_viewer(request, session, ROLES, t(REFUSED))
    if isinstance(person, Response):
        return person
    try:
        return person, views.visible_list(session, person, list_id)
    except HosoError as e:
        return render(request, "error.html", person, status_code=403 if e.code == "forbidden" else 404, message=said(e))


@router.get("/danh-muc-ho-so/{list_id}/danh-muc.pdf")
def export_pdf(request: Request, list_id: int, session: DbSession, app_state: HosoState) -> Response:
    found = _export(request, session, list_id)
    if isinstance(found, Response):
        return found
    _person, made = found
    body = views.list_pdf(session, app_state.store, made)
    name = f"danh-muc-ho-so-{made.school_year}.pdf"
    return Response(body, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get("/danh-muc-ho-so/{list_id}/danh-muc.xlsx")
def export_xlsx(request: Request, list_id: int, session: DbSession) -> Response:
    found = _export(request, session, list_id)
    if isinstance(found, Response):
        return found
    _person, made = found
    name = f"danh-muc-ho-so-{made.school_year}.xlsx"
    body = views.list_xlsx(session, made)
    return Response(body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})
