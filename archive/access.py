"""Who may see and change what: the role rules, in one place, used by the API and the CLI.

- teacher, department head: see their school's records; add versions only to their own records;
- principal, vice principal, clerk, archivist: see every record of their school;
- teacher, department head, principal, vice principal, clerk: create records at their school;
- admin: manages schools and people (system-wide), but reads no record content by that role
  alone: gradebooks and học bạ are minors' data (least privilege);
- inspector: nothing until an inspection grant says otherwise (search/evidence issue);
- the schedule (retention terms, scan rules), one for every school the installation serves: the
  administrator, or an archivist only where every school served is one they keep (`keeps_schedule`).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.exceptions import Forbidden
from archive.models import Person, Record, Role, School

READERS = {Role.teacher, Role.department_head, Role.principal, Role.vice_principal, Role.clerk, Role.archivist}
SCHEDULE_KEEPERS = (
    "Bảng thời hạn bảo quản và quy định ảnh quét dùng chung cho mọi trường của hệ thống: chỉ quản trị viên "
    "hệ thống sửa, hoặc cán bộ lưu trữ khi hệ thống chỉ phục vụ trường của mình.",
    "The retention schedule and scan rules apply to every school of this installation: only the system "
    "administrator changes them, or an archivist when the installation serves only their school.",
)
CREATORS = {Role.teacher, Role.department_head, Role.principal, Role.vice_principal, Role.clerk}


def roles_at(person: Person, school_id: int | None) -> set[str]:
    return {m.role for m in person.memberships if m.school_id == school_id}


def is_admin(person: Person) -> bool:
    return any(m.role == Role.admin for m in person.memberships)


def readable_school_ids(person: Person) -> set[int]:
    return {m.school_id for m in person.memberships if m.school_id is not None and m.role in READERS}


def keeps_schedule(session: Session, person: Person) -> bool:
    """Whether this person may change the schedule, which applies to every school the installation serves.

    A school running hoso alone has its archivist keep it (DESIGN §5). On a Phòng's or Sở's hoso the same
    edit would change the terms of schools that are not the archivist's: a term shortened for new records
    there makes other schools' records fall due early. So there it is the system administrator's (set by
    the Sở/Phòng for all its schools), unless the archivist keeps every school the installation serves."""
    if is_admin(person):
        return True
    kept = {m.school_id for m in person.memberships if m.role == Role.archivist and m.school_id is not None}
    if not kept:
        return False
    others = session.scalar(select(func.count()).select_from(School).where(School.id.not_in(kept)))
    return not others


def require_admin(person: Person) -> None:
    if not is_admin(person):
        raise Forbidden("Chỉ quản trị viên được làm việc này.", "Only an administrator may do this.")


def require_can_read(person: Person, record: Record) -> None:
    if record.school_id not in readable_school_ids(person):
        raise Forbidden("Bạn không có quyền xem hồ sơ của trường này.", "You may not see records of this school.")


def require_can_create(person: Person, school_id: int) -> None:
    if not roles_at(person, school_id) & CREATORS:
        raise Forbidden("Bạn không có quyền tải hồ sơ lên trường này.", "You may not upload records to this school.")


def require_can_edit(person: Person, record: Record) -> None:
    require_can_read(person, record)
    if record.author_id != person.id or not roles_at(person, record.school_id) & CREATORS:
        raise Forbidden(
            "Chỉ người tạo hồ sơ được tải phiên bản mới.", "Only the record's author may upload a new version."
        )
