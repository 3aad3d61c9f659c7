"""Each row of a staff list checked before anything is written: the preview an administrator confirms.

Headers are matched without accents, case or spacing ("Họ và tên", "HO VA TEN", "ho_va_ten"), so a
list typed on a PC without a Vietnamese keyboard is read too. Roles are written by their Vietnamese
names (or without accents; several in one cell separated by "," or ";"); the codes hoso keeps are
accepted as well, for lists made by another program. A row is refused, never half-read: its
problems name the row and the column as the file writes them, and say what to change.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive import service
from archive.exceptions import InvalidInput
from archive.models import Person, Role
from archive.schemas import clean_text
from archive.staff.schemas import Problem, StaffLine, StaffPreview, StaffRowOut
from archive.staff.sheet import Sheet

COLUMNS: dict[str, str] = {  # StaffLine field → the column's name in the template
    "full_name": "Họ và tên",
    "username": "Tên đăng nhập",
    "roles": "Vai trò",
    "email": "Email",
    "national_id": "Mã định danh",
}
REQUIRED = ("full_name", "username", "roles")
_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "full_name": ("ho va ten", "ho ten", "ten day du", "full name", "full_name", "name"),
    "username": ("ten dang nhap", "tai khoan", "username", "login"),
    "roles": ("vai tro", "role", "roles"),
    "email": ("email", "e-mail", "thu dien tu", "dia chi email"),
    "national_id": ("ma dinh danh", "so dinh danh", "ma dinh danh ca nhan", "cccd", "so cccd", "national_id"),
}
ROLE_NAMES: dict[Role, str] = {
    Role.teacher: "Giáo viên",
    Role.department_head: "Tổ trưởng chuyên môn",
    Role.principal: "Hiệu trưởng",
    Role.vice_principal: "Phó hiệu trưởng",
    Role.clerk: "Văn thư",
    Role.archivist: "Cán bộ lưu trữ",
    Role.inspector: "Thanh tra",
    Role.admin: "Quản trị",
}
_ROLE_ALIASES = {"gv": Role.teacher, "to truong": Role.department_head, "luu tru": Role.archivist}
NOT_OF_A_SCHOOL = (Role.inspector, Role.admin)
_USERNAME = re.compile(r"[A-Za-z0-9_.@-]{3,100}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def plain(text: str) -> str:
    """Lower case, no accents (đ → d), one space between words: how headers and roles are matched."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.lower().replace("_", " ").split())


_HEADERS = {plain(alias): field for field, aliases in _HEADER_ALIASES.items() for alias in aliases}
_ROLES = {plain(name): role for role, name in ROLE_NAMES.items()} | {role.value: role for role in Role}
_ROLES |= {plain(role.value): role for role in Role} | _ROLE_ALIASES


@dataclass(frozen=True)
class Read:
    lines: list[StaffLine]
    columns: dict[str, str]  # StaffLine field → the header as the file writes it


def lines_of(sheet: Sheet, name: str) -> Read:
    """The file's rows as StaffLines, by its header row; refused when a required column is missing."""
    header_row, header = sheet.rows[0]
    where: dict[str, int] = {}
    written: dict[str, str] = {}
    for index, cell in enumerate(header):
        field = _HEADERS.get(plain(cell))
        if field and field not in where:
            where[field], written[field] = index, cell.strip()
    missing = [COLUMNS[f] for f in REQUIRED if f not in where]
    if missing:
        names = ", ".join(f'"{m}"' for m in missing)
        raise InvalidInput(
            f"Tệp {name!r} thiếu cột {names} ở dòng tiêu đề (dòng {header_row}). Các cột cần có: "
            f'"Họ và tên", "Tên đăng nhập", "Vai trò"; có thể thêm "Email", "Mã định danh". Hãy dùng tệp mẫu.',
            f"The file {name!r} lacks the column(s) {names} in its header row (row {header_row}). Needed: "
            '"Họ và tên", "Tên đăng nhập", "Vai trò"; optional: "Email", "Mã định danh". Use the template.',
        )
    lines = [
        StaffLine(row=n, **{f: (cells[i] if i < len(cells) else "").strip()[:1000] for f, i in where.items()})
        for n, cells in sheet.rows[1:]
    ]
    if not lines:
        raise InvalidInput(
            f"Tệp {name!r} chỉ có dòng tiêu đề; hãy thêm mỗi người một dòng bên dưới.",
            f"The file {name!r} has only its header row; add one row per person below it.",
        )
    return Read(lines=lines, columns=written)


def preview(session: Session, school_code: str, lines: list[StaffLine], columns: dict[str, str]) -> StaffPreview:
    """Each line's account, or its problems: checked against the file itself and the archive's people."""
    school = service.school_by_code(session, school_code)
    usernames = [line.username for line in lines if line.username]
    wanted = [u.lower() for u in usernames]  # "GV.Lan" beside an existing "gv.lan" is the same person to a reader
    query = select(func.lower(Person.username)).where(func.lower(Person.username).in_(wanted))
    taken = set(session.scalars(query)) if usernames else set()
    rows_of: dict[str, list[int]] = {}
    for line in lines:
        rows_of.setdefault(line.username.lower(), []).append(line.row)
    rows = [_row(line, columns, taken, rows_of) for line in lines]
    session.commit()  # end the read snapshot
    return StaffPreview(
        school_code=school.code,
        school_name=school.name,
        columns=[columns.get(f, COLUMNS[f]) for f in COLUMNS if f in columns],
        rows=rows,
    )


def _row(line: StaffLine, columns: dict[str, str], taken: set[str], rows_of: dict[str, list[int]]) -> StaffRowOut:
    problems: list[Problem] = []

    def refuse(field: str, vi: str, en: str) -> None:
        column = columns.get(field, COLUMNS[field])
        problems.append(
            Problem(vi=f'Dòng {line.row}, cột "{column}": {vi}', en=f'Row {line.row}, column "{column}": {en}')
        )

    full_name = _text(line.full_name)
    if full_name is None:
        refuse("full_name", "có ký tự điều khiển; hãy gõ lại họ tên.", "has control characters; retype the name.")
    elif not full_name:
        refuse("full_name", "còn trống; hãy ghi họ và tên.", "is empty; write the full name.")
    elif len(full_name) > 200:
        refuse("full_name", "dài quá 200 ký tự.", "is longer than 200 characters.")
    username = line.username
    if not username:
        refuse(
            "username", "còn trống; hãy ghi tên đăng nhập (vd. gv.lan).", "is empty; write a username (e.g. gv.lan)."
        )
    elif not _USERNAME.fullmatch(username):
        refuse(
            "username",
            f"{username!r} không dùng được: 3–100 ký tự, chỉ chữ không dấu, số và . _ - @ (vd. gv.lan).",
            f"{username!r} is not allowed: 3–100 characters, only unaccented letters, digits and . _ - @.",
        )
    elif username.lower() in taken:
        refuse(
            "username",
            f"{username!r} đã có người dùng trong hệ thống; hãy chọn tên khác.",
            f"{username!r} is already someone's username; choose another.",
        )
    elif len(rows_of[username.lower()]) > 1:
        others = ", ".join(str(n) for n in rows_of[username.lower()] if n != line.row)
        refuse(
            "username",
            f"{username!r} trùng với dòng {others}; mỗi người một tên đăng nhập riêng (sửa tệp hoặc bỏ chọn một dòng).",
            f"{username!r} is also in row {others}; each person needs their own username (fix or untick one).",
        )
    roles = _roles(line.roles, refuse)
    email = _text(line.email) or None
    if email and (not _EMAIL.fullmatch(email) or len(email) > 200):
        refuse(
            "email",
            f"{email!r} không phải địa chỉ email (vd. lan@truong.edu.vn).",
            f"{email!r} is not an e-mail address.",
        )
    national_id = _text(line.national_id) or None
    if national_id and len(national_id) > 32:
        refuse("national_id", "dài quá 32 ký tự.", "is longer than 32 characters.")
    return StaffRowOut(
        row=line.row,
        full_name=full_name or "",
        username=username,
        roles=roles,
        email=email,
        national_id=national_id,
        problems=problems,
    )


def _roles(cell: str, refuse: Callable[[str, str, str], None]) -> list[Role]:
    names = [part for part in re.split(r"[,;/\n]", cell) if part.strip()]
    if not names:
        refuse("roles", "còn trống; hãy ghi vai trò, vd. Giáo viên.", "is empty; write a role, e.g. Giáo viên.")
        return []
    roles: list[Role] = []
    for name in names:
        role = _ROLES.get(plain(name))
        if role is None:
            known = ", ".join(ROLE_NAMES[r] for r in Role if r not in NOT_OF_A_SCHOOL)
            refuse(
                "roles", f"không có vai trò {name.strip()!r}; hãy ghi một trong: {known}.", f"no role {name.strip()!r}."
            )
        elif role in NOT_OF_A_SCHOOL:
            refuse(
                "roles",
                f"vai trò {ROLE_NAMES[role]!r} không gắn với trường; hãy tạo tài khoản này ở mục Thêm người dùng.",
                f"the role {ROLE_NAMES[role]!r} is not of a school; create this account under Add a person.",
            )
        elif role not in roles:
            roles.append(role)
    return roles


def _text(value: str) -> str | None:
    """The cell NFC-normalised and trimmed; None when it holds control characters."""
    try:
        return clean_text(value)
    except ValueError:
        return None
