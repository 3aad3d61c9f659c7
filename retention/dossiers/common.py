"""What every step of the dossier year shares: who may act, the file code, the term, the title.

The rules that are legal facts are data here, each with its citation and whether an archivist has
confirmed it (DESIGN §5): the handover deadline (NĐ 30/2020 Phụ lục VI) and the default file-code
pattern. A school may have its own pattern (`School.file_code_pattern`).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import access, calendar
from archive.exceptions import Forbidden, InvalidInput, NotFound
from archive.models import Dossier, DossierList, Person, RecordType, Role, School

EDITORS = {Role.clerk, Role.archivist}  # văn thư, cán bộ lưu trữ: make and keep the list
APPROVERS = {Role.principal}  # the head of the unit approves the list
VIEWERS = EDITORS | APPROVERS | {Role.vice_principal}
FILE_CODE_PATTERN = "{year}.{heading}.{number}"  # năm.đề mục.số thứ tự, unless the school set its own
PLACEHOLDERS = {"year", "school_year", "heading", "number", "school"}
YEARS_CHOICES = (2, 5, 10, 15, 20, 25, 30, 50, 70)  # the terms offered on the page (2–70 or permanent)
SCHOOL_MONTHS = (9, 10, 11, 12, 1, 2, 3, 4, 5)  # a dossier per month covers the months of teaching


@dataclass(frozen=True)
class Deadline:
    """A legal deadline kept as data: how long after the work ended, the alert ahead, the citation."""

    years: int
    alert_days: int
    citation: str
    confirmed: bool


HANDOVER_DEADLINE = Deadline(
    years=1,
    alert_days=30,
    citation="NĐ 30/2020/NĐ-CP Phụ lục VI: nộp lưu hồ sơ vào lưu trữ cơ quan trong thời hạn 01 năm kể từ "
    "năm công việc kết thúc",
    confirmed=False,
)


def require(actor: Person, school_id: int, roles: set[Role], vi: str, en: str) -> None:
    if access.is_admin(actor) and roles is not APPROVERS:
        return
    if not (access.roles_at(actor, school_id) & roles):
        raise Forbidden(vi, en)


def require_editor(actor: Person, school_id: int) -> None:
    require(
        actor,
        school_id,
        EDITORS,
        "Chỉ văn thư hoặc cán bộ lưu trữ của trường được lập và sửa danh mục hồ sơ.",
        "Only the school's clerk or archivist may make and edit the list of dossiers.",
    )


def require_viewer(actor: Person, school_id: int) -> None:
    require(
        actor,
        school_id,
        VIEWERS,
        "Chỉ văn thư, cán bộ lưu trữ và ban giám hiệu của trường được xem danh mục hồ sơ.",
        "Only the school's clerk, archivist and management may see the list of dossiers.",
    )


def school_by_code(session: Session, code: str) -> School:
    school = session.scalar(select(School).where(School.code == code))
    if school is None:
        raise NotFound(f"Không có trường mã {code!r}.", f"No school with code {code!r}.")
    return school


def load_list(session: Session, list_id: int) -> DossierList:
    found = session.get(DossierList, list_id)
    if found is None:
        raise NotFound("Không có danh mục hồ sơ này.", "No such list of dossiers.")
    return found


def load_dossier(session: Session, dossier_id: str) -> Dossier:
    found = session.get(Dossier, dossier_id)
    if found is None:
        raise NotFound("Không có hồ sơ này.", "No such dossier.")
    return found


def check_pattern(pattern: str) -> str:
    """A file-code pattern names only known placeholders and includes {number} (so codes differ)."""
    try:
        names = {name for _t, name, _f, _c in string.Formatter().parse(pattern) if name is not None}
    except ValueError:
        names = {"?"}
    if "number" not in names or not names <= PLACEHOLDERS or len(pattern) > 60:
        raise InvalidInput(
            "Mẫu số, ký hiệu hồ sơ phải có {number} và chỉ dùng {year}, {school_year}, {heading}, {school}.",
            "The file-code pattern must contain {number} and use only {year}, {school_year}, {heading}, {school}.",
            field="file_code_pattern",
        )
    return pattern


def file_code(school: School, school_year: str, heading: str, number: int) -> str:
    first, _second = calendar.school_year_bounds(school_year)
    pattern = school.file_code_pattern or FILE_CODE_PATTERN
    return pattern.format(
        year=first, school_year=school_year, heading=heading, number=f"{number:02d}", school=school.code
    )


def check_term(permanent: bool, years: int | None) -> tuple[bool, int | None]:
    """Luật Lưu trữ 2024 Điều 15: permanent, or 2 to 70 years."""
    if permanent:
        return True, None
    if years is None or not 2 <= years <= 70:
        raise InvalidInput(
            "Thời hạn bảo quản phải là vĩnh viễn hoặc từ 2 đến 70 năm (Luật Lưu trữ 2024, Điều 15).",
            "The retention term must be permanent or 2 to 70 years (Archives Law 2024, Art. 15).",
            field="years",
        )
    return False, years


def term_label(permanent: bool, years: int | None) -> str:
    return "Vĩnh viễn" if permanent else f"{years} năm"


def short_name(record_type: RecordType) -> str:
    """ "Kế hoạch bài dạy (giáo án)" → "Kế hoạch bài dạy": a type's name as a title begins."""
    name = record_type.name_vi.split(" (")[0].strip()
    return name or record_type.name_vi


def title(
    record_type: RecordType,
    school_year: str,
    *,
    subject: str | None = None,
    grade: int | None = None,
    teacher: str | None = None,
    month: int | None = None,
) -> str:
    """ "Kế hoạch bài dạy môn Toán khối 5, năm học 2025-2026"."""
    parts = [short_name(record_type)]
    if subject:
        parts.append(f"môn {subject}")
    if grade is not None:
        parts.append(f"khối {grade}")
    if teacher:
        parts.append(f"của giáo viên {teacher}")
    if month is not None:
        parts.append(f"tháng {month}/{calendar.year_of_month(school_year, month)}")
    return " ".join(parts) + f", năm học {school_year}"


def work_bounds(school_year: str, month: int | None) -> tuple[date, date]:
    """The first and last day of a dossier's work: its month, else the school year (1/8 to 31/7)."""
    first, _second = calendar.school_year_bounds(school_year)
    if month is None:
        return date(first, calendar.SCHOOL_YEAR_FIRST_MONTH, 1), calendar.school_year_end(school_year)
    year = calendar.year_of_month(school_year, month)
    after = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, 1), date.fromordinal(after.toordinal() - 1)


# the headings (đề mục) of the yearly list, as `RecordType.dossier_heading` names them
HEADINGS = {
    "01": "Kế hoạch, chỉ đạo và quản lý",
    "02": "Chuyên môn, dạy học",
    "03": "Học sinh",
}


def heading_name(heading: str | None) -> str:
    return HEADINGS.get(heading or "", f"Đề mục {heading}" if heading else "Khác")


def school_of(session: Session, school_id: int) -> School:
    school = session.get(School, school_id)
    assert school is not None, school_id
    return school


# The subjects a school may tick when its list is generated (Chương trình giáo dục phổ thông 2018,
# TT 32/2018/TT-BGDĐT); a school teaching another adds its dossier by hand.
SUBJECTS = (
    "Tiếng Việt",
    "Toán",
    "Ngữ văn",
    "Tiếng Anh",
    "Đạo đức",
    "Tự nhiên và Xã hội",
    "Khoa học",
    "Khoa học tự nhiên",
    "Lịch sử và Địa lí",
    "Tin học và Công nghệ",
    "Tin học",
    "Công nghệ",
    "Giáo dục công dân",
    "Giáo dục thể chất",
    "Âm nhạc",
    "Mĩ thuật",
    "Hoạt động trải nghiệm",
    "Vật lí",
    "Hóa học",
    "Sinh học",
    "Lịch sử",
    "Địa lí",
)
