"""The hierarchy Sở → Phòng → school: making units, their schools and their people, and who reaches what.

A unit's reach is its subtree: a Sở reaches its Phòng and every school under either; a Phòng only
its own schools; a school never another school. Units are few (one Sở and its twenty-odd Phòng),
so the subtree is walked in Python over one small query and handed to SQL as a sub-select of
school ids, never as a list of a thousand ids. Unit roles give no record content by themselves:
a unit's inspectors read only what a grant covers (archive/grants.py).

Who may do what:
- the system administrator (and the CLI, actor None): everything, including moving a school;
- a unit's administrator (or an ancestor's): make schools under it with their first principal,
  make a Phòng under a Sở, give people roles at it;
- every unit role: read the unit's compliance dashboard and its schools' monthly statistics.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import access, audit, grants, service
from archive.auth import hash_password
from archive.db import write_transaction
from archive.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from archive.models import Person, Role, School
from archive.schemas import MembershipCreate, PersonCreate, SchoolCreate
from archive.unit_models import OrgUnit, UnitKind, UnitMembership, UnitRole
from archive.unit_reach import ALL_ROLES, reach, subtree_ids
from archive.unit_schemas import UnitCreate, UnitOut, UnitPersonCreate, UnitPersonOut, UnitSchoolCreate, UnitSchoolOut

RULE_SETTERS = {UnitRole.admin, UnitRole.head}
NOT_YOURS = ("Đơn vị này không thuộc phạm vi của bạn.", "This unit is outside your reach.")


def unit_by_code(session: Session, code: str) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise NotFound(f"Không có đơn vị mã {code!r}.", f"No unit with code {code!r}.")
    return unit


def visible_units(session: Session, person: Person) -> list[OrgUnit]:
    """The system admin: every unit; anyone else: the units their unit roles reach."""
    query = select(OrgUnit).order_by(OrgUnit.code)
    if not access.is_admin(person):
        query = query.where(OrgUnit.id.in_(reach(session, person)))
    return list(session.scalars(query))


def visible_units_all(session: Session) -> list[OrgUnit]:
    """Every unit (the CLI runs as the system)."""
    return list(session.scalars(select(OrgUnit).order_by(OrgUnit.code)))


def require_reach(session: Session, person: Person, unit: OrgUnit, roles: Collection[str] = ALL_ROLES) -> None:
    if not access.is_admin(person) and unit.id not in reach(session, person, roles):
        raise Forbidden(*NOT_YOURS)


def _require_manager(session: Session, actor: Person | None, unit: OrgUnit) -> None:
    if actor is None or access.is_admin(actor):
        return
    if unit.id not in reach(session, actor, {UnitRole.admin}):
        raise Forbidden(
            "Chỉ quản trị viên của đơn vị (hoặc của Sở cấp trên) được làm việc này.",
            "Only the unit's administrator (or its Sở's) may do this.",
        )


def _require_appointer(
    session: Session, actor: Person | None, unit: OrgUnit, role: UnitRole, person: Person | None
) -> None:
    """A unit's administrator makes its people, but never its head, and never gives themselves a role:
    the head is who grants inspectors access to every school of the unit, so an administrator who
    could name the head (or be it) could hand that access to an account of their own making. The
    head is appointed by the system administrator or by the administrator of the unit above."""
    if actor is None or access.is_admin(actor):
        return
    if person is not None and person.id == actor.id:
        raise Forbidden(
            "Không thể tự cấp vai trò cho chính mình ở đơn vị.", "You may not give yourself a role at the unit."
        )
    above = reach(session, actor, {UnitRole.admin}) - {
        m.unit_id for m in actor.unit_memberships if m.role == UnitRole.admin
    }
    if role == UnitRole.head and unit.id not in above:
        raise Forbidden(
            "Lãnh đạo đơn vị do quản trị viên hệ thống hoặc quản trị viên của Sở cấp trên chỉ định.",
            "The unit's head is appointed by the system administrator or by the administrator of the Sở above.",
        )


def out(session: Session, unit: OrgUnit) -> UnitOut:
    count = session.scalar(select(func.count()).select_from(School).where(School.unit_id == unit.id)) or 0
    return UnitOut(
        kind=UnitKind(unit.kind),
        code=unit.code,
        name=unit.name,
        area=unit.area,
        parent_code=unit.parent.code if unit.parent else None,
        signing_deadline_day=unit.signing_deadline_day,
        school_count=count,
    )


def create_unit(session: Session, actor: Person | None, data: UnitCreate) -> OrgUnit:
    """A Sở (the system administrator only) or a Phòng under a Sở (also that Sở's administrator)."""
    parent = unit_by_code(session, data.parent_code) if data.parent_code else None
    if data.kind == UnitKind.so and parent is not None:
        raise InvalidInput("Sở GDĐT không nằm dưới đơn vị nào.", "A Sở has no parent unit.")
    if data.kind == UnitKind.phong and (parent is None or parent.kind != UnitKind.so):
        raise InvalidInput("Phòng GDĐT phải thuộc một Sở GDĐT.", "A Phòng must sit under a Sở.")
    if parent is None:
        if actor is not None and not access.is_admin(actor):
            raise Forbidden("Chỉ quản trị hệ thống được tạo Sở GDĐT.", "Only the system administrator makes a Sở.")
    else:
        _require_manager(session, actor, parent)
    with write_transaction(session):
        if session.scalar(select(OrgUnit).where(OrgUnit.code == data.code)):
            raise Conflict(f"Đã có đơn vị mã {data.code!r}.", f"A unit with code {data.code!r} exists.")
        unit = OrgUnit(
            kind=data.kind.value,
            code=data.code,
            name=data.name,
            area=data.area,
            parent_id=parent.id if parent else None,
            signing_deadline_day=data.signing_deadline_day,
        )
        unit.parent = parent
        session.add(unit)
        session.flush()
        audit.append(
            session,
            actor=actor,
            action="unit.created",
            object_type="org_unit",
            object_id=unit.code,
            details=data.model_dump(mode="json"),
        )
    return unit


def _fill_places(school: School, unit: OrgUnit) -> None:
    """The school's free-text district/province, from its unit (kept for everything that reads them)."""
    if unit.kind == UnitKind.phong:
        school.district = unit.area or school.district
        if unit.parent is not None:
            school.province = unit.parent.area or school.province
    else:
        school.province = unit.area or school.province


def create_school(session: Session, actor: Person | None, unit_code: str, data: UnitSchoolCreate) -> UnitSchoolOut:
    """The school under the unit, and its first principal with a one-time password, in one transaction."""
    unit = unit_by_code(session, unit_code)
    _require_manager(session, actor, unit)
    password = service.one_time_password() if data.principal else None
    hashed = hash_password(password) if password else None  # argon2 outside the write lock
    with write_transaction(session):
        if session.scalar(select(School).where(School.code == data.code)):
            raise Conflict(f"Đã có trường mã {data.code!r}.", f"A school with code {data.code!r} exists.")
        school = School(**SchoolCreate.model_validate(data.model_dump(exclude={"principal"})).model_dump())
        school.unit_id = unit.id
        _fill_places(school, unit)
        session.add(school)
        session.flush()
        audit.append(
            session,
            actor=actor,
            action="school.created",
            object_type="school",
            object_id=school.code,
            school_id=school.id,
            details={"unit": unit.code, "name": school.name, "district": school.district, "province": school.province},
        )
        if data.principal is not None:
            account = PersonCreate(
                username=data.principal.username,
                full_name=data.principal.full_name,
                password="x" * 12,  # replaced by the hash made above
                must_change_password=True,
            )
            principal = service.insert_person(session, actor, account, password_hash=hashed)
            service.insert_membership(
                session, actor, principal, MembershipCreate(role=Role.principal, school_code=school.code), school
            )
    return UnitSchoolOut(
        code=school.code,
        name=school.name,
        district=school.district,
        province=school.province,
        unit_code=unit.code,
        principal_username=data.principal.username if data.principal else None,
        one_time_password=password,
    )


def attach_school(session: Session, actor: Person | None, school_code: str, unit_code: str) -> School:
    """Put an existing school under a unit (or move it): the system administrator's or the CLI's."""
    if actor is not None and not access.is_admin(actor):
        raise Forbidden(
            "Chỉ quản trị hệ thống được chuyển trường giữa các đơn vị.", "Only the system admin moves schools."
        )
    school = service.school_by_code(session, school_code)
    unit = unit_by_code(session, unit_code)
    with write_transaction(session):
        before = school.unit_id
        school.unit_id = unit.id
        _fill_places(school, unit)
        audit.append(
            session,
            actor=actor,
            action="school.attached",
            object_type="school",
            object_id=school.code,
            school_id=school.id,
            details={"unit": unit.code, "previous_unit_id": before},
        )
    return school


def add_person(session: Session, actor: Person | None, unit_code: str, data: UnitPersonCreate) -> UnitPersonOut:
    """A role at the unit: for an existing account, or a new one with a one-time password."""
    unit = unit_by_code(session, unit_code)
    _require_manager(session, actor, unit)
    person = session.scalar(select(Person).where(Person.username == data.username, Person.deleted_at.is_(None)))
    _require_appointer(session, actor, unit, data.role, person)
    password = None
    if person is None and not data.full_name:
        raise InvalidInput(
            f"Chưa có tài khoản {data.username!r}: hãy ghi họ và tên để tạo.",
            f"No account {data.username!r}: give a full name to create it.",
        )
    if person is None:
        password = service.one_time_password()
    hashed = hash_password(password) if password else None
    with write_transaction(session):
        if person is None:
            account = PersonCreate(
                username=data.username, full_name=data.full_name or "", password="x" * 12, must_change_password=True
            )
            person = service.insert_person(session, actor, account, password_hash=hashed)
        if any(m.unit_id == unit.id and m.role == data.role for m in person.unit_memberships):
            raise Conflict("Người này đã có vai trò đó ở đơn vị.", "This person already has that role at the unit.")
        membership = UnitMembership(person_id=person.id, unit_id=unit.id, role=data.role.value)
        membership.unit = unit
        session.add(membership)
        audit.append(
            session,
            actor=actor,
            action="unit_membership.added",
            object_type="person",
            object_id=person.id,
            details={"unit": unit.code, "role": data.role.value, "username": person.username},
        )
    session.refresh(person)
    return UnitPersonOut(
        username=person.username,
        full_name=person.full_name,
        role=data.role,
        unit_code=unit.code,
        one_time_password=password,
    )


def set_deadline(session: Session, actor: Person | None, unit_code: str, day: int) -> OrgUnit:
    """The day of the next month by which the unit's schools sign a month (the dashboard's "late").

    The unit's rule, so its administrator or its head (or those above) set it; audited before and after."""
    unit = unit_by_code(session, unit_code)
    if actor is not None and not access.is_admin(actor) and unit.id not in reach(session, actor, RULE_SETTERS):
        raise Forbidden(
            "Chỉ lãnh đạo hoặc quản trị viên của đơn vị (hoặc của Sở cấp trên) được đặt hạn ký duyệt.",
            "Only the unit's head or administrator (or its Sở's) sets the signing deadline.",
        )
    if not 1 <= day <= 28:
        raise InvalidInput(
            "Hạn ký duyệt là một ngày từ 1 đến 28 của tháng sau.",
            "The deadline is a day from 1 to 28 of the next month.",
        )
    if unit.signing_deadline_day == day:
        return unit  # nothing changed, nothing to audit
    with write_transaction(session):
        before, unit.signing_deadline_day = unit.signing_deadline_day, day
        audit.append(
            session,
            actor=actor,
            action="unit.deadline_changed",
            object_type="unit",
            object_id=unit.code,
            details={"before": before, "after": day},
        )
    return unit


def remove_person(session: Session, actor: Person | None, unit_code: str, username: str, role: UnitRole) -> int:
    """Take a role at the unit back (a Phòng's inspector moves on, a leader retires); audited.

    Whoever may give the role may take it back, never their own, and the head only from above, as
    the head is named. Taking an inspector's role also revokes the unit's grants to that person in
    the same transaction (a grant made over the unit's schools belongs to the post, not to whoever
    once held it), so it is refused while one of them is a decision the actor may not revoke (the
    Sở head's, over a Phòng): the unit's administrator does not end an inspection of the unit.
    Returns how many grants were revoked."""
    unit = unit_by_code(session, unit_code)
    _require_manager(session, actor, unit)
    person = session.scalar(select(Person).where(Person.username == username, Person.deleted_at.is_(None)))
    if person is None or not _holds(session, person, unit, role):
        raise NotFound(
            f"{username!r} không có vai trò đó ở đơn vị {unit.code}.", f"{username!r} has no such role at {unit.code}."
        )
    if actor is not None and person.id == actor.id:
        raise Forbidden(
            "Không thể tự thu hồi vai trò của chính mình ở đơn vị.", "You may not take back your own role at the unit."
        )
    if role == UnitRole.head:
        _require_appointer(session, actor, unit, role, None)
    live = grants.live_unit_grants(session, person, unit) if role == UnitRole.inspector else []
    kept = sorted(g.decision_number for g in live if not grants.may_revoke(session, actor, g))
    if kept:
        raise Conflict(
            f"{username!r} đang thanh tra theo quyết định {', '.join(kept)}; người cấp (lãnh đạo) thu hồi trước.",
            f"{username!r} is inspecting under {', '.join(kept)}; its grantor (the head) revokes it first.",
        )
    with write_transaction(session):
        membership = _holds(session, person, unit, role)  # again, under the lock: a second removal finds none
        if membership is None:
            raise NotFound(f"{username!r} không có vai trò đó ở đơn vị {unit.code}.", f"{username!r}: no such role.")
        session.delete(membership)
        grants.revoke_all(session, actor, live, f"Thôi làm thanh tra của {unit.code}")
        audit.append(
            session,
            actor=actor,
            action="unit_membership.removed",
            object_type="person",
            object_id=person.id,
            details={"unit": unit.code, "role": role.value, "username": person.username, "grants_revoked": len(live)},
        )
    session.refresh(person)
    return len(live)


def _holds(session: Session, person: Person, unit: OrgUnit, role: UnitRole) -> UnitMembership | None:
    return session.scalar(
        select(UnitMembership).where(
            UnitMembership.person_id == person.id, UnitMembership.unit_id == unit.id, UnitMembership.role == role.value
        )
    )


def people_of(session: Session, unit: OrgUnit) -> list[tuple[Person, str]]:
    rows = session.execute(
        select(Person, UnitMembership.role)
        .join(UnitMembership, UnitMembership.person_id == Person.id)
        .where(UnitMembership.unit_id == unit.id, Person.deleted_at.is_(None))
        .order_by(Person.username)
    )
    return [(p, r) for p, r in rows]


def schools_of(session: Session, unit_ids: Collection[int]) -> list[School]:
    return list(session.scalars(select(School).where(School.unit_id.in_(list(unit_ids))).order_by(School.code)))


def school_count(session: Session, unit: OrgUnit) -> int:
    """The schools at or under the unit (a Sở: its Phòng's too), counted in SQL."""
    under = subtree_ids(session, [unit.id])
    return session.scalar(select(func.count()).select_from(School).where(School.unit_id.in_(under))) or 0


def children_of(session: Session, unit: OrgUnit) -> list[OrgUnit]:
    """The Phòng directly under a Sở (none under a Phòng)."""
    return list(session.scalars(select(OrgUnit).where(OrgUnit.parent_id == unit.id).order_by(OrgUnit.code)))


def own_units(session: Session, person: Person) -> list[tuple[OrgUnit, list[UnitRole], int]]:
    """The units where the person holds a role, with those roles and the unit's school count (home page)."""
    roles: dict[int, list[UnitRole]] = {}
    for m in person.unit_memberships:
        roles.setdefault(m.unit_id, []).append(UnitRole(m.role))
    found = session.scalars(select(OrgUnit).where(OrgUnit.id.in_(list(roles))).order_by(OrgUnit.code))
    return [(u, sorted(roles[u.id]), school_count(session, u)) for u in found]
