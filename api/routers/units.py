"""The hierarchy Sở → Phòng → school (archive/units.py) and each unit's compliance dashboard (signing/compliance.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import CurrentUser, DbSession
from api.routers import file_body
from archive import units
from archive.models import School, UnitRole
from archive.schemas import SchoolOut
from archive.unit_reach import subtree_ids
from archive.unit_schemas import (
    UnitCreate,
    UnitDeadline,
    UnitOut,
    UnitPersonCreate,
    UnitPersonOut,
    UnitPersonRemoved,
    UnitSchoolCreate,
    UnitSchoolOut,
)
from signing import compliance
from signing.schemas import ComplianceOut

router = APIRouter(prefix="/units", tags=["units"])


@router.post("", response_model=UnitOut, status_code=201)
def create_unit(body: UnitCreate, actor: CurrentUser, session: DbSession) -> UnitOut:
    """A Sở (system administrator), or a Phòng under a Sở (also that Sở's administrator)."""
    return units.out(session, units.create_unit(session, actor, body))


@router.get("", response_model=list[UnitOut])
def list_units(actor: CurrentUser, session: DbSession) -> list[UnitOut]:
    return [units.out(session, u) for u in units.visible_units(session, actor)]


@router.get("/{code}", response_model=UnitOut)
def get_unit(code: str, actor: CurrentUser, session: DbSession) -> UnitOut:
    unit = units.unit_by_code(session, code)
    units.require_reach(session, actor, unit)
    return units.out(session, unit)


@router.patch("/{code}", response_model=UnitOut)
def set_deadline(code: str, body: UnitDeadline, actor: CurrentUser, session: DbSession) -> UnitOut:
    """The unit's signing deadline: a month is signed by this day of the next (its head or administrator)."""
    return units.out(session, units.set_deadline(session, actor, code, body.signing_deadline_day))


@router.get("/{code}/schools", response_model=list[SchoolOut])
def unit_schools(code: str, actor: CurrentUser, session: DbSession) -> list[School]:
    """Every school at or under the unit (a Sở: its Phòng's schools too)."""
    unit = units.unit_by_code(session, code)
    units.require_reach(session, actor, unit)
    return units.schools_of(session, subtree_ids(session, [unit.id]))


@router.post("/{code}/schools", response_model=UnitSchoolOut, status_code=201)
def create_school(code: str, body: UnitSchoolCreate, actor: CurrentUser, session: DbSession) -> UnitSchoolOut:
    """A school under the unit and its first principal, whose one-time password is shown once here."""
    return units.create_school(session, actor, code, body)


@router.put("/{code}/schools/{school_code}", response_model=SchoolOut)
def attach_school(code: str, school_code: str, actor: CurrentUser, session: DbSession) -> School:
    """Put an existing school under the unit (the system administrator's)."""
    return units.attach_school(session, actor, school_code, code)


@router.post("/{code}/people", response_model=UnitPersonOut, status_code=201)
def add_person(code: str, body: UnitPersonCreate, actor: CurrentUser, session: DbSession) -> UnitPersonOut:
    return units.add_person(session, actor, code, body)


@router.delete("/{code}/people/{username}/{role}", response_model=UnitPersonRemoved)
def remove_person(
    code: str, username: str, role: UnitRole, actor: CurrentUser, session: DbSession
) -> UnitPersonRemoved:
    """Take the role back; an inspector's grants over the unit are revoked with it (`grants_revoked`)."""
    revoked = units.remove_person(session, actor, code, username, role)
    return UnitPersonRemoved(unit_code=code, username=username, role=role, grants_revoked=revoked)


@router.get("/{code}/compliance", response_model=ComplianceOut)
def unit_compliance(code: str, period: str, actor: CurrentUser, session: DbSession) -> dict[str, Any]:
    """The month of every school under the unit: plans, signing, the deadline, teachers under target."""
    return compliance.compute(session, actor, code, period).as_dict()


@router.get("/{code}/compliance/csv", response_class=Response, responses=file_body("text/csv", "The month, for Excel"))
def unit_compliance_csv(code: str, period: str, actor: CurrentUser, session: DbSession) -> Response:
    report = compliance.compute(session, actor, code, period)
    name = f"tong-hop-{report.unit_code}-{report.period}.csv"
    return Response(
        compliance.to_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
