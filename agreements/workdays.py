"""The office's working-day clock: how much working time lies between two instants, in WITA.

The SOP's limits ("1 hari", "2 hari") are working days. The clock runs only on working days and
stops on weekends, Indonesian public holidays (the `holidays` package's Indonesia calendar) and a
configured list of extra days off (*cuti bersama*, which the government sets by decree each year and
sometimes moves, so the office's own list is the authority). A working day counts whole, from
midnight to midnight in the office's time zone: "1 working day" means 24 hours of running clock, so
a letter registered on Friday at 15:00 with a one-day limit is due on Monday at 15:00. Office hours
are deliberately not modelled; the SOP does not state them and officers count days, not hours.

Every function takes the instants as arguments; nothing here reads the system clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from agreements.errors import Invalid

OFFICE_TIME_ZONE = ZoneInfo("Asia/Makassar")  # WITA, Kabupaten Paser
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class WorkCalendar:
    """Which days the clock runs on.

    `extra_days_off` is the configured *cuti bersama* list. `package_joint_leave` also takes the
    joint-leave days the `holidays` package knows (its "government" category); off by default,
    because the decree can change after the package was released.
    """

    extra_days_off: frozenset[date] = frozenset()
    package_joint_leave: bool = False
    time_zone: ZoneInfo = OFFICE_TIME_ZONE
    _cache: dict[int, frozenset[date]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def with_days_off(
        cls,
        days: Iterable[date],
        *,
        package_joint_leave: bool = False,
        time_zone: ZoneInfo = OFFICE_TIME_ZONE,
    ) -> WorkCalendar:
        return cls(frozenset(days), package_joint_leave, time_zone)

    @property
    def _categories(self) -> tuple[str, ...]:
        return ("public", "government") if self.package_joint_leave else ("public",)

    def _holidays(self, year: int) -> frozenset[date]:
        found = self._cache.get(year)
        if found is None:
            found = frozenset(
                holidays.country_holidays("ID", years=year, categories=self._categories)
            )
            self._cache[year] = found
        return found

    def is_working_day(self, day: date) -> bool:
        return (
            day.weekday() < 5
            and day not in self._holidays(day.year)
            and day not in self.extra_days_off
        )

    def local(self, instant: datetime) -> datetime:
        """`instant` in the office's time zone; naive datetimes are refused (they hide bugs)."""
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise Invalid("time", "must carry a time zone", "time: must carry a time zone")
        return instant.astimezone(self.time_zone)

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), self.time_zone)

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """The part of [start, end) that falls on working days; zero if end is not after start."""
        start, end = self.local(start), self.local(end)
        total = timedelta(0)
        day = start.date()
        while self._midnight(day) < end:
            if self.is_working_day(day):
                lo = max(start, self._midnight(day))
                hi = min(end, self._midnight(day + _DAY))
                if hi > lo:
                    total += hi - lo
            day += _DAY
        return total

    def working_days(self, start: datetime, end: datetime) -> float:
        """`working_time` in working days (24 h of running clock each)."""
        return self.working_time(start, end) / _DAY

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """The instant at which `days` working days have run since `start` (a step's deadline)."""
        if days < 0:
            raise Invalid("days", "must not be negative")
        remaining = timedelta(days=days)
        cursor = self.local(start)
        while True:
            day = cursor.date()
            day_end = self._midnight(day + _DAY)
            if self.is_working_day(day):
                available = day_end - cursor
                if remaining <= available:
                    return cursor + remaining
                remaining -= available
            cursor = day_end
