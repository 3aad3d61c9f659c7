"""Inspector grants: what an inspection decision lets an inspector read, checked on every request.

An inspector holds no school role. Each grant names schools, record types (or all), school years
and an expiry; a record is readable by the inspector while some active grant covers its school,
type and school year. Expiry and revocation take effect at once because nothing is cached: every
read computes the inspector's clauses from the table. Outside every grant, a record and a missing
record look the same to an inspector (403), so existence is never revealed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from archive import access, audit
from archive.db import utcnow, write_transaction
from archive.exceptions import Forbidden, InvalidInput, NotFound
from archive.grant_schemas import GrantCreate, GrantOut, GrantRevoke
from archive.models import InspectorGrant, OrgUnit, Person, Record, RecordType, Role, School, UnitRole
from archive.unit_reach import has_unit_role, reach, schools_under, subtree_ids

MAX_DAYS = 366


@dataclass(frozen=True)
class Clause:
    """One active grant, as a reading rule."""

    grant_id: int
    decision_number: str
    school_ids: frozenset[int]
    school_codes: tuple[str, ...]
    record_types: frozenset[str]  # empty: every type
    school_years: frozenset[str]

    def covers(self, record: Record) -> bool:
        return (
            record.school_id in self.school_ids
            and record.school_year in self.school_years
            and (not self.record_types or record.record_type.code in self.record_types)
        )

    def where(self) -> ColumnElement[bool]:
        conditions = [Record.school_id.in_(self.school_ids), Record.school_year.in_(self.school_years)]
        if self.record_types:
            conditions.append(
                Record.record_type_id.in_(select(RecordType.id).where(RecordType.code.in_(self.record_types)))
            )
        return and_(*conditions)

    def as_scope(self) -> dict[str, list[str]]:
        scope = {"school_code": list(self.school_codes), "school_year": sorted(self.school_years)}
        if self.record_types:
            scope["record_type"] = sorted(self.record_types)
        return scope


def is_inspector(person: Person) -> bool:
    """A system inspector, or a Sở's or Phòng's (archive/unit_models.py): both read only through grants."""
    return any(m.role == Role.inspector for m in person.memberships) or has_unit_role(person, {UnitRole.inspector})


def clauses(session: Session, person: Person) -> list[Clause]:
    """The person's grants that work right now (none for anyone who is not an inspector)."""
    if not is_inspector(person):
        return []
    now = utcnow()
    grants = session.scalars(
        select(InspectorGrant).where(
            InspectorGrant.inspector_id == person.id,
            InspectorGrant.revoked_at.is_(None),
            InspectorGrant.expires_at > now,
        )
    )
    posts = {m.unit_id for m in person.unit_memberships if m.role == UnitRole.inspector}
    return [
        Clause(
            grant_id=g.id,
            decision_number=g.decision_number,
            school_ids=frozenset(s.id for s in g.schools),
            school_codes=tuple(sorted(s.code for s in g.schools)),
            record_types=frozenset(g.record_types or []),
            school_years=frozenset(g.school_years or []),
        )
        for g in grants
        if g.unit_id is None or g.unit_id in posts  # a unit's grant belongs to its inspector's post there
    ]


def readable(session: Session, person: Person) -> ColumnElement[bool]:
    """A WHERE clause over `Record`: the person's schools, or what an active grant covers."""
    parts: list[ColumnElement[bool]] = []
    schools = access.readable_school_ids(person)
    if schools:
        parts.append(Record.school_id.in_(schools))
    parts.extend(c.where() for c in clauses(session, person))
    return or_(*parts) if parts else false()


OUTSIDE = (
    "Hồ sơ này không thuộc phạm vi quyết định thanh tra của bạn (hoặc không tồn tại).",
    "This record is outside your inspection grant (or does not exist).",
)


def read_record(session: Session, person: Person, record_id: str, audited: bool = True) -> Record:
    """The record if this person may read it; an inspector's every read is audited with its grant
    (`audited=False` only for a search result's thumbnail: the search itself is audited)."""
    record = session.get(Record, record_id)
    if record is not None and record.school_id in access.readable_school_ids(person):
        return record
    if not is_inspector(person):
        if record is None:
            raise NotFound("Không tìm thấy tài liệu.", "Record not found.")
        access.require_can_read(person, record)  # raises the usual refusal
    found = next((c for c in clauses(session, person) if record is not None and c.covers(record)), None)
    if found is None or record is None:
        raise Forbidden(*OUTSIDE)
    if not audited:
        return record
    with write_transaction(session):
        audit.append(
            session,
            actor=person,
            action="inspector.viewed",
            object_type="record",
            object_id=record.id,
            school_id=record.school_id,
            record_id=record.id,
            details={"grant_id": found.grant_id, "decision_number": found.decision_number},
        )
    return record


# -- managing grants -------------------------------------------------------------------------------


def create(session: Session, actor: Person, body: GrantCreate) -> InspectorGrant:
    """An admin grants any school; a unit's head the unit's schools; a principal only their own."""
    inspector = session.scalar(select(Person).where(Person.username == body.inspector, Person.active))
    if inspector is None or not is_inspector(inspector):
        raise InvalidInput(
            f"{body.inspector!r} không phải là tài khoản thanh tra đang hoạt động.",
            f"{body.inspector!r} is not an active inspector account.",
        )
    unit = _unit_of(session, body.unit_code)
    schools = _schools_of(session, body, unit)
    _require_grantor(session, actor, inspector, schools, unit)
    known = set(session.scalars(select(RecordType.code).where(RecordType.code.in_(body.record_types))))
    unknown = sorted(set(body.record_types) - known)
    if unknown:
        raise InvalidInput(f"Không có loại hồ sơ {', '.join(unknown)}.", f"No record type {', '.join(unknown)}.")
    now = utcnow()
    expires = body.expires_at if body.expires_at.tzinfo else body.expires_at.replace(tzinfo=now.tzinfo)
    if expires <= now:
        raise InvalidInput("Thời hạn quyền thanh tra phải ở tương lai.", "The grant must expire in the future.")
    if expires > now + timedelta(days=MAX_DAYS):
        raise InvalidInput(
            "Quyền thanh tra dài nhất một năm; hãy cấp lại khi cần.", "A grant lasts at most a year; grant again."
        )
    with write_transaction(session):
        grant = InspectorGrant(
            inspector_id=inspector.id,
            granted_by_id=actor.id,
            decision_number=body.decision_number,
            decision_date=body.decision_date,
            record_types=sorted(set(body.record_types)),
            school_years=sorted(set(body.school_years)),
            expires_at=expires,
            created_at=now,
            unit_id=unit.id if unit else None,
        )
        grant.schools = schools
        session.add(grant)
        session.flush()
        for school in schools:
            audit.append(
                session,
                actor=actor,
                action="grant.created",
                object_type="inspector_grant",
                object_id=grant.id,
                school_id=school.id,
                details={
                    "inspector": inspector.username,
                    "unit": unit.code if unit else None,
                    "decision_number": grant.decision_number,
                    "record_types": grant.record_types,
                    "school_years": grant.school_years,
                    "expires_at": expires.isoformat(),
                },
            )
    return grant


def _unit_of(session: Session, code: str | None) -> OrgUnit | None:
    if code is None:
        return None
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise InvalidInput(f"Không có đơn vị mã {code!r}.", f"No unit with code {code!r}.")
    return unit


def _schools_of(session: Session, body: GrantCreate, unit: OrgUnit | None) -> list[School]:
    """The schools named, or with a unit and none named, every school under the unit (at this date:
    an inspection decision covers the schools it names; a school added later needs a new grant)."""
    under = schools_under(subtree_ids(session, [unit.id])) if unit else None
    if unit is not None and not body.school_codes:
        assert under is not None
        schools = list(session.scalars(select(School).where(School.id.in_(under)).order_by(School.code)))
        if not schools:
            raise InvalidInput("Đơn vị này chưa có trường nào.", "This unit has no schools yet.")
        return schools
    schools = list(session.scalars(select(School).where(School.code.in_(body.school_codes))))
    missing = sorted(set(body.school_codes) - {s.code for s in schools})
    if missing:
        raise InvalidInput(f"Không có trường {', '.join(missing)}.", f"No school {', '.join(missing)}.")
    if under is not None:
        inside = set(session.scalars(under))
        outside = sorted(s.code for s in schools if s.id not in inside)
        if outside:
            raise InvalidInput(
                f"Trường {', '.join(outside)} không thuộc đơn vị này.", f"School {', '.join(outside)} is not under it."
            )
    return schools


def _require_unit_inspector(inspector: Person, unit: OrgUnit | None) -> None:
    if unit is not None and not any(
        m.unit_id == unit.id and m.role == UnitRole.inspector for m in inspector.unit_memberships
    ):
        raise InvalidInput(
            f"{inspector.username!r} không phải thanh tra của đơn vị này.",
            f"{inspector.username!r} is not an inspector of this unit.",
        )


def _require_grantor(
    session: Session, actor: Person, inspector: Person, schools: list[School], unit: OrgUnit | None
) -> None:
    """An admin grants any school; a unit's head its unit's schools to its inspectors; a principal
    only their own school(s). A grant over a unit goes to one of that unit's inspectors whoever makes
    it, the system administrator too: it belongs to the post, and works only while it is held (`clauses`)."""
    if access.is_admin(actor):
        _require_unit_inspector(inspector, unit)
        return
    if inspector.id == actor.id:
        raise Forbidden(
            "Không thể tự cấp quyền thanh tra cho chính mình.", "You may not grant inspection access to yourself."
        )
    if unit is not None:
        if unit.id not in reach(session, actor, {UnitRole.head}):
            raise Forbidden(
                "Chỉ lãnh đạo của đơn vị được cấp quyền thanh tra trên các trường của đơn vị.",
                "Only the unit's head may grant inspection access over its schools.",
            )
        _require_unit_inspector(inspector, unit)
        return
    own = {m.school_id for m in actor.memberships if m.role == Role.principal}
    if not own or any(s.id not in own for s in schools):
        raise Forbidden(
            "Chỉ quản trị viên hoặc hiệu trưởng của trường mới được cấp quyền thanh tra.",
            "Only an administrator, or the school's principal, may grant inspection access.",
        )


def visible(session: Session, actor: Person) -> list[InspectorGrant]:
    """Admin: every grant; principal: grants touching their schools; inspector: their own."""
    query = select(InspectorGrant).order_by(InspectorGrant.created_at.desc())
    if access.is_admin(actor):
        return list(session.scalars(query))
    mine = [g for g in session.scalars(query.where(InspectorGrant.inspector_id == actor.id))]
    own = {m.school_id for m in actor.memberships if m.role in (Role.principal, Role.vice_principal)}
    theirs = [g for g in session.scalars(query) if own & {s.id for s in g.schools}] if own else []
    heads = reach(session, actor, {UnitRole.head})
    units = list(session.scalars(query.where(InspectorGrant.unit_id.in_(heads)))) if heads else []
    return list({g.id: g for g in mine + theirs + units}.values())


def may_revoke(session: Session, actor: Person | None, grant: InspectorGrant) -> bool:
    """The system (CLI), an admin, the grant's maker; a head the unit grants made at their level or
    below, never those a Sở's head made over their Phòng; a principal a grant over their own schools."""
    if actor is None or access.is_admin(actor) or grant.granted_by_id == actor.id:
        return True
    heads = reach(session, actor, {UnitRole.head})
    if grant.unit_id in heads and reach(session, grant.granted_by, {UnitRole.head}) <= heads:
        return True
    own = {m.school_id for m in actor.memberships if m.role == Role.principal}
    return bool(own) and all(s.id in own for s in grant.schools)


def revoke(session: Session, actor: Person, grant_id: int, body: GrantRevoke) -> InspectorGrant:
    grant = session.get(InspectorGrant, grant_id)
    if grant is None or grant not in visible(session, actor) or grant.inspector_id == actor.id:
        raise NotFound("Không có quyền thanh tra này.", "No such grant.")
    if not may_revoke(session, actor, grant):
        raise Forbidden("Bạn không thu hồi được quyền này.", "You may not revoke this grant.")
    if grant.revoked_at is not None:
        return grant
    with write_transaction(session):
        revoke_all(session, actor, [grant], body.reason)
    return grant


def live_unit_grants(session: Session, inspector: Person, unit: OrgUnit) -> list[InspectorGrant]:
    """The inspector's grants made over `unit` that still work (not revoked, not expired)."""
    return list(
        session.scalars(
            select(InspectorGrant).where(
                InspectorGrant.inspector_id == inspector.id,
                InspectorGrant.unit_id == unit.id,
                InspectorGrant.revoked_at.is_(None),
                InspectorGrant.expires_at > utcnow(),
            )
        )
    )


def revoke_all(session: Session, actor: Person | None, live: list[InspectorGrant], reason: str) -> None:
    """Inside the caller's transaction: revoke each grant, each audited (the caller checked `may_revoke`)."""
    for grant in live:
        grant.revoked_at, grant.revoked_by_id, grant.revoke_reason = utcnow(), actor.id if actor else None, reason
        audit.append(
            session,
            actor=actor,
            action="grant.revoked",
            object_type="inspector_grant",
            object_id=grant.id,
            details={"reason": reason, "decision_number": grant.decision_number},
        )


def out(grant: InspectorGrant, seal_fingerprint: str) -> GrantOut:
    """The grant as shown, with the fingerprint of the seal the inspector's packages will carry."""
    return GrantOut(
        id=grant.id,
        inspector=grant.inspector.username,
        inspector_name=grant.inspector.full_name,
        granted_by=grant.granted_by.username,
        decision_number=grant.decision_number,
        decision_date=grant.decision_date,
        school_codes=sorted(s.code for s in grant.schools),
        unit_code=grant.unit.code if grant.unit else None,
        record_types=list(grant.record_types or []),
        school_years=list(grant.school_years or []),
        expires_at=grant.expires_at,
        created_at=grant.created_at,
        revoked_at=grant.revoked_at,
        revoke_reason=grant.revoke_reason,
        active=grant.active(utcnow()),
        seal_fingerprint=seal_fingerprint,
    )
