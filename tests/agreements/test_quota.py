"""The quota rule over the typed scope: calendar periods of the office's date, what is left, and
the refusal that names the rule and the counts."""

from __future__ import annotations

from datetime import date

import pytest

from agreements.errors import Conflict
from agreements.quota import ensure_within_quota, period_start, quota_use
from agreements.scope import Delivery


@pytest.mark.parametrize(
    ("period", "today", "start"),
    [
        ("month", date(2026, 12, 31), date(2026, 12, 1)),
        ("quarter", date(2026, 12, 31), date(2026, 10, 1)),
        ("quarter", date(2026, 4, 1), date(2026, 4, 1)),
        ("quarter", date(2026, 3, 31), date(2026, 1, 1)),
        ("year", date(2026, 7, 15), date(2026, 1, 1)),
    ],
)
def test_a_period_starts_on_its_calendar_day(period: str, today: date, start: date) -> None:
    assert period_start(today, period) == start


def test_what_is_left_and_the_refusal() -> None:
    terms = Delivery(
        format="parquet", schedule="monthly", quota=2, quota_period="month", max_rows=10
    )
    use = quota_use(terms, date(2026, 12, 2), used=1)
    assert (use.quota, use.used, use.left, use.since) == (2, 1, 1, date(2026, 12, 1))
    ensure_within_quota("a", use)
    spent = quota_use(terms, date(2026, 12, 2), used=2)
    with pytest.raises(Conflict, match=r"allows 2 deliveries per month; 2 already made since"):
        ensure_within_quota("a", spent)
    nothing = quota_use(None, date(2026, 12, 2), used=0)
    assert nothing.left == 0  # no delivery terms grant no delivery
    with pytest.raises(Conflict, match="allows 0 deliveries"):
        ensure_within_quota("a", nothing)
