"""The principal's monthly approval page: the queue, approve or return (with a comment), then sign.

Plain forms (no script needed): each decision posts back and the page shows the queue again;
"Ký duyệt" posts the key (a .p12 and its password, used in memory and never stored, or the
server's token PIN, or a remote-signing credential and its PIN/OTP) to the same signing run the API
starts (`signing.service.sign`), then the page follows the batch until it is signed, with the
approval record to download.
The principal's own USB token signs through `hoso sign-agent` on their PC; the page says how.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.deps import AppState, get_session, state
from api.web.forms import form_poster, posted_form
from api.web.i18n import said, t
from api.web.menu import SIGNERS
from api.web.rendering import page_viewer, render
from api.web.session import CSRF_FIELD
from archive import access, calendar, preview, renditions
from archive.exceptions import HosoError
from archive.models import Person, RenditionTarget, School
from signing import ownership, periods, workflow
from signing import service as signing
from signing.models import ApprovalBatch, Decision

router = APIRouter(include_in_schema=False)
KEY_NAMES = {  # the summary's "ký bằng …", the key sources' labels on the form
    "pkcs12": "Tệp chữ ký số (.p12/.pfx)",
    "agent": "USB token cắm vào máy tính này",
    "pkcs11": "Thiết bị ký số gắn ở máy chủ",
    "csc": "Ký số từ xa",
}


@router.get("/duyet", response_class=HTMLResponse)
def queue_page(
    request: Request,
    period: str = "",
    teacher: str = "",
    subject: str = "",
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> Response:
    person = page_viewer(request, session, SIGNERS, t("Trang này dành cho hiệu trưởng."))
    if isinstance(person, Response):
        return person
    return _queue(request, person, session, app_state, period, teacher, subject)


def _queue(
    request: Request,
    person: Person,
    session: Session,
    app_state: AppState,
    period: str,
    teacher: str = "",
    subject: str = "",
    refused: dict[str, Any] | None = None,
    chosen: dict[int, dict[str, str]] | None = None,
    decide_error: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The queue of `period` (by default the latest period still waiting for a decision or the
    signature, the others listed to switch to); `refused` ({batch, message, key_source, credential_id}) puts a refused
    signing's message next to its form, with the choices made kept (and, for a certificate's first
    use, its details to confirm: `unconfirmed`); `chosen` ({item id: {d, c}}) and `decide_error`
    ({batch, message, item_id}) bring a refused decision form back with every choice as it was made."""
    schools = access.readable_school_ids(person)
    waiting = workflow.waiting_periods(session, schools)
    period = period or (waiting[0] if waiting else calendar.this_month())
    batches: list[dict[str, Any]] = []
    teachers: dict[str, str] = {}  # the period's teachers and subjects, for the filters' lists
    subjects: set[str] = set()
    for school_id in schools:
        for batch in workflow.batches_for(session, school_id, period):
            every = workflow.items_of(session, batch.id)
            teachers |= {i.record.author.username: i.record.author.full_name for i in every}
            subjects |= {i.record.subject for i in every if i.record.subject}
            items = [
                signing.item_out(i)
                for i in every
                if (not teacher or i.record.author.username == teacher)
                and (not subject or (i.record.subject or "") == subject)
            ]
            batches.append({"batch": signing.batch_out(session, batch), "items": items, "school": batch.school.name})
    shown = preview.newest_pdf(session, {i["record_id"] for b in batches for i in b["items"]})
    posters = renditions.made(session, {i["record_id"] for b in batches for i in b["items"]}, RenditionTarget.poster)
    session.commit()
    return render(
        request,
        "approval.html",
        person,
        status_code=422 if refused or decide_error else 200,
        refused=refused or {},
        chosen=chosen or {},
        decide_error=decide_error or {},
        previews=shown,
        posters=posters,
        key_names=KEY_NAMES,
        period=period,
        period_label=periods.label(period) if period else "",
        waiting=[(p, periods.label(p)) for p in waiting],
        periods=[(p, periods.label(p)) for p in periods.latest_first({*waiting, period})],
        teachers=sorted(teachers.items(), key=lambda t: t[1]),
        subjects=sorted(subjects),
        batches=batches,
        teacher=teacher,
        subject=subject,
        csc=bool(app_state.settings.csc_url),
        server_token=bool(app_state.settings.pkcs11_module),
        agent_url=app_state.settings.sign_agent_url.rstrip("/"),
    )


@router.post("/duyet/{batch_id}/quyet-dinh")
def decide(
    request: Request,
    batch_id: str,
    form: FormData = Depends(posted_form),
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> Response:
    """One decision per item named in the form: approve, or return with its comment."""
    person = form_poster(request, session, str(form.get(CSRF_FIELD, "")))
    if isinstance(person, Response):
        return person
    decisions, chosen = [], {}
    for key, value in form.items():
        if key.startswith("d-") and key[2:].isdigit() and value in (Decision.approved, Decision.returned):
            item_id = int(key[2:])
            comment = str(form.get(f"c-{item_id}", "")).strip() or None
            decisions.append(workflow.DecisionIn(item_id, Decision(value), comment))
            chosen[item_id] = {"d": str(value), "c": comment or ""}
    period = str(form.get("period", ""))
    try:
        workflow.decide(session, person, batch_id, decisions)
    except HosoError as e:
        session.rollback()
        batch = session.get(ApprovalBatch, batch_id)
        if batch is None or batch.school_id not in access.readable_school_ids(person):
            return render(request, "error.html", person, status_code=422, message=said(e))
        for key, value in form.items():  # a comment typed without a choice is kept too
            if key.startswith("c-") and key[2:].isdigit() and str(value).strip():
                chosen.setdefault(int(key[2:]), {"d": "", "c": str(value).strip()})
        wrong = {"batch": batch_id, "message": said(e), "item_id": e.context.get("item_id")}
        return _queue(request, person, session, app_state, batch.period, chosen=chosen, decide_error=wrong)
    return RedirectResponse(f"/duyet?period={period}", status_code=303)


@router.post("/duyet/{batch_id}/ky")
def sign(
    request: Request,
    batch_id: str,
    csrf_token: Annotated[str, Form(alias=CSRF_FIELD)] = "",
    key_source: Annotated[str, Form()] = "pkcs12",
    pkcs12: Annotated[UploadFile | None, File()] = None,
    password: Annotated[str | None, Form()] = None,
    pin: Annotated[str | None, Form()] = None,
    credential_id: Annotated[str | None, Form()] = None,
    otp: Annotated[str | None, Form()] = None,
    confirm_certificate: Annotated[str | None, Form()] = None,
    session: Session = Depends(get_session),
    app_state: AppState = Depends(state),
) -> Response:
    """One authorization for the whole batch, then the page follows the signing run.

    A certificate's first use comes back with its details and "Đây là chứng thư số của tôi" to tick
    (signing/ownership.py); the principal ticks it, gives the key again and signs."""
    person = form_poster(request, session, csrf_token)
    if isinstance(person, Response):
        return person
    if pkcs12 is not None and not pkcs12.filename:
        pkcs12 = None
    try:
        request_ = signing.SignRequest(
            key_source=key_source,
            pkcs12=pkcs12.file if pkcs12 is not None else None,
            password=password or None,
            pin=pin or None,
            credential_id=credential_id or None,
            otp=otp or None,
            confirm_certificate=confirm_certificate or None,
        )
        signing.sign(session, app_state.sessions, app_state.store, app_state.settings, person, batch_id, request_)
    except HosoError as e:
        session.rollback()
        batch = session.get(ApprovalBatch, batch_id)
        period = batch.period if batch is not None else ""
        refused: dict[str, Any] = {
            "batch": batch_id,
            "message": said(e),
            "key_source": key_source,
            "credential_id": credential_id,
        }
        if isinstance(e, ownership.CertificateUnconfirmed):
            refused["unconfirmed"] = e.context
        return _queue(request, person, session, app_state, period, refused=refused)
    return RedirectResponse(f"/duyet/{batch_id}", status_code=303)


@router.get("/duyet/{batch_id}", response_class=HTMLResponse)
def batch_page(request: Request, batch_id: str, session: Session = Depends(get_session)) -> Response:
    """The signing run's progress (the page refreshes itself while it runs) and its result."""
    person = page_viewer(request, session)
    if isinstance(person, Response):
        return person
    try:
        batch = signing.get_batch(session, person, batch_id)
    except HosoError as e:
        return render(request, "error.html", person, status_code=404, message=said(e))
    school = session.scalar(select(School.name).where(School.code == batch["school_code"]))
    return render(request, "batch.html", person, batch=batch, school_name=school or batch["school_code"])
