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


@pytest.mark.parametrize(
    ("period", "cadence"),
    [("2026-11", "monthly"), ("2026-W47", "weekly"), ("2025-2026-HK1", "semester"), ("2025-2026", "yearly")],
)
def test_each_cadence_has_one_spelling(period: str, cadence: str) -> None:
    assert periods.check(period, cadence) == period


@pytest.mark.parametrize(
    ("period", "cadence"),
    [
        ("2026-13", "monthly"),
        ("2026-1", "monthly"),
        ("٢٠٢٦-١١", "monthly"),  # Arabic-Indic digits: \d alone would take them
        ("2026-W54", "weekly"),
        ("2025-2027-HK1", "semester"),  # a school year is two consecutive years
        ("2025-2026-HK3", "semester"),
        ("2025-2025", "yearly"),
        ("2026-11", "weekly"),
    ],
)
def test_a_malformed_period_is_refused_with_an_example(period: str, cadence: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        periods.check(period, cadence)
    assert periods.EXAMPLES[cadence] in refused.value.vi


def test_an_unknown_cadence_is_refused() -> None:
    with pytest.raises(InvalidInput):
        periods.check("2026-11", "daily")


@pytest.mark.parametrize(
    ("period", "label"),
    [
        ("2026-11", "tháng 11/2026"),
        ("2026-W47", "tuần 47/2026"),
        ("2025-2026-HK1", "học kỳ I năm học 2025-2026"),
        ("2025-2026-HK2", "học kỳ II năm học 2025-2026"),
        ("2025-2026", "năm học 2025-2026"),
    ],
)
def test_a_period_is_named_as_a_vietnamese_document_names_it(period: str, label: str) -> None:
    assert periods.label(period) == label


def test_where_a_period_starts_and_its_month() -> None:
    assert periods.starts("2026-11").isoformat() == "2026-11-01"
    assert periods.starts("2026-W01").isoformat() == "2025-12-29"  # ISO week 1 of 2026 starts on a Monday in 2025
    assert periods.starts("2025-2026-HK2").isoformat() == "2026-01-01"
    assert periods.month_of("2026-11") == 11 and periods.month_of("2026-W47") is None
    assert periods.school_year_of("2025-2026-HK1") == "2025-2026"
