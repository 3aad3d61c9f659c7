"""Signing periods: a record's own month, semester or year decides its period; only a weekly
cadence, or a record that names no month, falls back to today (the pinned clock)."""

from __future__ import annotations

from datetime import datetime

import pytest

from archive import calendar
from archive.exceptions import InvalidInput
from archive.models import Record
from signing import periods
from tests.conftest import on_dates


def record(school_year: str, month: int | None = None, semester: int | None = None) -> Record:
    return Record(school_year=school_year, month=month, semester=semester)


@on_dates()
def test_a_records_month_gives_its_period_whatever_the_day(clock: datetime) -> None:
    today = calendar.today()
    assert periods.default_for(record("2026-2027", month=11), "monthly", today) == "2026-11"
    assert periods.default_for(record("2026-2027", month=8), "monthly", today) == "2026-08"
    assert periods.default_for(record("2026-2027", month=3), "monthly", today) == "2027-03"
    assert periods.default_for(record("2026-2027", semester=2), "semester", today) == "2026-2027-HK2"
    assert periods.default_for(record("2026-2027"), "yearly", today) == "2026-2027"


@on_dates()
def test_without_a_month_the_period_is_todays(clock: datetime) -> None:
    today = calendar.today()
    assert periods.default_for(record("2026-2027"), "monthly", today) == calendar.this_month()
    week = periods.default_for(record("2026-2027"), "weekly", today)
    assert periods.check(week, "weekly") == week and periods.starts(week) <= today
    with pytest.raises(InvalidInput):
        periods.default_for(record("2026-2027"), "semester", today)


@pytest.mark.parametrize(
    ("period", "school_year"),
    [("2026-07", "2025-2026"), ("2026-08", "2026-2027"), ("2027-05", "2026-2027"), ("2026-W47", "2026-2027")],
)
def test_the_school_year_of_a_period(period: str, school_year: str) -> None:
    assert periods.school_year_of(period) == school_year


def test_periods_of_every_cadence_sort_by_the_time_they_start() -> None:
    found = ["2026-10", "2026-2027-HK1", "2026-W47", "2026-12", "2026-2027-HK2", "2026-11"]
    assert periods.latest_first(found) == [
        "2026-2027-HK2",
        "2026-12",
        "2026-W47",
        "2026-11",
        "2026-10",
        "2026-2027-HK1",
    ]
