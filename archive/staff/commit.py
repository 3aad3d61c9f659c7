"""The chosen rows of a staff list written in one transaction, each person with a one-time password.

Argon2id hashes each password (39 ms with hoso's parameters, measured on the shared 2-core test
machine), so a list of 200 people spends ~8 s hashing and 1,000 (the most one file may hold) ~40 s;
reading and checking a 1,000-row XLSX took 106 ms. It is still one transaction, audited per person
and once for the import, and a failure anywhere (a username taken a moment ago) leaves nothing.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive import audit, service
from archive.auth import hash_password
from archive.db import write_transaction
from archive.exceptions import Conflict, InvalidInput
from archive.models import Person
from archive.schemas import MembershipCreate, PersonCreate
from archive.staff import check, sheet
from archive.staff.schemas import StaffAccount, StaffImportOut, StaffLine, StaffPreview


def read_file(session: Session, school_code: str, data: bytes, name: str) -> tuple[StaffPreview, list[StaffLine]]:
    """The preview of a file, and its lines (to be confirmed); a file-level fault raises, nothing read."""
    read = check.lines_of(sheet.read(data, name), name)
    return check.preview(session, school_code, read.lines, read.columns), read.lines


class ImportRefused(InvalidInput):
    """A chosen row is refused: nothing is imported; the preview says which rows and why."""

    code = "import_refused"


def import_lines(
    session: Session,
    actor: Person | None,
    school_code: str,
    lines: list[StaffLine],
    chosen: set[int] | None = None,
    columns: dict[str, str] | None = None,
) -> StaffImportOut:
    """Create the people of the chosen rows (all when `chosen` is None), all or none."""
    picked = [line for line in lines if chosen is None or line.row in chosen]
    if not picked:
        raise InvalidInput(
            "Chưa chọn dòng nào để nhập; hãy đánh dấu ít nhất một người.",
            "No row is chosen; tick at least one person.",
        )
    checked = check.preview(session, school_code, picked, columns or {})
    refused = [r for r in checked.rows if r.problems]
    if refused:
        first = refused[0].problems[0]
        raise ImportRefused(
            f"Chưa nhập ai: {len(refused)} dòng được chọn bị từ chối ({first.vi}). "
            "Hãy sửa tệp hoặc bỏ chọn các dòng đó.",
            f"Nobody was imported: {len(refused)} chosen row(s) are refused ({first.en}). Fix the file or untick them.",
            rows=[r.model_dump(mode="json") for r in refused],
        )
    school = service.school_by_code(session, school_code)
    made: list[StaffAccount] = []
    # the one-time passwords and their hashes before the write lock: 1,000 people are ~40 s of argon2id
    passwords = [service.one_time_password() for _row in checked.rows]
    hashes = [hash_password(p) for p in passwords]
    try:
        with write_transaction(session):
            for row, password, hashed in zip(checked.rows, passwords, hashes, strict=True):
                data = PersonCreate(
                    username=row.username,
                    full_name=row.full_name,
                    password=password,
                    email=row.email,
                    national_id=row.national_id,
                    must_change_password=True,
                )
                person = service.insert_person(session, actor, data, hashed)
                for role in row.roles:
                    service.insert_membership(
                        session, actor, person, MembershipCreate(role=role, school_code=school.code), school
                    )
                made.append(
                    StaffAccount(
                        row=row.row, username=row.username, full_name=row.full_name, roles=row.roles, password=password
                    )
                )
            audit.append(
                session,
                actor=actor,
                action="people.imported",
                object_type="school",
                object_id=school.code,
                school_id=school.id,
                details={"count": len(made), "usernames": [m.username for m in made]},
            )
    except IntegrityError:  # a username taken between the check and the write (another admin, same moment)
        raise Conflict(
            "Chưa nhập ai: một tên đăng nhập vừa được người khác dùng. Hãy xem trước lại.",
            "Nobody was imported: a username was just taken by someone else. Preview again.",
        ) from None
    return StaffImportOut(school_code=school.code, created=made)
