"""How many deliveries an agreement still allows: its quota per period, over the typed scope.

Pure: the caller counts the deliveries made since `period_start` (a service, under the agreement's
lock) and asks here what is left and whether one more may start. Periods are calendar periods of
the office's date (WITA): a monthly quota renews on the 1st, a quarterly one on 1 January, April,
July and October, a yearly one on 1 January.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from agreements.errors import Conflict
from agreements.scope import Delivery


def period_start(today: date, period: str) -> date:
    """The first day of the quota period `today` falls in."""
    if period == "year":
        return today.replace(month=1, day=1)
    if period == "quarter":
        return today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    return today.replace(day=1)


@dataclass(frozen=True)
class QuotaUse:
    """Deliveries allowed per period, made since the period began, and left."""

    quota: int
    period: str
    since: date
    used: int
    left: int


def quota_window(delivery: Delivery | None, today: date) -> tuple[int, str, date]:
    """(quota, period, first day of the current period). No delivery terms grant none."""
    if delivery is None:
        return 0, "month", period_start(today, "month")
    return delivery.quota, delivery.quota_period, period_start(today, delivery.quota_period)


def quota_use(delivery: Delivery | None, today: date, used: int) -> QuotaUse:
    quota, period, since = quota_window(delivery, today)
    return QuotaUse(quota=quota, period=period, since=since, used=used, left=max(quota - used, 0))


def ensure_within_quota(agreement: str, use: QuotaUse) -> None:
    """Conflict when the period's quota is spent (the message names the rule and the counts)."""
    if use.left == 0:
        noun = "delivery" if use.quota == 1 else "deliveries"
        raise Conflict(
            f"delivery.quota: agreement {agreement} allows {use.quota} {noun} per {use.period}; "
            f"{use.used} already made since {use.since.isoformat()}"
        )
