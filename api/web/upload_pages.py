"""The upload page (/tai-len): many files at once, metadata chosen once, "Tải lên và nộp duyệt".

A teacher's month is five lesson plans of one subject and grade: the page used to take one file,
a typed title, typed year, month, subject and grade, then a second page to submit it — 9 actions
a plan, ≈45 for the month (issue #15). Now the files are picked or dropped together, each title
comes from its file name (editable), the shared metadata defaults to what this person used last
(type, subject, grade) and to today (school year, month), and one button uploads and submits them
(`flows/intake.py`). The browser checks each file's type and size before a byte is sent, against
the record types' own data rendered here (`accept` lists the extensions, `types` the media types,
`max_bytes` the server's limit); the server checks them again on the bytes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import DbSession, state
from api.web.i18n import t
from api.web.menu import UPLOADERS
from api.web.rendering import page_viewer, render, type_name
from archive import access, calendar, mediatype, subjects
from archive.models import Person, Record, RecordType, Role, School

router = APIRouter(include_in_schema=False)

HIDDEN_TYPES = {"approval_record", "disposition_document"}  # written by hoso itself
USUAL_TYPE = {Role.teacher: "lesson_plan", Role.department_head: "department_plan"}
MONTHS = (9, 10, 11, 12, 1, 2, 3, 4, 5, 6, 7, 8)  # in the order of the school year
EXTRA_EXTENSIONS = {mediatype.JPEG: (".jpeg",), mediatype.MOV: (".qt",), mediatype.TIFF: (".tiff",)}


def type_choice(record_type: RecordType) -> dict[str, Any]:
    """A record type as the page's script checks a file against it, before any byte is sent."""
    allowed = list(record_type.allowed_media_types or [])
    extensions = [e for t in allowed for e in (mediatype.EXTENSIONS.get(t, ""), *EXTRA_EXTENSIONS.get(t, ())) if e]
    return {
        "code": record_type.code,
        "name": type_name(record_type),
        "media_types": " ".join(allowed),
        "accept": ",".join([*extensions, *allowed]),
        "labels": ", ".join(mediatype.describe(t) for t in allowed),
        "signed": bool(record_type.signing_cadence),
    }


def school_years(today_year: str) -> list[str]:
    """This school year first, then the two before it (a plan filed late) and the next (filed early)."""
    start = int(today_year[:4])
    return [f"{y}-{y + 1}" for y in (start, start - 1, start - 2, start + 1)]


def defaults(session: Session, person: Person, types: list[RecordType]) -> dict[str, Any]:
    """What this person used last (type, subject, grade), else their role's usual type."""
    latest = session.scalar(
        select(Record).where(Record.author_id == person.id).order_by(Record.created_at.desc()).limit(1)
    )
    codes = {t.code for t in types}
    usual = [USUAL_TYPE[Role(m.role)] for m in person.memberships if Role(m.role) in USUAL_TYPE]
    chosen = latest.record_type.code if latest is not None and latest.record_type.code in codes else None
    chosen = chosen or next((c for c in usual if c in codes), None) or (types[0].code if types else "")
    used = list(
        session.scalars(
            select(Record.subject)
            .where(Record.author_id == person.id, Record.subject.is_not(None))
            .group_by(Record.subject)
            .order_by(Record.subject)
        )
    )
    return {
        "record_type": chosen,
        "subject": latest.subject if latest is not None else "",
        "grade": latest.grade if latest is not None else None,
        "subjects": subjects.offered([s for s in used if s]),
    }


@router.get("/tai-len", response_class=HTMLResponse)
def upload_page(request: Request, session: DbSession) -> Response:
    """Upload records: several files, shared metadata once, upload (and submit) with progress."""
    person = page_viewer(request, session, UPLOADERS, t("Tài khoản của bạn không tải hồ sơ lên."))
    if isinstance(person, Response):
        return person
    creating = [m.school_id for m in person.memberships if m.school_id is not None and m.role in access.CREATORS]
    schools = list(session.scalars(select(School).where(School.id.in_(creating)).order_by(School.name)))
    types = [t for t in session.scalars(select(RecordType).order_by(RecordType.name_vi)) if t.code not in HIDDEN_TYPES]
    today = calendar.today()
    chosen = defaults(session, person, types)
    session.commit()
    max_bytes = state(request).settings.max_upload_bytes
    return render(
        request,
        "upload.html",
        person,
        schools=schools,
        types=[type_choice(t) for t in types],
        chosen=chosen,
        school_years=school_years(calendar.school_year_of(today)),
        school_year=calendar.school_year_of(today),
        months=MONTHS,
        month=today.month,
        grades=range(1, 13),
        max_bytes=max_bytes,
        max_mb=f"{max_bytes / 1024 / 1024:,.0f}",
    )
