"""Record types with their retention rows and allowed media types (read-only here)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import current_user, get_session
from archive import service
from archive.models import Person, RecordType
from archive.schemas import RecordTypeOut

router = APIRouter(prefix="/record-types", tags=["record types"])


@router.get("", response_model=list[RecordTypeOut])
def list_record_types(_: Person = Depends(current_user), session: Session = Depends(get_session)) -> list[RecordType]:
    return list(session.scalars(select(RecordType).order_by(RecordType.code)))


@router.get("/{code}", response_model=RecordTypeOut)
def get_record_type(
    code: str, _: Person = Depends(current_user), session: Session = Depends(get_session)
) -> RecordType:
    return service.record_type_by_code(session, code)
