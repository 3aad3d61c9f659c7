"""The one clock and the school calendar: a pin holds and ticks, school years turn in Hanoi's August."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from archive import calendar
from archive.calendar import VN_TIME
from tests.conftest import DEFAULT_NOW, on_dates


def test_every_test_runs_at_the_pinned_instant_and_the_clock_keeps_ticking(clock: datetime) -> None:
    assert clock == DEFAULT_NOW
    first = calendar.now()
    assert abs(first - DEFAULT_NOW) < timedelta(minutes=5)  # the pin, not the machine's day
    time.sleep(0.01)
    assert calendar.now() > first  # leases and timeouts still see time pass


def test_a_pin_is_undone_and_refuses_a_naive_datetime() -> None:
    with calendar.pinned(datetime(2030, 1, 2, tzinfo=UTC)):
        assert calendar.today() == date(2030, 1, 2)
    assert calendar.today() == DEFAULT_NOW.date()
    with pytest.raises(ValueError), calendar.pinned(datetime(2030, 1, 2)):
        pass


@pytest.mark.parametrize(
    ("day", "school_year"),
    [
        (date(2026, 7, 31), "2025-2026"),
        (date(2026, 8, 1), "2026-2027"),
        (date(2026, 9, 5), "2026-2027"),
        (date(2026, 12, 31), "2026-2027"),
        (date(2027, 1, 1), "2026-2027"),
        (date(2027, 5, 31), "2026-2027"),
    ],
)
def test_the_school_year_of_a_date_turns_on_the_first_of_august(day: date, school_year: str) -> None:
    assert calendar.school_year_of(day) == school_year


def test_today_is_hanois_date_not_utcs() -> None:
    """00:30 on 1 August in Hanoi is still 31 July in UTC: the new school year has begun."""
    with calendar.pinned(datetime(2027, 8, 1, 0, 30, tzinfo=VN_TIME)):
        assert calendar.now().astimezone(UTC).date() == date(2027, 7, 31)
        assert calendar.today() == date(2027, 8, 1)
        assert calendar.current_school_year() == "2027-2028"
        assert calendar.this_month() == "2027-08"


@on_dates()
def test_the_months_of_a_school_year_fall_in_its_two_calendar_years(clock: datetime) -> None:
    school_year = calendar.current_school_year()
    first, second = calendar.school_year_bounds(school_year)
    assert second == first + 1 and calendar.school_year_of(clock) == school_year
    assert [calendar.year_of_month(school_year, m) for m in (8, 9, 12, 1, 5, 7)] == [first] * 3 + [second] * 3
    assert calendar.school_year_end(school_year) == date(second, 7, 31)


@pytest.mark.parametrize("bad", ["2025-2027", "2025/2026", "٢٠٢٥-٢٠٢٦", "25-26", ""])
def test_a_malformed_school_year_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        calendar.school_year_bounds(bad)
