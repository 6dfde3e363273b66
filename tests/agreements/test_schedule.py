"""The schedule rule: the first office working day of the period, at the office's hour, WITA."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from agreements.schedule import due_period, first_working_day, period_label
from agreements.workdays import WorkCalendar

WITA = ZoneInfo("Asia/Makassar")
CALENDAR = WorkCalendar(time_zone=WITA)


def test_labels() -> None:
    assert period_label("monthly", date(2026, 12, 2)) == "2026-12"
    assert period_label("quarterly", date(2026, 12, 2)) == "2026-Q4"
    assert period_label("quarterly", date(2027, 1, 1)) == "2027-Q1"
    assert period_label("on_demand", date(2026, 12, 2)) is None


def test_the_first_working_day_skips_new_year_and_the_weekend() -> None:
    # 1 January 2028 is a Saturday: the first working day is Monday 3 January.
    assert first_working_day(date(2028, 1, 1), CALENDAR) == date(2028, 1, 3)
    # 1 January 2027 (Friday) is New Year's Day: Monday 4 January.
    assert first_working_day(date(2027, 1, 1), CALENDAR) == date(2027, 1, 4)
    assert first_working_day(date(2026, 12, 1), CALENDAR) == date(2026, 12, 1)


@pytest.mark.parametrize(
    ("moment", "due"),
    [
        (datetime(2027, 1, 1, 12, tzinfo=WITA), None),  # a holiday
        (datetime(2027, 1, 4, 6, 59, tzinfo=WITA), None),  # before the hour
        (datetime(2027, 1, 4, 7, tzinfo=WITA), "2027-01"),
        (datetime(2027, 1, 20, 3, tzinfo=WITA), "2027-01"),  # missed: still due in the period
    ],
)
def test_a_monthly_schedule_is_due_from_its_first_working_day(
    moment: datetime, due: str | None
) -> None:
    assert due_period("monthly", moment, 7, CALENDAR) == due


def test_a_quarterly_schedule_waits_for_its_quarter() -> None:
    assert due_period("quarterly", datetime(2026, 11, 2, 8, tzinfo=WITA), 7, CALENDAR) == "2026-Q4"
    assert due_period("on_demand", datetime(2026, 11, 2, 8, tzinfo=WITA), 7, CALENDAR) is None
