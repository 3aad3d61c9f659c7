"""Schools: an admin creates them (a unit's admin too, under /units); everyone lists the schools they belong to
or reach from their Sở or Phòng."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AdminUser, CurrentUser, DbSession
from archive import access, service, unit_reach
from archive.exceptions import Forbidden
from archive.models import School
from archive.schemas import SchoolCreate, SchoolOut

router = APIRouter(prefix="/schools", tags=["schools"])


@router.post("", response_model=SchoolOut, status_code=201)
def create_school(body: SchoolCreate, actor: AdminUser, session: DbSession) -> School:
    return service.create_school(session, actor, body)


@router.get("", response_model=list[SchoolOut])
def list_schools(actor: CurrentUser, session: DbSession) -> list[School]:
    return service.list_schools(session, actor)


@router.get("/{code}", response_model=SchoolOut)
def get_school(code: str, actor: CurrentUser, session: DbSession) -> School:
    school = service.school_by_code(session, code)
    mine = school.id in {m.school_id for m in actor.memberships}
    if not (access.is_admin(actor) or mine or unit_reach.reaches_school(session, actor, school)):
        raise Forbidden("Bạn không thuộc trường này.", "You do not belong to this school.")
    return school
