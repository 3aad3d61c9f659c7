"""Monthly statistics by school structure (TT 09/2021/TT-BGDĐT): lesson plans submitted, approved,
returned and signed, by teacher, by subject and by grade/class; recorded lessons per teacher against
the "at least two a month" target. As JSON, CSV (for Excel: UTF-8 with a BOM) and an SVG chart
(api/routers/statistics.py serves them; the statistics page shows them).

The counts are a few GROUP BY queries over the approval items of the month's batches; nothing is
cached, so the figures are the archive's state at the moment they are asked for. The chart is
drawn here as SVG text (no plotting library, no image dependency): bars and labels, escaped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from archive import access, service, unit_reach
from archive.exceptions import Forbidden
from archive.models import Membership, Person, Record, RecordStatus, RecordType, Role, School
from signing import periods
from signing.models import ApprovalBatch, ApprovalItem, Decision, SignState

RECORDING_TYPES = ("lesson_recording",)
TARGET_RECORDINGS = 2  # online lessons recorded per teacher and month (the districts' rule)
TEACHING = (Role.teacher.value, Role.department_head.value)  # who is held to it (also the units' dashboard)
VIEWERS = {Role.principal, Role.vice_principal, Role.department_head, Role.clerk, Role.archivist}


@dataclass
class Row:
    key: str
    label: str
    submitted: int = 0
    approved: int = 0
    returned: int = 0
    pending: int = 0
    signed: int = 0
    recordings: int | None = None
    meets_target: bool | None = None


@dataclass
class Statistics:
    school_code: str
    school_name: str
    period: str
    period_label: str
    school_year: str
    month: int
    target_recordings: int
    totals: Row
    by_teacher: list[Row] = field(default_factory=list)
    by_subject: list[Row] = field(default_factory=list)
    by_class: list[Row] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def year_and_month(period: str) -> tuple[str, int]:
    """2026-11 → ("2026-2027", 11)."""
    periods.check(period, "monthly")
    return periods.school_year_of(period), int(period[5:7])


def _may_see(session: Session, person: Person, school: School) -> None:
    """The school's leadership, or a unit's people over it (the drill-down from the unit's dashboard)."""
    if access.is_admin(person) or access.roles_at(person, school.id) & VIEWERS:
        return
    if unit_reach.reaches_school(session, person, school):
        return
    raise Forbidden(
        "Thống kê dành cho ban giám hiệu, tổ trưởng, văn thư/lưu trữ của trường.",
        "Statistics are for the school's leadership, department heads and clerk/archivist.",
    )


def _counted(session: Session, school: School, period: str, *group: Any) -> list[Any]:
    item = ApprovalItem
    return list(
        session.execute(
            select(
                *group,
                func.count(item.id),
                func.sum(case((item.decision == Decision.approved, 1), else_=0)),
                func.sum(case((item.decision == Decision.returned, 1), else_=0)),
                func.sum(case((item.decision == Decision.pending, 1), else_=0)),
                func.sum(case((item.sign_state == SignState.signed, 1), else_=0)),
            )
            .select_from(item)
            .join(ApprovalBatch, ApprovalBatch.id == item.batch_id)
            .join(Record, Record.id == item.record_id)
            .where(ApprovalBatch.school_id == school.id, ApprovalBatch.period == period)
            # recordings are approved in the same monthly batch but counted as recordings, not plans
            .where(~Record.record_type.has(RecordType.code.in_(RECORDING_TYPES)))
            .group_by(*group)
            .order_by(*group)
        ).all()
    )


def _row(key: str, label: str, counts: tuple[Any, ...]) -> Row:
    submitted, approved, returned, pending, signed = (int(c or 0) for c in counts)
    return Row(key, label, submitted, approved, returned, pending, signed)


def _class_label(grade: int | None, class_name: str | None) -> str:
    if grade is None:
        return class_name or "(không ghi lớp)"
    return f"Khối {grade}" + (f" — lớp {class_name}" if class_name else "")


def compute(session: Session, person: Person, school_code: str, period: str) -> Statistics:
    school = service.school_by_code(session, school_code)
    _may_see(session, person, school)
    school_year, month = year_and_month(period)
    teachers = {
        p.id: p
        for p in session.scalars(
            select(Person)
            .join(Membership, Membership.person_id == Person.id)
            .where(
                Membership.school_id == school.id,
                Membership.role.in_(TEACHING),
                Person.deleted_at.is_(None),
                Person.active,
            )
        )
    }
    # held to the target: the school's active teachers, as the unit's dashboard counts them (signing/compliance.py)
    held = set(teachers)
    by_author = {row[0]: row[1:] for row in _counted(session, school, period, Record.author_id)}
    recorded = dict(
        session.execute(
            select(Record.author_id, func.count(Record.id))
            .where(
                Record.school_id == school.id,
                Record.record_type.has(code=RECORDING_TYPES[0]),
                Record.school_year == school_year,
                Record.month == month,
                Record.status != RecordStatus.destroyed,
            )
            .group_by(Record.author_id)
        ).all()
    )
    extra = set(by_author) | set(recorded)
    for person_id in extra - set(teachers):
        found = session.get(Person, person_id)
        if found is not None:
            teachers[person_id] = found
    by_teacher = []
    for pid, teacher in sorted(teachers.items(), key=lambda kv: kv[1].full_name):
        row = _row(teacher.username, teacher.full_name, by_author.get(pid, (0, 0, 0, 0, 0)))
        row.recordings = int(recorded.get(pid, 0))
        # an author who is no active teacher (a clerk, one who left) is listed with their plans, not held to it
        row.meets_target = row.recordings >= TARGET_RECORDINGS if pid in held else None
        by_teacher.append(row)
    by_subject = [
        _row(s or "", s or "(không ghi môn)", c) for s, *c in _counted(session, school, period, Record.subject)
    ]
    by_class = [
        _row(f"{g or ''}/{k or ''}", _class_label(g, k), c)
        for g, k, *c in _counted(session, school, period, Record.grade, Record.class_name)
    ]
    totals = _row("", "Tổng", tuple(sum(getattr(r, f) for r in by_subject) for f in _COUNTS))
    totals.recordings = sum(r.recordings or 0 for r in by_teacher)
    session.commit()
    return Statistics(
        school.code,
        school.name,
        period,
        periods.label(period),
        school_year,
        month,
        TARGET_RECORDINGS,
        totals,
        by_teacher,
        by_subject,
        by_class,
    )


_COUNTS = ("submitted", "approved", "returned", "pending", "signed")
CSV_HEADER = ["Nhóm", "Tên", "Đã nộp", "Đã duyệt", "Trả lại", "Chờ duyệt", "Đã ký", "Tiết dạy ghi hình", "Đạt ≥2/tháng"]


def to_csv(stats: Statistics) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 with Vietnamese letters intact only with the BOM
    writer = csv.writer(out)
    writer.writerow([f"Thống kê kế hoạch bài dạy {stats.period_label} — {stats.school_name} ({stats.school_year})"])
    writer.writerow(CSV_HEADER)
    groups = (("Giáo viên", stats.by_teacher), ("Môn", stats.by_subject), ("Khối/lớp", stats.by_class))
    for group, rows in groups:
        for r in rows:
            meets = "" if r.meets_target is None else ("có" if r.meets_target else "chưa")
            counts = [getattr(r, f) for f in _COUNTS]
            writer.writerow([group, r.label, *counts, "" if r.recordings is None else r.recordings, meets])
    t = stats.totals
    writer.writerow(["Tổng", "", *[getattr(t, f) for f in _COUNTS], t.recordings, ""])
    return out.getvalue()


SERIES = (("submitted", "Đã nộp", "#4a6fa5"), ("approved", "Đã duyệt", "#2e7d32"), ("signed", "Đã ký", "#0b4f8a"))
RECORDING_COLOUR = "#b26a00"


def to_svg(stats: Statistics) -> str:
    """Grouped bars per teacher (submitted, approved, signed, recorded lessons) and the target line."""
    rows = stats.by_teacher
    top = max([1, TARGET_RECORDINGS, *(max(r.submitted, r.recordings or 0) for r in rows)])
    bar, gap, left, chart_h, top_pad = 14, 18, 48, 220, 60
    group_w = bar * 4 + gap
    width = max(680, left + group_w * len(rows) + 20)
    height = top_pad + chart_h + 110

    def y(value: float) -> float:
        return top_pad + chart_h - chart_h * value / top

    title = f"Kế hoạch bài dạy và tiết dạy ghi hình {stats.period_label} — {stats.school_name}"
    aria = quoteattr(title)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label={aria} font-family="Liberation Sans, Arial, sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="{left}" y="20" font-size="14" font-weight="bold">'
        f"Kế hoạch bài dạy và tiết dạy ghi hình {escape(stats.period_label)}</text>",
        f'<text x="{left}" y="38" font-size="13">{escape(stats.school_name)} — năm học {stats.school_year}</text>',
    ]
    for tick in range(0, top + 1, max(1, top // 5)):
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end">{tick}</text>')
    for i, r in enumerate(rows):
        x0 = left + 10 + i * group_w
        values = [(getattr(r, key), colour) for key, _label, colour in SERIES] + [(r.recordings or 0, RECORDING_COLOUR)]
        for j, (value, colour) in enumerate(values):
            h = chart_h * value / top
            parts.append(
                f'<rect x="{x0 + j * bar}" y="{y(value):.1f}" width="{bar - 2}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(r.label)}: {value}</title></rect>"
            )
        label = escape(r.label if len(r.label) <= 16 else r.label[:15] + "…")
        cx, cy = x0 + bar * 2, top_pad + chart_h + 14
        parts.append(
            f'<text x="{cx}" y="{cy}" font-size="11" text-anchor="end" transform="rotate(-35 {cx} {cy})">{label}</text>'
        )
    target_y = y(TARGET_RECORDINGS)
    parts.append(
        f'<line x1="{left}" x2="{width - 10}" y1="{target_y:.1f}" y2="{target_y:.1f}" stroke="{RECORDING_COLOUR}" '
        f'stroke-dasharray="6 4"/><text x="{width - 12}" y="{target_y - 4:.1f}" font-size="11" text-anchor="end" '
        f'fill="{RECORDING_COLOUR}">mục tiêu {TARGET_RECORDINGS} tiết ghi hình/tháng</text>'
    )
    legend = [*((label, colour) for _k, label, colour in SERIES), ("Tiết ghi hình", RECORDING_COLOUR)]
    for k, (label, colour) in enumerate(legend):
        lx = left + k * 140
        parts.append(f'<rect x="{lx}" y="{height - 22}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 16}" y="{height - 12}" font-size="12">{escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
