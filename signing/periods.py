"""Signing periods, one spelling per cadence, so a batch key is a plain string that sorts by time.

monthly "2026-11" · weekly "2026-W47" (ISO week) · semester "2025-2026-HK1" · yearly "2025-2026".
The cadence comes from the record type (DESIGN §5: monthly approval is a district rule, not a
national one, so it is data).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from archive import calendar
from archive.exceptions import InvalidInput
from archive.models import Record

PATTERNS = {
    "monthly": re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
    "weekly": re.compile(r"^(\d{4})-W(0[1-9]|[1-4]\d|5[0-3])$"),
    "semester": re.compile(r"^(\d{4})-(\d{4})-HK([12])$"),
    "yearly": re.compile(r"^(\d{4})-(\d{4})$"),
}
EXAMPLES = {"monthly": "2026-11", "weekly": "2026-W47", "semester": "2025-2026-HK1", "yearly": "2025-2026"}


def check(period: str, cadence: str) -> str:
    pattern = PATTERNS.get(cadence)
    if pattern is None:
        raise InvalidInput(f"Chu kỳ ký '{cadence}' không được hỗ trợ.", f"Unsupported signing cadence {cadence!r}.")
    match = pattern.fullmatch(period) if period.isascii() else None  # \d alone also takes "٢٠٢٥-١١"
    ok = match is not None
    if match is not None and cadence in ("semester", "yearly"):
        ok = int(match.group(2)) == int(match.group(1)) + 1
    if not ok:
        raise InvalidInput(
            f"Kỳ duyệt '{period}' không đúng dạng; với chu kỳ này hãy viết như {EXAMPLES[cadence]}.",
            f"Period {period!r} is malformed; for this cadence write it like {EXAMPLES[cadence]}.",
            period=period,
        )
    return period


def default_for(record: Record, cadence: str, today: date) -> str:
    """The period a record belongs to when the teacher does not say: its month, semester or year."""
    if cadence == "monthly" and record.month:
        return f"{calendar.year_of_month(record.school_year, record.month)}-{record.month:02d}"
    if cadence == "semester" and record.semester:
        return f"{record.school_year}-HK{record.semester}"
    if cadence == "yearly":
        return record.school_year
    if cadence == "weekly":
        iso = today.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if cadence == "monthly":
        return f"{today.year}-{today.month:02d}"
    raise InvalidInput(
        f"Hãy ghi rõ kỳ duyệt (ví dụ {EXAMPLES[cadence]}).", f"Say which period (e.g. {EXAMPLES[cadence]})."
    )


def label(period: str) -> str:
    """The period as a Vietnamese document names it: "tháng 11/2026", "học kỳ I năm học 2025-2026"."""
    if PATTERNS["monthly"].match(period):
        return f"tháng {period[5:]}/{period[:4]}"
    if PATTERNS["weekly"].match(period):
        return f"tuần {period.split('-W')[1]}/{period[:4]}"
    if PATTERNS["semester"].match(period):
        return f"học kỳ {'I' * int(period[-1])} năm học {period[:9]}"
    return f"năm học {period}"


def starts(period: str) -> date:
    """The first day a period covers, so periods of different cadences sort by time together."""
    if PATTERNS["monthly"].match(period):
        return date(int(period[:4]), int(period[5:7]), 1)
    if PATTERNS["weekly"].match(period):
        return date.fromisocalendar(int(period[:4]), int(period.split("-W")[1]), 1)
    first, second = calendar.school_year_bounds(period[:9])
    if period.endswith("-HK2"):
        return date(second, 1, 1)
    return date(first, calendar.SCHOOL_YEAR_FIRST_MONTH, 1)


def latest_first(found: Iterable[str]) -> list[str]:
    return sorted(found, key=lambda p: (starts(p), p), reverse=True)


def month_of(period: str) -> int | None:
    return int(period[5:]) if PATTERNS["monthly"].match(period) else None


def school_year_of(period: str) -> str:
    """The school year a period falls in (`archive.calendar` says where a school year starts)."""
    year = int(period[:4])
    month = month_of(period)
    if month is not None:
        first = calendar.school_year_start(year, month)
        return f"{first}-{first + 1}"
    if PATTERNS["weekly"].match(period):
        return f"{year}-{year + 1}"
    return period[:9]
