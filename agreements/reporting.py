"""The partner's reporting duties over time: which semester report a new one answers, and which
are overdue beyond the grace period (the gateway suspends the agreement for those).

Pure: the caller gives the due dates of the signed scope, the dates already answered and the
office's date.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, timedelta


def next_due(dues: Sequence[date], answered: Collection[date]) -> date | None:
    """The earliest due date not yet answered (a report may come early); None when all are."""
    return min((d for d in dues if d not in answered), default=None)


def overdue(
    dues: Sequence[date], answered: Collection[date], today: date, grace_days: int
) -> list[date]:
    """Due dates unanswered more than `grace_days` after they fell due, oldest first."""
    return sorted(d for d in dues if d not in answered and today > d + timedelta(days=grace_days))
