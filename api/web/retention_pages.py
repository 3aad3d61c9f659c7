"""Retention in the browser, for the archivist and the principal: the schedule (editable, with a reason),
legal holds, "Xem xét hủy", the four destruction steps, transfers (nộp lưu) and fixity runs.

Each form calls the function the API route calls (`retention.service`, `flows.destruction`), so the
rules (who may, what is refused, what is audited) are the API's. A refused form comes back on the
same page with its message beside it and what was typed kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.deps import AppState, DbSession, HosoState
from api.web.forms import field_errors, form_poster, posted_form
from api.web.i18n import said, t
from api.web.menu import KEEPERS
from api.web.rendering import page_viewer, render
from archive import access, scan_rules
from archive.exceptions import Forbidden, HosoError, InvalidInput
from archive.models import Blob, Person, School
from flows import destruction
from flows.blobs import record_blobs
from retention import disposition as disposition_flow
from retention import holds
from retention import service as retention
from retention import transfer as transfer_flow
from retention.holds import MANAGERS
from retention.models import Disposition, DispositionState, Transfer
from retention.schemas import CouncilIn, HoldIn, PeriodIn, ProposalIn, ReleaseIn, TransferIn
from signing import ownership

router = APIRouter(include_in_schema=False)
Posted = Annotated[FormData, Depends(posted_form)]
REFUSED = "Trang này dành cho cán bộ lưu trữ, văn thư, hiệu trưởng và quản trị viên."
DISPOSITION_VI = {
    DispositionState.proposed: "Đã lập danh mục, chờ Hội đồng",
    DispositionState.reviewed: "Hội đồng đồng ý, chờ quyết định",
    DispositionState.decided: "Đã có quyết định, chờ thực hiện hủy",
    DispositionState.executed: "Đã hủy",
    DispositionState.rejected: "Không được chấp thuận",
    DispositionState.lapsed: "Quá 15 ngày, phải quyết định lại",
}


def _schools(session: Session, person: Person) -> list[School]:
    if access.is_admin(person):
        return list(session.scalars(select(School).order_by(School.code)))
    return sorted(
        {m.school for m in person.memberships if m.role in MANAGERS and m.school is not None}, key=lambda s: s.code
    )


def _page(
    request: Request,
    session: Session,
    person: Person,
    app_state: AppState,
    school_code: str = "",
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
    done: str = "",
) -> HTMLResponse:
    # an administrator keeps the schedule and sees fixity, but reads only the schools where they also work
    readable = access.readable_school_ids(person)
    schools = [s for s in _schools(session, person) if s.id in readable]
    school = next((s for s in schools if s.code == school_code), schools[0] if schools else None)
    context: dict[str, Any] = {"schools": schools, "school": school, "errors": errors or {}, "typed": typed or {}}
    context["schedule"] = retention.schedule_rows(session)
    context["may_edit_schedule"] = retention.may_edit_schedule(session, person)
    context["one_school"] = (session.scalar(select(func.count()).select_from(School)) or 0) <= 1
    context["fixity"] = retention.fixity_runs(session, person, limit=10) if retention.may_sweep(person) else []
    # blobs a download, a package or fixity found not hashing to their address: the archivist's to investigate
    context["flagged"] = (
        list(
            session.scalars(select(Blob).where(Blob.flagged_at.is_not(None)).order_by(Blob.flagged_at.desc()).limit(50))
        )
        if retention.may_sweep(person)
        else []
    )
    if school is not None:
        context["holds"] = retention.visible_holds(session, person)
        context["review"] = retention.in_review(session, person, school.code)
        context["dispositions"] = list(
            session.scalars(
                select(Disposition).where(Disposition.school_id == school.id).order_by(Disposition.id.desc())
            )
        )
        # the worker keeps new records' terms; a page view does not refresh the whole schedule (the API does)
        context["due"] = [d.as_dict() for d in transfer_flow.due_for(session, school)]
        context["transfers"] = list(
            session.scalars(
                select(Transfer).where(Transfer.school_id == school.id).order_by(Transfer.created_at.desc())
            )
        )
    session.commit()
    return render(
        request,
        "retention.html",
        person,
        status_code=status_code,
        disposition_vi=DISPOSITION_VI,
        may_sweep=retention.may_sweep(person),
        done=done,
        **context,
    )


def _back(school: str, done: str = "") -> RedirectResponse:
    return RedirectResponse(f"/luu-tru?truong={school}" + (f"&xong={done}" if done else ""), status_code=303)


@router.get("/luu-tru", response_class=HTMLResponse)
def retention_page(
    request: Request, session: DbSession, app_state: HosoState, truong: str = "", xong: str = ""
) -> Response:
    person = page_viewer(request, session, KEEPERS, t(REFUSED))
    if isinstance(person, Response):
        return person
    return _page(request, session, person, app_state, truong, done=xong)


Action = Callable[[Person, dict[str, Any]], "str | Response"]


def _act(
    request: Request,
    session: Session,
    app_state: AppState,
    posted: FormData,
    key: str,
    action: Action,
    invalid: str = "",
) -> Response:
    """One form of the retention page: who may post it, then `action`; a refusal comes back on the page
    beside that form (`key`) with what was typed, a success back to the page with its "done" mark.

    `action` returns the mark (or a response of its own); `invalid` replaces pydantic's wording."""
    person = form_poster(request, session, str(posted.get("csrf_token", "")), KEEPERS, t(REFUSED))
    if isinstance(person, Response):
        return person
    form = {k: posted.getlist(k) if k == "record_ids" else posted.get(k) for k in posted}
    school = str(form.get("school") or "")
    try:
        done = action(person, form)
    except (ValidationError, HosoError) as e:
        session.rollback()
        message = said(e) if isinstance(e, HosoError) else invalid or "; ".join(field_errors(e).values())
        status = 403 if isinstance(e, Forbidden) else 422
        return _page(request, session, person, app_state, school, status, {key: message}, form)
    return done if isinstance(done, Response) else _back(school, done)


@router.post("/luu-tru/thoi-han/{code}")
def set_period(request: Request, code: str, posted: Posted, session: DbSession, app_state: HosoState) -> Response:
    """One row of the schedule: a term (or permanent), with the reason and the legal citation."""

    def action(person: Person, form: dict[str, Any]) -> str:
        years = str(form.get("years") or "").strip()
        if years and (not (years.isascii() and years.isdigit()) or len(years) > 6):
            raise InvalidInput("Số năm phải là số nguyên.", "Years must be a whole number.")
        body = PeriodIn(
            permanent=form.get("permanent") == "on",
            years=int(years) if years else None,
            reason=str(form.get("reason") or ""),
            citation=str(form.get("citation") or ""),
            future_only=form.get("future_only") == "on",
        )
        retention.change_period(session, app_state.store, person, code, body, record_blobs)
        return "thoi-han"

    return _act(request, session, app_state, posted, f"schedule-{code}", action)


@router.post("/luu-tru/anh-quet/{code}")
def set_scan_rule(request: Request, code: str, posted: Posted, session: DbSession, app_state: HosoState) -> Response:
    """One record type's TT 05/2025 rule for scans under the dpi floor: keep with a warning, or refuse."""

    def action(person: Person, form: dict[str, Any]) -> str:
        dpi = str(form.get("min_dpi") or "").strip()
        if not (dpi.isascii() and dpi.isdigit()) or len(dpi) > 6:  # '²'.isdigit() is True, int('²') fails
            raise InvalidInput("Độ phân giải phải là số nguyên (dpi).", "The resolution must be a whole number (dpi).")
        policy, reason = str(form.get("policy") or ""), str(form.get("reason") or "")
        scan_rules.set_rule(session, person, code, policy=policy, min_dpi=int(dpi), reason=reason)
        return "thoi-han"

    return _act(request, session, app_state, posted, f"scan-{code}", action)


@router.post("/luu-tru/phong-toa")
def create_hold(request: Request, posted: Posted, session: DbSession, app_state: HosoState) -> Response:
    """Freeze a school's records (a year, a type, or both) against any destruction, with the reason."""

    def action(person: Person, form: dict[str, Any]) -> str:
        body = HoldIn(
            reason=str(form.get("reason") or ""),
            reference=str(form.get("reference") or "") or None,
            school_code=str(form.get("school") or ""),
            school_year=str(form.get("school_year") or "") or None,
            record_type=str(form.get("record_type") or "") or None,
        )
        retention.create_hold(session, app_state.store, person, body, record_blobs)
        return "phong-toa"

    return _act(request, session, app_state, posted, "hold", action)


@router.post("/luu-tru/phong-toa/{hold_id}/giai-toa")
def release_hold(request: Request, hold_id: int, posted: Posted, session: DbSession, app_state: HosoState) -> Response:
    def action(person: Person, form: dict[str, Any]) -> str:
        body = ReleaseIn(reason=str(form.get("reason") or ""))
        holds.release(session, app_state.store, person, hold_id, body.reason, blobs_of=record_blobs)
        return "giai-toa"

    return _act(request, session, app_state, posted, f"release-{hold_id}", action, t("Ghi lý do giải tỏa."))


@router.post("/luu-tru/ra-soat")
def sweep(request: Request, posted: Posted, session: DbSession, app_state: HosoState) -> Response:
    """Move records past their term (and not held) to "Xem xét hủy" now; the worker also does it daily."""

    def action(person: Person, _form: dict[str, Any]) -> str:
        retention.sweep_for(session, person)
        return "ra-soat"

    return _act(request, session, app_state, posted, "sweep", action)


@router.post("/luu-tru/kiem-tra")
def fixity(request: Request, posted: Posted, session: DbSession, app_state: HosoState) -> Response:
    """A full fixity run now (the worker runs one weekly)."""

    def action(person: Person, _form: dict[str, Any]) -> str:
        retention.queue_fixity(session, person)
        app_state.wake()
        return "kiem-tra"

    return _act(request, session, app_state, posted, "fixity", action)


@router.post("/luu-tru/huy")
def propose(request: Request, posted: Posted, session: DbSession, app_state: HosoState) -> Response:
    """Step 1: the ticked records of "Xem xét hủy" become a destruction list with its explanation."""

    def action(person: Person, form: dict[str, Any]) -> Response:
        if not form.get("record_ids"):
            raise InvalidInput("Đánh dấu ít nhất một hồ sơ để lập danh mục hủy.", "Tick at least one record.")
        explanation = str(form.get("explanation") or "").strip()
        body = ProposalIn(
            school_code=str(form.get("school") or ""),
            explanation=explanation,
            items=[{"record_id": r, "explanation": explanation} for r in form["record_ids"]],  # type: ignore[misc]
        )
        made = retention.propose(session, app_state.store, app_state.settings.tmp_dir, person, body)
        return RedirectResponse(f"/luu-tru/huy/{made.id}", status_code=303)

    invalid = t("Ghi thuyết minh: vì sao các hồ sơ này hết giá trị.")
    return _act(request, session, app_state, posted, "propose", action, invalid)


@router.post("/luu-tru/nop-luu")
def transfer(request: Request, posted: Posted, session: DbSession, app_state: HosoState) -> Response:
    """One school year's permanent records as a sealed E-ARK SIP for the historical archive."""

    def action(person: Person, form: dict[str, Any]) -> str:
        school_year = str(form.get("school_year") or "")
        body = TransferIn(school_code=str(form.get("school") or ""), school_year=school_year)
        destruction.build_transfer(
            session, app_state.settings, app_state.store, person, body.school_code, body.school_year
        )
        return "nop-luu"

    return _act(request, session, app_state, posted, "transfer", action)


# -- one destruction, step by step -------------------------------------------------------------


def _disposition_page(
    request: Request,
    session: Session,
    person: Person,
    disposition_id: int,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
) -> HTMLResponse:
    try:
        shown = retention.visible_disposition(session, person, disposition_id)
    except HosoError as e:
        return render(request, "error.html", person, status_code=404, message=said(e))
    school = session.get(School, shown["school_id"])
    session.commit()
    return render(
        request,
        "disposition.html",
        person,
        status_code=status_code,
        d=shown,
        school=school,
        state_vi=DISPOSITION_VI.get(shown["state"], shown["state"]),
        errors=errors or {},
        typed=typed or {},
        execution_days=disposition_flow.EXECUTION_DAYS,
    )


@router.get("/luu-tru/huy/{disposition_id}", response_class=HTMLResponse)
def disposition_page(request: Request, disposition_id: int, session: DbSession) -> Response:
    person = page_viewer(request, session, KEEPERS, t(REFUSED))
    if isinstance(person, Response):
        return person
    return _disposition_page(request, session, person, disposition_id)


def _members(text: str) -> list[dict[str, str]]:
    """One member per line, "Họ tên — chức vụ" (or "Họ tên, chức vụ")."""
    members = []
    for line in filter(None, (raw.strip() for raw in text.splitlines())):
        name, _sep, title = line.replace(" - ", " — ").replace(",", " — ", 1).partition(" — ")
        members.append({"name": name.strip(), "title": title.strip()})
    return members


def _step(
    request: Request,
    session: Session,
    disposition_id: int,
    csrf_token: str,
    key: str,
    action: Callable[[Person], None],
    typed: dict[str, Any] | None = None,
) -> Response:
    """One destruction step: who may post it, then `action`; a refusal comes back beside the step's form."""
    person = form_poster(request, session, csrf_token, KEEPERS, t(REFUSED))
    if isinstance(person, Response):
        return person
    try:
        action(person)
    except (ValidationError, HosoError) as e:
        session.rollback()
        errors = field_errors(e) if isinstance(e, ValidationError) else {key: said(e)}
        return _disposition_page(request, session, person, disposition_id, 422, errors, typed)
    return RedirectResponse(f"/luu-tru/huy/{disposition_id}", status_code=303)


@router.post("/luu-tru/huy/{disposition_id}/hoi-dong")
def council(
    request: Request, disposition_id: int, posted: Posted, session: DbSession, app_state: HosoState
) -> Response:
    """Step 2: the council (at least three members), its establishment decision, minutes and opinion."""
    form = {k: str(v) for k, v in posted.items()}

    def action(person: Person) -> None:
        body = CouncilIn(
            members=_members(form.get("members", "")),  # type: ignore[arg-type]
            establishment_decision=form.get("establishment_decision", ""),
            minutes=form.get("minutes", ""),
            opinion=form.get("opinion", ""),
            notes=form.get("notes", ""),
        )
        retention.council(session, app_state.store, app_state.settings.tmp_dir, person, disposition_id, body)

    return _step(request, session, disposition_id, form.get("csrf_token", ""), "council", action, form)


@router.post("/luu-tru/huy/{disposition_id}/quyet-dinh")
def decide(
    request: Request,
    disposition_id: int,
    session: DbSession,
    app_state: HosoState,
    csrf_token: Annotated[str, Form()] = "",
    decision_number: Annotated[str, Form()] = "",
    approve: Annotated[str, Form()] = "yes",
    pkcs12: Annotated[UploadFile | None, File()] = None,
    password: Annotated[str, Form()] = "",
    confirm_certificate: Annotated[str, Form()] = "",
) -> Response:
    """Step 3: the principal's decision, PAdES-signed when a .p12 is given (its first use confirmed)."""
    typed: dict[str, Any] = {"decision_number": decision_number, "approve": approve}

    def action(person: Person) -> None:
        if not decision_number.strip():
            raise InvalidInput("Ghi số quyết định hủy, ví dụ 05/QĐ-THA.", "Give the decision number, e.g. 05/QĐ-THA.")
        try:
            key_file = pkcs12 if pkcs12 is not None and pkcs12.filename else None
            destruction.decide(
                session,
                app_state.settings,
                app_state.store,
                person,
                disposition_id,
                approve=approve == "yes",
                decision_number=decision_number.strip(),
                pkcs12=key_file.file.read(destruction.MAX_KEY_FILE + 1) if key_file is not None else None,
                password=password,
                confirm_certificate=confirm_certificate or None,
            )
        except ownership.CertificateUnconfirmed as e:
            typed["unconfirmed"] = e.context  # the confirmation step, shown beside the form
            raise

    return _step(request, session, disposition_id, csrf_token, "decision", action, typed)


@router.post("/luu-tru/huy/{disposition_id}/thuc-hien")
def execute(
    request: Request,
    disposition_id: int,
    session: DbSession,
    app_state: HosoState,
    csrf_token: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Step 4: destroy the listed records' content (tombstones and the biên bản hủy stay)."""

    def action(person: Person) -> None:
        if confirm != "on":
            raise InvalidInput(
                "Đánh dấu ô xác nhận trước khi hủy: việc hủy không thể hoàn tác.",
                "Tick the confirmation first: a destruction cannot be undone.",
            )
        destruction.execute(session, app_state.settings, app_state.store, person, disposition_id)
        app_state.wake()

    return _step(request, session, disposition_id, csrf_token, "execute", action)
