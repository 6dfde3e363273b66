"""When an agreement's schedule fires: on the first office working day of each period, at an
hour the office sets (WITA), once per period.

Pure: the caller (the gateway's periodic job) passes the office's local time and calendar, and
makes a period's delivery happen at most once by the key returned here. A schedule missed on its
day (the gateway was down) fires at the next check within the same period: late is better than
never, and the period's quota still bounds it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from agreements.quota import period_start
from agreements.workdays import WorkCalendar

PERIOD_OF_SCHEDULE = {"monthly": "month", "quarterly": "quarter"}


def period_label(schedule: str, today: date) -> str | None:
    """`2026-12` for a monthly schedule, `2026-Q4` for a quarterly one; None for on demand."""
    period = PERIOD_OF_SCHEDULE.get(schedule)
    if period is None:
        return None
    if period == "quarter":
        return f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    return f"{today:%Y-%m}"


def first_working_day(start: date, calendar: WorkCalendar) -> date:
    day = start
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def due_period(schedule: str, local_now: datetime, hour: int, calendar: WorkCalendar) -> str | None:
    """The period whose scheduled delivery is due at `local_now` (office time), or None: not a
    scheduled agreement, or before the period's first working day at `hour`."""
    label = period_label(schedule, local_now.date())
    if label is None:
        return None
    start = period_start(local_now.date(), PERIOD_OF_SCHEDULE[schedule])
    fires = datetime.combine(first_working_day(start, calendar), datetime.min.time())
    fires = fires.replace(hour=hour, tzinfo=local_now.tzinfo)
    return label if local_now >= fires else None
