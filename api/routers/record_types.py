"""Record types with their retention rows, allowed media types and scan rule (the rule editable)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import CurrentUser, DbSession
from archive import scan_rules, service
from archive.models import RecordType
from archive.schemas import RecordTypeOut, ScanRuleIn

router = APIRouter(prefix="/record-types", tags=["record types"])


@router.get("", response_model=list[RecordTypeOut])
def list_record_types(_: CurrentUser, session: DbSession) -> list[RecordType]:
    return list(session.scalars(select(RecordType).order_by(RecordType.code)))


@router.get("/{code}", response_model=RecordTypeOut)
def get_record_type(code: str, _: CurrentUser, session: DbSession) -> RecordType:
    return service.record_type_by_code(session, code)


@router.patch("/{code}/scan-rule", response_model=RecordTypeOut)
def set_scan_rule(code: str, body: ScanRuleIn, person: CurrentUser, session: DbSession) -> RecordType:
    """Refuse or warn for scans under the dpi floor, and the floor (archivist); audited with the reason."""
    return scan_rules.set_rule(session, person, code, policy=body.policy, min_dpi=body.min_dpi, reason=body.reason)
