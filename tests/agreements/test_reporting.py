"""Reporting duties: the report a new one answers, and what is overdue beyond the grace period."""

from __future__ import annotations

from datetime import date

from agreements.reporting import next_due, overdue

DUES = (date(2026, 7, 31), date(2027, 1, 31))


def test_a_report_answers_the_earliest_open_due_date() -> None:
    assert next_due(DUES, set()) == date(2026, 7, 31)
    assert next_due(DUES, {date(2026, 7, 31)}) == date(2027, 1, 31)
    assert next_due(DUES, set(DUES)) is None


def test_overdue_counts_from_the_end_of_the_grace_period() -> None:
    assert overdue(DUES, set(), date(2026, 8, 14), 14) == []  # the last day of grace
    assert overdue(DUES, set(), date(2026, 8, 15), 14) == [date(2026, 7, 31)]
    assert overdue(DUES, {date(2026, 7, 31)}, date(2026, 8, 15), 14) == []
    assert overdue(DUES, set(), date(2027, 3, 1), 0) == list(DUES)
