"""One clock and one school calendar: the only answers hoso gives to "when is now" and "which school
year is this".

Why one module: dates decide what a principal is asked to sign (the month's queue), which school
year a record falls in (and so which inspection grant covers it), and when a record may leave the
archive — nothing may be destroyed early. Before this module there were five copies of "the school
year of a month" with two cut-offs (August in four, September in one), and the approval page opened
on the calendar month, so on 1 December November's plans were nowhere to be seen.

The clock: `now()` is the business "now" of every domain (submissions, decisions, terms, leases,
audit times). In production it is the machine's UTC clock. Tests pin it (`pinned`) so no test
depends on the day it runs; a pinned clock keeps ticking from the pinned instant, so leases, expiry
and timeouts still behave. Time that a third party checks — a signature's signing time, a
certificate's validity at the moment of signing, a TSA token, a TLS handshake — is real time by
nature; it comes from pyHanko, the TSA and the operating system and never follows a pin.

The calendar: a Vietnamese school year runs from August (teachers return, the school's plan for the
year and the first lesson plans are written; classes start early September) to the summer; records
dated August belong to the year that is starting. A school year is spelled "2026-2027".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

VN_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
SCHOOL_YEAR_FIRST_MONTH = 8
SCHOOL_YEAR = re.compile(r"^([0-9]{4})-([0-9]{4})$")  # ASCII digits only: "٢٠٢٥" is not a year here

_offset = timedelta(0)


def now() -> datetime:
    """The business "now", timezone-aware UTC."""
    return datetime.now(UTC) + _offset


def today() -> date:
    """Today's date in Vietnam (a school's day starts at midnight Hanoi time, not UTC)."""
    return now().astimezone(VN_TIME).date()


def this_month() -> str:
    """The current month as a monthly period spells it ("2026-11")."""
    return f"{today():%Y-%m}"


@contextmanager
def pinned(at: datetime) -> Iterator[datetime]:
    """Run as if it were `at` (tests only): the clock starts there and keeps ticking."""
    global _offset
    if at.tzinfo is None:
        raise ValueError("pin the clock with a timezone-aware datetime")
    before = _offset
    _offset = at - datetime.now(UTC)
    try:
        yield at
    finally:
        _offset = before


def school_year_start(year: int, month: int) -> int:
    """The first calendar year of the school year that month `month` of `year` falls in."""
    return year if month >= SCHOOL_YEAR_FIRST_MONTH else year - 1


def school_year_of(day: date | datetime) -> str:
    """The school year of a date (a datetime is read in Vietnam's time)."""
    if isinstance(day, datetime):
        day = day.astimezone(VN_TIME).date()
    start = school_year_start(day.year, day.month)
    return f"{start}-{start + 1}"


def current_school_year() -> str:
    return school_year_of(today())


def school_year_bounds(school_year: str) -> tuple[int, int]:
    """("2025-2026") → (2025, 2026); a malformed or non-consecutive year raises ValueError."""
    match = SCHOOL_YEAR.match(school_year)
    if match is None or int(match.group(2)) != int(match.group(1)) + 1:
        raise ValueError(f"not a school year: {school_year!r}")
    return int(match.group(1)), int(match.group(2))


def year_of_month(school_year: str, month: int) -> int:
    """The calendar year in which month `month` of school year `school_year` falls."""
    first, second = school_year_bounds(school_year)
    return first if month >= SCHOOL_YEAR_FIRST_MONTH else second


def school_year_end(school_year: str) -> date:
    """The last day of a school year (31 July of its second year): terms count from here."""
    _first, second = school_year_bounds(school_year)
    return date(second, SCHOOL_YEAR_FIRST_MONTH, 1) - timedelta(days=1)
