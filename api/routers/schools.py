"""Schools: an admin creates them; everyone lists the schools they belong to."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from api.deps import admin_user, current_user, get_session
from archive import access, service
from archive.exceptions import Forbidden
from archive.models import Person, School
from archive.schemas import SchoolCreate, SchoolOut

router = APIRouter(prefix="/schools", tags=["schools"])


@router.post("", response_model=SchoolOut, status_code=201)
def create_school(
    body: SchoolCreate, actor: Person = Depends(admin_user), session: Session = Depends(get_session)
) -> School:
    return service.create_school(session, actor, body)


@router.get("", response_model=list[SchoolOut])
def list_schools(actor: Person = Depends(current_user), session: Session = Depends(get_session)) -> list[School]:
    return service.list_schools(session, actor)


@router.get("/{code}", response_model=SchoolOut)
def get_school(code: str, actor: Person = Depends(current_user), session: Session = Depends(get_session)) -> School:
    school = service.school_by_code(session, code)
    if not access.is_admin(actor) and school.id not in {m.school_id for m in actor.memberships}:
        raise Forbidden("Bạn không thuộc trường này.", "You do not belong to this school.")
    return school
