"""Plain functions over a Session for schools, people, memberships and record queries.

Every change goes through `write_transaction` and leaves an audit event; reads apply the role
rules of `archive.access`, so the API and the CLI cannot disagree about who sees what.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import access, audit, grants, renditions, unit_reach
from archive.auth import authenticate, hash_password, revoke
from archive.db import utcnow, write_transaction
from archive.exceptions import Conflict, InvalidInput, NotFound
from archive.models import (
    AuditEvent,
    Membership,
    Person,
    Record,
    RecordStatus,
    RecordType,
    Role,
    School,
    Version,
)
from archive.schemas import MembershipCreate, PersonCreate, PersonUpdate, RecordFilters, SchoolCreate

# -- schools -----------------------------------------------------------------------------------


def school_by_code(session: Session, code: str) -> School:
    school = session.scalar(select(School).where(School.code == code))
    if school is None:
        raise NotFound(f"Không có trường mã {code!r}.", f"No school with code {code!r}.")
    return school


def create_school(session: Session, actor: Person | None, data: SchoolCreate) -> School:
    with write_transaction(session):
        if session.scalar(select(School).where(School.code == data.code)):
            raise Conflict(f"Đã có trường mã {data.code!r}.", f"A school with code {data.code!r} exists.")
        school = School(**data.model_dump())
        session.add(school)
        session.flush()
        audit.append(
            session,
            actor=actor,
            action="school.created",
            object_type="school",
            object_id=school.code,
            school_id=school.id,
            details=data.model_dump(),
        )
    return school


def list_schools(session: Session, actor: Person) -> list[School]:
    """An admin: every school; anyone else: their own schools and those under their Sở or Phòng."""
    query = select(School).order_by(School.code)
    if not access.is_admin(actor):
        own = School.id.in_({m.school_id for m in actor.memberships if m.school_id})
        query = query.where(own | School.id.in_(unit_reach.schools_under(unit_reach.reach(session, actor))))
    return list(session.scalars(query))


# -- people ------------------------------------------------------------------------------------


def person_by_id(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None or person.deleted_at is not None:
        raise NotFound("Không tìm thấy người dùng.", "No such person.")
    return person


def create_person(
    session: Session, actor: Person | None, data: PersonCreate, role: MembershipCreate | None = None
) -> Person:
    """The account, and its first role when given, in one transaction: both are written, or neither."""
    school = school_by_code(session, role.school_code) if role and role.school_code else None
    with write_transaction(session):
        person = insert_person(session, actor, data)
        if role is not None:
            insert_membership(session, actor, person, role, school)
    return person


def insert_person(
    session: Session, actor: Person | None, data: PersonCreate, password_hash: str | None = None
) -> Person:
    """Add the account and its audit event inside the caller's `write_transaction` (an import adds many,
    and passes each `password_hash` made before the transaction: argon2id costs ~40 ms a person,
    which must not be spent while every other write in the archive waits)."""
    if session.scalar(select(Person).where(Person.username == data.username)):
        raise Conflict(f"Tên đăng nhập {data.username!r} đã có.", f"Username {data.username!r} is taken.")
    person = Person(
        username=data.username,
        full_name=data.full_name,
        national_id=data.national_id,
        email=data.email,
        password_hash=password_hash or hash_password(data.password),
        must_change_password=data.must_change_password,
    )
    session.add(person)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="person.created",
        object_type="person",
        object_id=person.id,
        details={"username": person.username, "full_name": person.full_name},
    )
    return person


def update_person(session: Session, actor: Person, person: Person, data: PersonUpdate) -> Person:
    changes = data.model_dump(exclude_unset=True)
    with write_transaction(session):
        for field in ("full_name", "email", "national_id"):
            if field in changes:
                setattr(person, field, changes[field])
        if "active" in changes and changes["active"] != person.active:
            if person.id == actor.id and not changes["active"]:
                raise InvalidInput("Không thể tự khóa tài khoản của mình.", "You cannot disable your own account.")
            if not changes["active"]:
                _keep_an_admin(session, excluding=person.id)
            person.active = changes["active"]
            person.token_version += 1
        if changes.get("password"):
            person.password_hash = hash_password(changes["password"])
            person.must_change_password = True  # set by someone else: the owner must choose their own
            person.token_version += 1
        session.add(person)
        audit.append(
            session,
            actor=actor,
            action="person.updated",
            object_type="person",
            object_id=person.id,
            details={
                "changed": sorted(k for k in changes if k != "password")
                + (["password"] if "password" in changes else [])
            }
            | ({"active": changes["active"]} if "active" in changes else {}),
        )
    return person


def reset_password(session: Session, actor: Person, person: Person) -> str:
    """A new one-time password for someone who forgot theirs: shown once to the administrator, changed
    at the person's first login; every session they had ends at once (the token version rises)."""
    password = one_time_password()
    with write_transaction(session):
        person.password_hash = hash_password(password)
        person.must_change_password = True
        person.token_version += 1
        session.add(person)
        audit.append(session, actor=actor, action="person.password_reset", object_type="person", object_id=person.id)
    return password


_READABLE = "abcdefghijkmnpqrstuvwxyz23456789"  # no l/1, o/0: read aloud or copied from paper


def one_time_password() -> str:
    """Three groups of four (~60 bits), e.g. "k7qm-2xhp-9tra": typed once from a printed list."""
    return "-".join("".join(secrets.choice(_READABLE) for _ in range(4)) for _ in range(3))


def delete_person(session: Session, actor: Person, person: Person) -> None:
    """Soft delete: the row stays (records and audit events name it); the account never logs in again."""
    if person.id == actor.id:
        raise InvalidInput("Không thể tự xóa tài khoản của mình.", "You cannot delete your own account.")
    with write_transaction(session):
        _keep_an_admin(session, excluding=person.id)
        person.active = False
        person.deleted_at = utcnow()
        person.token_version += 1
        person.password_hash = None
        session.add(person)
        audit.append(
            session,
            actor=actor,
            action="person.deleted",
            object_type="person",
            object_id=person.id,
            details={"username": person.username},
        )


def log_in(session: Session, username: str, password: str, address: str | None) -> Person:
    """The person with this username and password (throttled, see archive/auth.py), the login audited."""
    person = authenticate(session, username, password, address)
    with write_transaction(session):
        audit.append(session, actor=person, action="auth.login", object_type="person", object_id=person.id)
    return person


def end_session(session: Session, person: Person, token: str, secret: str) -> None:
    """Log out: this token stops working at once, on every server (the API and the pages' cookie alike)."""
    with write_transaction(session):
        revoke(session, person, token, secret)
        audit.append(session, actor=person, action="auth.logout", object_type="person", object_id=person.id)


def change_password(session: Session, person: Person, new_password: str) -> None:
    with write_transaction(session):
        person.password_hash = hash_password(new_password)
        person.must_change_password = False
        person.token_version += 1
        session.add(person)
        audit.append(session, actor=person, action="person.password_changed", object_type="person", object_id=person.id)


def list_people(session: Session, school_code: str | None = None) -> list[Person]:
    query = select(Person).where(Person.deleted_at.is_(None)).order_by(Person.username)
    if school_code:
        school = school_by_code(session, school_code)
        query = query.where(Person.id.in_(select(Membership.person_id).where(Membership.school_id == school.id)))
    return list(session.scalars(query))


def add_membership(session: Session, actor: Person | None, person: Person, data: MembershipCreate) -> Membership:
    school = school_by_code(session, data.school_code) if data.school_code else None
    with write_transaction(session):
        membership = insert_membership(session, actor, person, data, school)
    session.refresh(person)
    return membership


def insert_membership(
    session: Session, actor: Person | None, person: Person, data: MembershipCreate, school: School | None
) -> Membership:
    exists = session.scalar(
        select(Membership).where(
            Membership.person_id == person.id,
            Membership.role == data.role.value,
            Membership.school_id.is_(None) if school is None else Membership.school_id == school.id,
        )
    )
    if exists:
        raise Conflict("Người này đã có vai trò đó.", "This person already has that role.")
    membership = Membership(person_id=person.id, school_id=school.id if school else None, role=data.role.value)
    membership.school = school
    session.add(membership)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="membership.added",
        object_type="person",
        object_id=person.id,
        school_id=school.id if school else None,
        details={"role": data.role.value, "school": school.code if school else None},
    )
    return membership


def remove_membership(session: Session, actor: Person, membership_id: int) -> None:
    membership = session.get(Membership, membership_id)
    if membership is None:
        raise NotFound("Không có vai trò này.", "No such membership.")
    with write_transaction(session):
        person_id, role, school_id = membership.person_id, membership.role, membership.school_id
        if role == Role.admin:
            _keep_an_admin(session, excluding=person_id)
        session.delete(membership)
        person = session.get(Person, person_id)
        assert person is not None
        person.token_version += 1  # a token must not keep a removed role's reach
        audit.append(
            session,
            actor=actor,
            action="membership.removed",
            object_type="person",
            object_id=person_id,
            school_id=school_id,
            details={"role": role},
        )


def _keep_an_admin(session: Session, excluding: int) -> None:
    """Refuse a change that would leave the archive with no active administrator."""
    others = session.scalar(
        select(func.count())
        .select_from(Membership)
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.role == Role.admin, Person.active, Person.id != excluding)
    )
    is_admin_now = session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.role == Role.admin, Membership.person_id == excluding)
    )
    if is_admin_now and not others:
        raise Conflict(
            "Không thể bỏ quản trị viên cuối cùng đang hoạt động; hãy chỉ định người khác trước.",
            "This is the last active administrator; appoint another one first.",
        )


@dataclass
class FirstAdmin:
    username: str
    password: str


def ensure_first_admin(session: Session) -> FirstAdmin | None:
    """Create the first administrator with a one-time password, if the archive has none yet."""
    has_admin = session.scalar(select(func.count()).select_from(Membership).where(Membership.role == Role.admin))
    if has_admin:
        return None
    password = secrets.token_urlsafe(12)
    username = "admin"
    while session.scalar(select(Person).where(Person.username == username)):
        username = f"admin-{secrets.token_hex(2)}"
    person = create_person(
        session,
        None,
        PersonCreate(username=username, full_name="Quản trị hệ thống", password=password, must_change_password=True),
    )
    add_membership(session, None, person, MembershipCreate(role=Role.admin))
    return FirstAdmin(username=username, password=password)


# -- records -----------------------------------------------------------------------------------


def record_type_by_code(session: Session, code: str) -> RecordType:
    record_type = session.scalar(select(RecordType).where(RecordType.code == code))
    if record_type is None:
        raise NotFound(f"Không có loại hồ sơ {code!r}.", f"No record type {code!r}.")
    return record_type


def audit_read(session: Session, actor: Person, record: Record, version: int, **details: object) -> None:
    """One `record.downloaded` event: a download or playback from its first byte, or a look at a
    version's first page in the viewer (details say which); never one per seek or page turned."""
    with write_transaction(session):
        audit.append(
            session,
            actor=actor,
            action="record.downloaded",
            object_type="record",
            object_id=record.id,
            school_id=record.school_id,
            record_id=record.id,
            details={"version": version, **details},
        )


def get_record(session: Session, actor: Person, record_id: str, audited: bool = True) -> Record:
    """The record if the actor may read it: their school's, or (an inspector) within an active grant."""
    return grants.read_record(session, actor, record_id, audited)


def list_records(
    session: Session, actor: Person, filters: RecordFilters, page: int = 1, page_size: int = 50
) -> tuple[list[Record], int]:
    query = select(Record).where(grants.readable(session, actor))
    if filters.school_code:
        query = query.where(Record.school_id == school_by_code(session, filters.school_code).id)
    if filters.record_type:
        query = query.where(Record.record_type_id == record_type_by_code(session, filters.record_type).id)
    if filters.author:
        query = query.where(Record.author_id.in_(select(Person.id).where(Person.username == filters.author)))
    for field in ("school_year", "subject", "grade", "month", "status"):
        value = getattr(filters, field)
        if value is not None:
            query = query.where(getattr(Record, field) == value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Record.created_at.desc(), Record.id).offset((page - 1) * page_size).limit(page_size)
    )
    return list(rows), total


def list_versions(session: Session, record: Record) -> list[Version]:
    return list(session.scalars(select(Version).where(Version.record_id == record.id).order_by(Version.number)))


def get_version(session: Session, record: Record, number: int | None) -> Version:
    """Version `number`, or without one the record's own content: its newest version that is not a
    rendition (the original, or its signed form). `current_version` is the newest of all, and a
    rendition made after the upload — a recording's poster, its streaming copy — is not the record."""
    wanted = number or renditions.latest_source(session, record)
    version = session.scalar(select(Version).where(Version.record_id == record.id, Version.number == wanted))
    if version is None:
        raise NotFound(f"Tài liệu không có phiên bản {number}.", f"The record has no version {number}.")
    return version


def record_audit(session: Session, record: Record) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.record_id == record.id).order_by(AuditEvent.seq)))


def authored(session: Session, person: Person) -> tuple[list[Record], list[Record]]:
    """A teacher's records that came back (at most 20) and their ten latest, for the home page."""
    mine = select(Record).where(Record.author_id == person.id)
    returned = list(session.scalars(mine.where(Record.status == RecordStatus.returned).limit(20)))
    return returned, list(session.scalars(mine.order_by(Record.created_at.desc()).limit(10)))


def totals(session: Session) -> dict[str, int]:
    """Schools and (not deleted) people in the archive: the administrator's overview."""
    return {
        "schools": session.scalar(select(func.count()).select_from(School)) or 0,
        "people": session.scalar(select(func.count()).select_from(Person).where(Person.deleted_at.is_(None))) or 0,
    }
