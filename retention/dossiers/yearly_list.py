"""Step 1 of the dossier year: the yearly list (danh mục hồ sơ), generated, then edited by the clerk.

Generated from the record types' schedule: one dossier per type on the list (`dossier_heading`)
and, where the type says so (`dossier_group_by`), per subject, grade, teacher or month — lesson
plans per subject and grade: "Kế hoạch bài dạy môn Toán khối 5, năm học 2025-2026". Numbers run
per heading; file codes follow the school's pattern and are unique per school (a DB constraint,
checked first so the message names the code). While the list is a draft the clerk or archivist
adds, renames, changes keeper or term, and removes empty dossiers; approval is `approval.py`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive import audit, calendar
from archive.db import write_transaction
from archive.exceptions import Conflict, InvalidInput, NotFound
from archive.models import (
    Dossier,
    DossierGrouping,
    DossierList,
    DossierListState,
    DossierState,
    Membership,
    Person,
    Record,
    RecordType,
    Role,
)
from retention.dossiers import common
from retention.exceptions import DuplicateFileCode, YearNotStarted

Combo = dict[str, Any]  # grouping values of one dossier: subject, grade, teacher (a Person), month


def check_year(school_year: str) -> tuple[int, int]:
    """A well-formed school year that has begun (1 August of its first year, Hanoi time)."""
    try:
        first, second = calendar.school_year_bounds(school_year)
    except ValueError:
        raise InvalidInput(
            f"Năm học {school_year!r} không hợp lệ; viết dạng 2025-2026.",
            f"{school_year!r} is not a school year; write it as 2025-2026.",
            field="school_year",
        ) from None
    if date(first, calendar.SCHOOL_YEAR_FIRST_MONTH, 1) > calendar.today():
        raise YearNotStarted(
            f"Năm học {school_year} chưa bắt đầu; chỉ lập danh mục hồ sơ cho năm học đã bắt đầu.",
            f"The school year {school_year} has not started; a list is made only for a year that has begun.",
            field="school_year",
        )
    return first, second


def teachers_of(session: Session, school_id: int) -> list[Person]:
    return list(
        session.scalars(
            select(Person)
            .join(Membership, Membership.person_id == Person.id)
            .where(
                Membership.school_id == school_id,
                Membership.role == Role.teacher,
                Person.active,
                Person.deleted_at.is_(None),
            )
            .order_by(Person.full_name)
        ).unique()
    )


def _combos(
    record_type: RecordType, grades: Sequence[int], subjects: Sequence[str], teachers: list[Person]
) -> list[Combo]:
    values: dict[str, Sequence[Any]] = {
        DossierGrouping.subject: subjects,
        DossierGrouping.grade: grades,
        DossierGrouping.teacher: teachers,
        DossierGrouping.month: common.SCHOOL_MONTHS,
    }
    dims = [g for g in record_type.dossier_group_by if g in values]
    for dim in dims:
        if not values[dim]:
            label = {"subject": "môn học", "grade": "khối lớp", "teacher": "giáo viên", "month": "tháng"}[dim]
            raise InvalidInput(
                f"{common.short_name(record_type)} lập theo {label}: hãy chọn ít nhất một {label}.",
                f"{record_type.name_en} dossiers are made per {dim}: choose at least one.",
                field=f"{dim}s",
            )
    return [dict(zip(dims, chosen, strict=True)) for chosen in itertools.product(*(values[d] for d in dims))]


def generate(
    session: Session,
    actor: Person,
    *,
    school_code: str,
    school_year: str,
    grades: Iterable[int] = (),
    subjects: Iterable[str] = (),
    file_code_pattern: str | None = None,
) -> DossierList:
    """The draft list of a school year, one dossier per type and grouping, numbered per heading."""
    school = common.school_by_code(session, school_code)
    common.require_editor(actor, school.id)
    check_year(school_year)
    if session.scalar(
        select(DossierList).where(DossierList.school_id == school.id, DossierList.school_year == school_year)
    ):
        raise Conflict(
            f"Trường đã có danh mục hồ sơ năm học {school_year}; hãy sửa danh mục đó.",
            f"The school already has a list for {school_year}; edit that one.",
        )
    pattern = common.check_pattern(file_code_pattern) if file_code_pattern else None
    grade_list = sorted({int(g) for g in grades if 1 <= int(g) <= 12})
    subject_list = list(dict.fromkeys(s.strip() for s in subjects if s.strip()))
    types = list(
        session.scalars(
            select(RecordType)
            .where(RecordType.dossier_heading.is_not(None))
            .order_by(RecordType.dossier_heading, RecordType.id)
        )
    )
    teachers = teachers_of(session, school.id)
    planned = [(t, combo) for t in types for combo in _combos(t, grade_list, subject_list, teachers)]
    with write_transaction(session):
        if pattern:
            school.file_code_pattern = pattern
        made = DossierList(
            school_id=school.id, school_year=school_year, state=DossierListState.draft, created_by_id=actor.id
        )
        session.add(made)
        session.flush()
        numbers: dict[str, int] = {}
        dossiers = []
        for record_type, combo in planned:
            heading = record_type.dossier_heading or ""
            numbers[heading] = numbers.get(heading, 0) + 1
            dossiers.append(_new(session, actor, made, record_type, combo, numbers[heading]))
        _check_unique(session, school.id, [d.file_code for d in dossiers])
        session.add_all(dossiers)
        _flush(session)
        audit.append(
            session,
            actor=actor,
            action="dossier_list.generated",
            object_type="dossier_list",
            object_id=made.id,
            school_id=school.id,
            details={
                "school_year": school_year,
                "dossiers": len(dossiers),
                "grades": grade_list,
                "subjects": subject_list,
            },
        )
    return made


def _new(
    session: Session, actor: Person, made: DossierList, record_type: RecordType, combo: Combo, number: int
) -> Dossier:
    school = common.school_of(session, made.school_id)
    teacher = combo.get(DossierGrouping.teacher)
    start, end = common.work_bounds(made.school_year, combo.get(DossierGrouping.month))
    permanent, years = record_type.retention_permanent, record_type.retention_years
    heading = record_type.dossier_heading or ""
    return Dossier(
        school_id=made.school_id,
        record_type_id=record_type.id,
        owner_id=teacher.id if teacher else actor.id,
        file_code=common.file_code(school, made.school_year, heading, number),
        title=common.title(
            record_type,
            made.school_year,
            subject=combo.get(DossierGrouping.subject),
            grade=combo.get(DossierGrouping.grade),
            teacher=teacher.full_name if teacher else None,
            month=combo.get(DossierGrouping.month),
        ),
        school_year=made.school_year,
        maintenance=common.term_label(permanent, years),
        language="vi",
        start_date=start,
        end_date=end,
        list_id=made.id,
        state=DossierState.planned,
        heading=heading,
        number=number,
        subject=combo.get(DossierGrouping.subject),
        grade=combo.get(DossierGrouping.grade),
        teacher_id=teacher.id if teacher else None,
        month=combo.get(DossierGrouping.month),
        retention_permanent=permanent,
        retention_years=years,
        keep_permanent=permanent,
        keep_until_year=None if permanent else calendar.school_year_bounds(made.school_year)[1] + int(years or 0),
        tt05={},
    )


def _check_unique(session: Session, school_id: int, codes: list[str], except_id: str | None = None) -> None:
    """Refuse a file code another dossier of the school has (or one repeated in `codes`)."""
    repeated = {c for c in codes if codes.count(c) > 1}
    taken = set(
        session.scalars(
            select(Dossier.file_code).where(
                Dossier.school_id == school_id, Dossier.file_code.in_(codes), Dossier.id != (except_id or "")
            )
        )
    )
    clash = sorted(repeated | taken)
    if clash:
        raise DuplicateFileCode(
            f"Số, ký hiệu hồ sơ {', '.join(clash[:5])} đã có ở trường; mỗi hồ sơ cần một số, ký hiệu riêng "
            "(sửa số hoặc mẫu số, ký hiệu).",
            f"File code {', '.join(clash[:5])} is already used at the school; each dossier needs its own.",
            field="file_code",
        )


def _flush(session: Session) -> None:
    """Flush; a file code taken concurrently (the DB's unique constraint) is the same clear refusal."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise DuplicateFileCode(
            "Số, ký hiệu hồ sơ này vừa được dùng cho hồ sơ khác của trường; hãy chọn số khác.",
            "This file code was just used by another dossier of the school; choose another.",
            field="file_code",
        ) from None


def _draft_of(session: Session, actor: Person, dossier: Dossier) -> DossierList:
    common.require_editor(actor, dossier.school_id)
    if dossier.list_id is None:
        raise Conflict("Hồ sơ này không thuộc danh mục năm học.", "This dossier is not on a yearly list.")
    made = common.load_list(session, dossier.list_id)
    if made.state != DossierListState.draft:
        raise Conflict(
            "Danh mục đã được hiệu trưởng phê duyệt; không sửa được nữa.",
            "The list was approved by the principal; it can no longer be edited.",
        )
    return made


def add(
    session: Session,
    actor: Person,
    list_id: int,
    *,
    record_type: str,
    title: str,
    file_code: str | None = None,
    keeper_id: int | None = None,
    permanent: bool | None = None,
    years: int | None = None,
) -> Dossier:
    """A dossier the generator did not make, numbered last under its type's heading."""
    made = common.load_list(session, list_id)
    common.require_editor(actor, made.school_id)
    if made.state != DossierListState.draft:
        raise Conflict(
            "Danh mục đã được phê duyệt; không thêm được hồ sơ.", "The list is approved; nothing can be added."
        )
    kind = session.scalar(select(RecordType).where(RecordType.code == record_type))
    if kind is None or kind.dossier_heading is None:
        raise NotFound(
            "Loại hồ sơ này không lập hồ sơ theo danh mục năm học.", "This record type is not on yearly lists."
        )
    if not title.strip():
        raise InvalidInput("Hãy ghi tiêu đề hồ sơ.", "Give the dossier's title.", field="title")
    heading = kind.dossier_heading
    last = session.scalar(
        select(func.max(Dossier.number)).where(Dossier.list_id == made.id, Dossier.heading == heading)
    )
    dossier = _new(session, actor, made, kind, {}, (last or 0) + 1)
    dossier.title = title.strip()
    if file_code is not None:
        dossier.file_code = _code(file_code)
    if keeper_id is not None:
        dossier.owner_id = _keeper(session, made.school_id, keeper_id).id
    if permanent is not None or years is not None:
        _set_term(dossier, bool(permanent), years)
    with write_transaction(session):
        _check_unique(session, made.school_id, [dossier.file_code])
        session.add(dossier)
        _flush(session)
        _audit(session, actor, dossier, "dossier.added", {"title": dossier.title, "file_code": dossier.file_code})
    return dossier


def edit(
    session: Session,
    actor: Person,
    dossier_id: str,
    *,
    title: str | None = None,
    file_code: str | None = None,
    keeper_id: int | None = None,
    permanent: bool | None = None,
    years: int | None = None,
) -> Dossier:
    """Rename, renumber, change the keeper or the term of a dossier on a draft list (audited)."""
    dossier = common.load_dossier(session, dossier_id)
    _draft_of(session, actor, dossier)
    changes: dict[str, Any] = {}
    if title is not None:
        if not title.strip():
            raise InvalidInput("Tiêu đề hồ sơ không được để trống.", "The title may not be empty.", field="title")
        changes["title"] = title.strip()
    if file_code is not None:
        changes["file_code"] = _code(file_code)
        _check_unique(session, dossier.school_id, [changes["file_code"]], except_id=dossier.id)
    if keeper_id is not None:
        changes["owner_id"] = _keeper(session, dossier.school_id, keeper_id).id
    with write_transaction(session):
        before = {k: getattr(dossier, k) for k in changes}
        for key, value in changes.items():
            setattr(dossier, key, value)
        if permanent is not None or years is not None:
            before["maintenance"] = dossier.maintenance
            _set_term(dossier, bool(permanent), years)
            changes["maintenance"] = dossier.maintenance
        _flush(session)
        _audit(session, actor, dossier, "dossier.edited", {"before": before, "after": changes})
    return dossier


def remove(session: Session, actor: Person, dossier_id: str) -> None:
    """Take an empty dossier off a draft list."""
    dossier = common.load_dossier(session, dossier_id)
    _draft_of(session, actor, dossier)
    if session.scalar(select(func.count()).select_from(Record).where(Record.dossier_id == dossier.id)):
        raise Conflict("Hồ sơ đã có tài liệu; không xóa được khỏi danh mục.", "The dossier holds documents; it stays.")
    with write_transaction(session):
        _audit(session, actor, dossier, "dossier.removed", {"title": dossier.title, "file_code": dossier.file_code})
        session.delete(dossier)


def _code(file_code: str) -> str:
    code = file_code.strip()
    if not code or len(code) > 100:
        raise InvalidInput(
            "Hãy ghi số, ký hiệu hồ sơ (tối đa 100 ký tự).", "Give the file code (≤100 characters).", field="file_code"
        )
    return code


def _keeper(session: Session, school_id: int, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None or not any(m.school_id == school_id for m in person.memberships):
        raise InvalidInput(
            "Người lập hồ sơ phải là người của trường.", "The keeper must belong to the school.", field="keeper"
        )
    return person


def _set_term(dossier: Dossier, permanent: bool, years: int | None) -> None:
    """The list's term; never below the record type's, whose term the documents carry anyway."""
    permanent, years = common.check_term(permanent, years)
    dossier.retention_permanent, dossier.retention_years = permanent, years
    dossier.maintenance = common.term_label(permanent, years)
    end = calendar.school_year_bounds(dossier.school_year)[1]
    dossier.keep_permanent = dossier.keep_permanent or permanent
    if not dossier.keep_permanent:
        dossier.keep_until_year = max(dossier.keep_until_year or 0, end + int(years or 0))
    else:
        dossier.keep_until_year = None


def _audit(session: Session, actor: Person, dossier: Dossier, action: str, details: dict[str, Any]) -> None:
    audit.append(
        session,
        actor=actor,
        action=action,
        object_type="dossier",
        object_id=dossier.id,
        school_id=dossier.school_id,
        details={**details, "list_id": dossier.list_id},
    )
