"""The inspection-grant page (`/cap-quyen-thanh-tra`): who may read what under an inspection decision.

A principal grants their own school, the system administrator any school, and a Sở's or Phòng's
head (issue #17 item 3) the unit's schools to one of the unit's inspectors: every school under the
unit on the day of the grant, or the ones ticked. One page for all three, because an inspection
decision is one kind of paper whoever signs it; the form posts to archive.grants as the API does,
so the page and `POST /api/v1/grants` refuse the same things with the same words.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.deps import DbSession, state
from api.web import labels
from api.web.forms import csrf_refused, field_errors, posted_form
from api.web.i18n import said, t
from api.web.menu import GRANTORS, UNIT_GRANTORS, may
from api.web.rendering import page_viewer, render
from archive import access, calendar, grants, units
from archive.calendar import VN_TIME
from archive.exceptions import HosoError
from archive.grant_schemas import GrantCreate, GrantRevoke
from archive.models import Membership, OrgUnit, Person, RecordType, Role, School, UnitMembership, UnitRole
from archive.unit_reach import reach, schools_under, subtree_ids
from signing import seal

router = APIRouter(include_in_schema=False)
REFUSED = "Trang này dành cho quản trị viên, hiệu trưởng và lãnh đạo Sở, Phòng GDĐT."
EVERY_SCHOOL = "tat-ca"  # the scope radio: every school under the unit, or only the ticked ones
TICKED = "chon"


def _grantor(request: Request, session: Session, csrf_token: str | None = None) -> Person | Response:
    """The signed-in person who may grant (a school role or a unit's head), or the refusal."""
    person = page_viewer(request, session)
    if isinstance(person, Response):
        return person
    if not may(person, GRANTORS, UNIT_GRANTORS):
        return render(request, "error.html", person, status_code=403, message=t(REFUSED))
    if csrf_token is not None and (refused := csrf_refused(request, csrf_token)):
        return refused
    return person


def _units(session: Session, person: Person) -> list[OrgUnit]:
    """The units whose schools this person may grant: a head's own and those under it; the admin's: all."""
    if access.is_admin(person):
        return units.visible_units_all(session)
    heads = reach(session, person, {UnitRole.head})
    return list(session.scalars(select(OrgUnit).where(OrgUnit.id.in_(heads)).order_by(OrgUnit.code))) if heads else []


def _choices(session: Session, person: Person, unit_list: list[OrgUnit]) -> tuple[list[School], list[Person]]:
    """The schools to tick and the inspectors to choose: a principal's own school and the system's
    inspectors; a head's unit schools and the unit's inspectors; the admin everything."""
    admin = access.is_admin(person)
    own = [m.school for m in person.memberships if m.role == Role.principal and m.school is not None]
    schools = {s.id: s for s in own}
    if admin:
        schools |= {s.id: s for s in session.scalars(select(School))}
    elif unit_list:
        under = schools_under(subtree_ids(session, [u.id for u in unit_list]))
        schools |= {s.id: s for s in session.scalars(select(School).where(School.id.in_(under)))}
    people: dict[int, Person] = {}
    active = (Person.active, Person.deleted_at.is_(None))
    if admin or own:
        query = select(Person).join(Membership, Membership.person_id == Person.id)
        people |= {p.id: p for p in session.scalars(query.where(Membership.role == Role.inspector.value, *active))}
    if unit_list:
        query = select(Person).join(UnitMembership, UnitMembership.person_id == Person.id)
        query = query.where(UnitMembership.role == UnitRole.inspector.value, *active)
        ids = [u.id for u in unit_list]
        people |= {p.id: p for p in session.scalars(query.where(UnitMembership.unit_id.in_(ids)))}
    return sorted(schools.values(), key=lambda s: s.code), sorted(people.values(), key=lambda p: p.username)


def _grants_page(
    request: Request,
    session: Session,
    person: Person,
    status_code: int = 200,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    unit_list = _units(session, person)
    schools, inspectors = _choices(session, person, unit_list)
    school_grantor = access.is_admin(person) or any(m.role == Role.principal for m in person.memberships)
    types = list(session.scalars(select(RecordType).order_by(RecordType.name_vi)))
    fingerprint = seal.published_fingerprint(state(request).settings)
    rows = [grants.out(g, fingerprint) for g in grants.visible(session, person)]
    default = {
        "school_codes": [s.code for s in schools[:1]] if school_grantor else [],
        "record_types": [],
        "school_years": calendar.school_year_of(calendar.today()),  # the year an inspection mostly reads
        "unit_code": "" if school_grantor or not unit_list else unit_list[0].code,
        "scope": EVERY_SCHOOL,
    }
    unit_names = {u.code: u.name for u in session.scalars(select(OrgUnit))}
    session.commit()
    return render(
        request,
        "grants.html",
        person,
        status_code=status_code,
        schools=schools,
        inspectors=inspectors,
        units=unit_list,
        unit_names=unit_names,
        school_grantor=school_grantor,
        types=types,
        grants=rows,
        seal_fingerprint=fingerprint,
        names=labels.names(session),
        form=form or default,
        errors=errors or {},
    )


@router.get("/cap-quyen-thanh-tra", response_class=HTMLResponse)
def grants_page(request: Request, session: DbSession) -> Response:
    person = _grantor(request, session)
    if isinstance(person, Response):
        return person
    return _grants_page(request, session, person)


def _read(posted: FormData) -> dict[str, Any]:
    return {
        "inspector": str(posted.get("inspector", "")),
        "decision_number": str(posted.get("decision_number", "")).strip(),
        "decision_date": str(posted.get("decision_date", "")),
        "unit_code": str(posted.get("unit_code", "")),
        "scope": str(posted.get("scope", EVERY_SCHOOL)),
        "school_codes": [str(v) for v in posted.getlist("school_codes")],
        "record_types": [str(v) for v in posted.getlist("record_types")],
        "school_years": str(posted.get("school_years", "")).strip(),
        "expires_on": str(posted.get("expires_on", "")),
    }


def _body(form: dict[str, Any]) -> tuple[GrantCreate | None, dict[str, str]]:
    """The grant the form asks for, or one message per field (every value is kept by the caller)."""
    errors: dict[str, str] = {}
    expires: datetime | None = None
    try:
        expires = datetime.combine(datetime.strptime(form["expires_on"], "%Y-%m-%d").date(), time(23, 59, 59), VN_TIME)
    except ValueError:
        errors["expires_on"] = t("Chọn ngày hết hạn quyền thanh tra.")
    every = bool(form["unit_code"]) and form["scope"] == EVERY_SCHOOL
    codes = [] if every else form["school_codes"]
    if not every and not codes:
        errors["school_codes"] = t("Chọn ít nhất một trường được thanh tra.")
    try:
        body = GrantCreate(
            inspector=form["inspector"],
            decision_number=form["decision_number"],
            decision_date=form["decision_date"] or None,
            school_codes=codes,
            unit_code=form["unit_code"] or None,
            record_types=form["record_types"],
            school_years=[y.strip() for y in form["school_years"].replace(";", ",").split(",") if y.strip()],
            expires_at=expires or calendar.now(),
        )
    except ValidationError as e:
        found = field_errors(e)
        if "school_codes" in errors:
            found.pop("_", None)  # the model's "name the schools" says what the field's message says
        return None, found | errors
    return (None if errors else body), errors


@router.post("/cap-quyen-thanh-tra")
def add_grant(request: Request, posted: Annotated[FormData, Depends(posted_form)], session: DbSession) -> Response:
    person = _grantor(request, session, str(posted.get("csrf_token", "")))
    if isinstance(person, Response):
        return person
    form = _read(posted)
    body, errors = _body(form)
    if body is None:
        return _grants_page(request, session, person, 422, form, errors)
    try:
        grants.create(session, person, body)
    except HosoError as e:
        return _grants_page(request, session, person, 422, form, {"_": said(e)})
    return RedirectResponse("/cap-quyen-thanh-tra", status_code=303)


@router.post("/cap-quyen-thanh-tra/{grant_id}/thu-hoi")
def revoke_grant(
    request: Request,
    grant_id: int,
    csrf_token: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    *,
    session: DbSession,
) -> Response:
    person = _grantor(request, session, csrf_token)
    if isinstance(person, Response):
        return person
    try:
        grants.revoke(session, person, grant_id, GrantRevoke(reason=reason.strip()))
    except ValidationError:
        return _grants_page(request, session, person, 422, errors={f"reason-{grant_id}": t("Ghi lý do thu hồi.")})
    except HosoError as e:
        return _grants_page(request, session, person, 422, errors={f"reason-{grant_id}": said(e)})
    return RedirectResponse("/cap-quyen-thanh-tra", status_code=303)
