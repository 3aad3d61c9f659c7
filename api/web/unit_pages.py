"""A Sở's or Phòng's own page (`/don-vi/<code>`): its schools with this month's state, its Phòng, its
people, and the forms its administrator sets the unit up with (issue #17 item 3).

Until this page a unit set itself up only through `/api/v1/units` or `hoso units`. The forms post to
the same archive.units functions, so the page refuses what the API refuses, with the same words,
beside the field that caused it and with every value kept. A school is made with its first
principal, and a person with a one-time password: both passwords are on the answer to the post
(never a redirect, `Cache-Control: no-store`), so a reload does not show them again, as on the
staff-list import. Moving an existing school under the unit is the system administrator's alone.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import DbSession
from api.errors import status_of
from api.web import labels
from api.web.forms import field_errors, form_poster
from api.web.i18n import said, t
from api.web.rendering import page_viewer, render
from archive import access, calendar, units
from archive.exceptions import Conflict, Forbidden, HosoError, InvalidInput
from archive.models import OrgUnit, Person, School, UnitKind, UnitRole
from archive.schemas import SchoolCreate
from archive.unit_reach import reach
from archive.unit_schemas import FirstPrincipal, UnitCreate, UnitPersonCreate, UnitSchoolCreate
from signing import compliance

router = APIRouter(include_in_schema=False)
NO_UNIT = "Trang này dành cho người của Sở, Phòng GDĐT và quản trị hệ thống."


@router.get("/don-vi", response_class=HTMLResponse)
def units_page(request: Request, session: DbSession) -> Response:
    """The units this person reaches; with only one, that unit's page itself."""
    person = page_viewer(request, session)
    if isinstance(person, Response):
        return person
    found = units.visible_units(session, person)
    if not found and not access.is_admin(person):
        return render(request, "error.html", person, status_code=403, message=t(NO_UNIT))
    if len(found) == 1:
        return RedirectResponse(f"/don-vi/{found[0].code}", status_code=303)
    rows = [(u, units.school_count(session, u)) for u in found]
    session.commit()
    return render(request, "units.html", person, rows=rows, kinds=labels.UNIT_KIND_VI)


def _unit_page(
    request: Request,
    session: Session,
    person: Person,
    unit: OrgUnit,
    status_code: int = 200,
    forms: dict[str, dict[str, str]] | None = None,
    errors: dict[str, str] | None = None,
    created: dict[str, Any] | None = None,
    done: str = "",
) -> HTMLResponse:
    period = calendar.this_month()
    report = compliance.compute(session, person, unit.code, period)
    admin = access.is_admin(person)
    manager = admin or unit.id in reach(session, person, {UnitRole.admin})
    sets_rules = admin or unit.id in reach(session, person, units.RULE_SETTERS)
    # the head is named from above (archive/units.py): a unit's own administrator is not offered it
    own = {m.unit_id for m in person.unit_memberships if m.role == UnitRole.admin}
    names_head = admin or unit.id in reach(session, person, {UnitRole.admin}) - own
    offered = {k: v for k, v in labels.UNIT_ROLE_VI.items() if names_head or k != UnitRole.head.value}
    elsewhere = (
        list(session.scalars(select(School).where((School.unit_id != unit.id) | School.unit_id.is_(None))))
        if admin
        else []
    )
    people = units.people_of(session, unit)
    children = units.children_of(session, unit)
    session.commit()
    response = render(
        request,
        "unit.html",
        person,
        status_code=status_code,
        unit=unit,
        kinds=labels.UNIT_KIND_VI,
        unit_roles=labels.UNIT_ROLE_VI,
        offered_roles=offered,
        names_head=names_head,
        sets_rules=sets_rules,
        report=report,
        states=compliance.STATE_VI,
        children=children,
        people=people,
        manager=manager,
        elsewhere=sorted(elsewhere, key=lambda s: s.code),
        forms=forms or {},
        errors=errors or {},
        created=created,
        done=done,
    )
    if created:
        response.headers["Cache-Control"] = "no-store"  # a one-time password is shown once, never cached
    return response


def _opened(
    request: Request, session: Session, code: str, csrf_token: str | None = None
) -> Response | tuple[Person, OrgUnit]:
    """(person, unit) when this person may open the unit's page (and post, with the CSRF token given)."""
    person = page_viewer(request, session) if csrf_token is None else form_poster(request, session, csrf_token)
    if isinstance(person, Response):
        return person
    try:
        unit = units.unit_by_code(session, code)
        units.require_reach(session, person, unit)
    except HosoError as e:
        session.rollback()
        return render(request, "error.html", person, status_code=status_of(e), message=said(e))
    return person, unit


@router.get("/don-vi/{code}", response_class=HTMLResponse)
def unit_page(request: Request, code: str, done: str = "", *, session: DbSession) -> Response:
    opened = _opened(request, session, code)
    if isinstance(opened, Response):
        return opened
    person, unit = opened
    return _unit_page(request, session, person, unit, done=t("Đã lưu.") if done else "")


def _refused(
    request: Request, session: Session, person: Person, unit: OrgUnit, e: HosoError, form: dict[str, Any], field: str
) -> HTMLResponse:
    """The form again with the message beside `field`; a refusal of who the person is (Forbidden) is a
    403 page instead, since that person's unit page has no such form to show it beside."""
    session.rollback()
    if isinstance(e, Forbidden):
        return render(request, "error.html", person, status_code=403, message=said(e))
    return _unit_page(request, session, person, unit, status_of(e), form, {field: said(e)})


def _renamed(errors: dict[str, str], prefix: str) -> dict[str, str]:
    return {f"{prefix}{k}": v for k, v in errors.items()}


@router.post("/don-vi/{code}/truong")
def add_school(
    request: Request,
    code: str,
    csrf_token: Annotated[str, Form()] = "",
    school_code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    principal_username: Annotated[str, Form()] = "",
    principal_full_name: Annotated[str, Form()] = "",
    *,
    session: DbSession,
) -> Response:
    """The school under the unit and its first principal; the principal's one-time password on the answer."""
    opened = _opened(request, session, code, csrf_token)
    if isinstance(opened, Response):
        return opened
    person, unit = opened
    form = {
        "school_code": school_code.strip(),
        "name": name.strip(),
        "principal_username": principal_username.strip(),
        "principal_full_name": principal_full_name.strip(),
    }
    errors: dict[str, str] = {}
    try:
        SchoolCreate(code=form["school_code"], name=form["name"])
    except ValidationError as e:
        errors |= {("school_code" if k == "code" else k): v for k, v in field_errors(e).items()}
    try:
        principal = FirstPrincipal(username=form["principal_username"], full_name=form["principal_full_name"])
    except ValidationError as e:
        errors |= _renamed(field_errors(e), "principal_")
    if errors:
        return _unit_page(request, session, person, unit, 422, {"school": form}, errors)
    data = UnitSchoolCreate(code=form["school_code"], name=form["name"], principal=principal)
    try:
        made = units.create_school(session, person, unit.code, data)
    except HosoError as e:
        session.rollback()
        taken = session.scalar(select(School.id).where(School.code == form["school_code"]))
        field = ("school_code" if taken else "principal_username") if isinstance(e, Conflict) else "_school"
        return _refused(request, session, person, unit, e, {"school": form}, field)
    created: dict[str, Any] = {"kind": "school", "school": made.name, "full_name": form["principal_full_name"]}
    created |= {"username": made.principal_username, "password": made.one_time_password}
    return _unit_page(request, session, person, unit, 201, created=created)


@router.post("/don-vi/{code}/nguoi")
def add_person(
    request: Request,
    code: str,
    csrf_token: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    *,
    session: DbSession,
) -> Response:
    """A role at the unit: a new account (with a one-time password) or an existing one."""
    opened = _opened(request, session, code, csrf_token)
    if isinstance(opened, Response):
        return opened
    person, unit = opened
    form = {"username": username.strip(), "full_name": full_name.strip(), "role": role}
    try:
        data = UnitPersonCreate(username=form["username"], role=role or None, full_name=form["full_name"] or None)  # type: ignore[arg-type]
    except ValidationError as e:
        errors = field_errors(e)
        if "role" in errors:
            errors["role"] = t("Chọn vai trò ở đơn vị.")
        return _unit_page(request, session, person, unit, 422, {"person": form}, errors)
    try:
        made = units.add_person(session, person, unit.code, data)
    except HosoError as e:
        field = {Conflict: "role", InvalidInput: "full_name"}.get(type(e), "_person")
        return _refused(request, session, person, unit, e, {"person": form}, field)
    created = {"kind": "person", "full_name": made.full_name, "username": made.username, "role": made.role.value}
    return _unit_page(request, session, person, unit, 201, created=created | {"password": made.one_time_password})


@router.post("/don-vi/{code}/nguoi/thu-hoi")
def remove_person(
    request: Request,
    code: str,
    csrf_token: Annotated[str, Form()] = "",
    username: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    *,
    session: DbSession,
) -> Response:
    """Take a role at the unit back; an inspector's grants over the unit go with it."""
    opened = _opened(request, session, code, csrf_token)
    if isinstance(opened, Response):
        return opened
    person, unit = opened
    try:
        revoked = units.remove_person(session, person, unit.code, username, UnitRole(role))
    except ValueError:
        return render(request, "error.html", person, status_code=422, message=t("Chọn vai trò ở đơn vị."))
    except HosoError as e:
        return _refused(request, session, person, unit, e, {}, "_removed")
    done = t("Đã thu hồi vai trò %(role)s của %(username)s.", role=t(labels.UNIT_ROLE_VI[role]), username=username)
    if revoked:
        done += " " + t("%(n)s quyết định thanh tra của đơn vị cũng đã được thu hồi.", n=revoked)
    return _unit_page(request, session, person, unit, done=done)


@router.post("/don-vi/{code}/han-ky")
def set_deadline(
    request: Request,
    code: str,
    csrf_token: Annotated[str, Form()] = "",
    day: Annotated[str, Form()] = "",
    *,
    session: DbSession,
) -> Response:
    """The day of the next month by which the unit's schools sign a month."""
    opened = _opened(request, session, code, csrf_token)
    if isinstance(opened, Response):
        return opened
    person, unit = opened
    typed = day.strip()
    try:
        if not (typed.isascii() and typed.isdigit()) or len(typed) > 2:
            raise InvalidInput(
                "Hạn ký duyệt là một ngày từ 1 đến 28 của tháng sau.",
                "The deadline is a day from 1 to 28 of the next month.",
            )
        units.set_deadline(session, person, unit.code, int(typed))
    except HosoError as e:
        return _refused(request, session, person, unit, e, {"deadline": {"day": typed}}, "day")
    return _unit_page(request, session, person, unit, done=t("Đã đặt hạn ký duyệt: ngày %(day)s tháng sau.", day=typed))


@router.post("/don-vi/{code}/phong")
def add_phong(
    request: Request,
    code: str,
    csrf_token: Annotated[str, Form()] = "",
    phong_code: Annotated[str, Form()] = "",
    phong_name: Annotated[str, Form()] = "",
    area: Annotated[str, Form()] = "",
    *,
    session: DbSession,
) -> Response:
    """A Phòng under this Sở (its administrator's, or the system administrator's)."""
    opened = _opened(request, session, code, csrf_token)
    if isinstance(opened, Response):
        return opened
    person, unit = opened
    form = {"phong_code": phong_code.strip(), "phong_name": phong_name.strip(), "area": area.strip()}
    try:
        data = UnitCreate(
            kind=UnitKind.phong,
            code=form["phong_code"],
            name=form["phong_name"],
            area=form["area"] or None,
            parent_code=unit.code,
            signing_deadline_day=unit.signing_deadline_day,
        )
    except ValidationError as e:
        errors = {{"code": "phong_code", "name": "phong_name"}.get(k, k): v for k, v in field_errors(e).items()}
        return _unit_page(request, session, person, unit, 422, {"phong": form}, errors)
    try:
        units.create_unit(session, person, data)
    except HosoError as e:
        field = "phong_code" if isinstance(e, Conflict) else "_phong"
        return _refused(request, session, person, unit, e, {"phong": form}, field)
    return RedirectResponse(f"/don-vi/{unit.code}?done=phong", status_code=303)


@router.post("/don-vi/{code}/gan-truong")
def attach_school(
    request: Request,
    code: str,
    csrf_token: Annotated[str, Form()] = "",
    attach_code: Annotated[str, Form()] = "",
    *,
    session: DbSession,
) -> Response:
    """Put an existing school under the unit: the system administrator's alone (archive.units)."""
    opened = _opened(request, session, code, csrf_token)
    if isinstance(opened, Response):
        return opened
    person, unit = opened
    form = {"attach_code": attach_code}
    if not attach_code:
        errors = {"attach_code": t("Chọn trường cần đưa vào đơn vị.")}
        return _unit_page(request, session, person, unit, 422, {"attach": form}, errors)
    try:
        units.attach_school(session, person, attach_code, unit.code)
    except HosoError as e:
        return _refused(request, session, person, unit, e, {"attach": form}, "attach_code")
    return RedirectResponse(f"/don-vi/{unit.code}?done=gan", status_code=303)
