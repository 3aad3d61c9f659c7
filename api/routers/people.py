"""People and their roles: managed by an administrator."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import AdminUser, DbSession
from archive import service
from archive.models import Person
from archive.schemas import MembershipCreate, MembershipOut, PersonCreate, PersonOut, PersonUpdate, RowId
from archive.staff.schemas import OneTimePassword

router = APIRouter(tags=["people"])


@router.post("/people", response_model=PersonOut, status_code=201)
def create_person(body: PersonCreate, actor: AdminUser, session: DbSession) -> Person:
    return service.create_person(session, actor, body)


@router.get("/people", response_model=list[PersonOut])
def list_people(school_code: str | None = None, *, _: AdminUser, session: DbSession) -> list[Person]:
    return service.list_people(session, school_code)


@router.get("/people/{person_id}", response_model=PersonOut)
def get_person(person_id: RowId, _: AdminUser, session: DbSession) -> Person:
    return service.person_by_id(session, person_id)


@router.patch("/people/{person_id}", response_model=PersonOut)
def update_person(person_id: RowId, body: PersonUpdate, actor: AdminUser, session: DbSession) -> Person:
    return service.update_person(session, actor, service.person_by_id(session, person_id), body)


@router.post("/people/{person_id}/password-reset", response_model=OneTimePassword)
def reset_password(person_id: RowId, actor: AdminUser, session: DbSession) -> OneTimePassword:
    """A new one-time password (shown once; changed at first login); the person's sessions end."""
    person = service.person_by_id(session, person_id)
    return OneTimePassword(username=person.username, password=service.reset_password(session, actor, person))


@router.delete("/people/{person_id}", status_code=204)
def delete_person(person_id: RowId, actor: AdminUser, session: DbSession) -> Response:
    service.delete_person(session, actor, service.person_by_id(session, person_id))
    return Response(status_code=204)


@router.post("/people/{person_id}/memberships", response_model=MembershipOut, status_code=201)
def add_membership(
    person_id: RowId,
    body: MembershipCreate,
    actor: AdminUser,
    session: DbSession,
) -> object:
    return service.add_membership(session, actor, service.person_by_id(session, person_id), body)


@router.delete("/memberships/{membership_id}", status_code=204)
def remove_membership(membership_id: RowId, actor: AdminUser, session: DbSession) -> Response:
    service.remove_membership(session, actor, membership_id)
    return Response(status_code=204)
