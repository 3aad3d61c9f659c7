"""Record types with their retention rows and allowed media types (read-only here)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import CurrentUser, DbSession
from archive import service
from archive.models import RecordType
from archive.schemas import RecordTypeOut

router = APIRouter(prefix="/record-types", tags=["record types"])


@router.get("", response_model=list[RecordTypeOut])
def list_record_types(_: CurrentUser, session: DbSession) -> list[RecordType]:
    return list(session.scalars(select(RecordType).order_by(RecordType.code)))


@router.get("/{code}", response_model=RecordTypeOut)
def get_record_type(code: str, _: CurrentUser, session: DbSession) -> RecordType:
    return service.record_type_by_code(session, code)
