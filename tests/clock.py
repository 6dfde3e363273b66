"""The office clock of a test (the `clock` fixture of tests/conftest.py): fixed until the test
moves it, so a service, the app and what they store see the same, known time.

Services take the time as `now=` (or, for a delivery, a callable clock): pass `clock()` or `clock`.
The app takes it as `create_app(..., clock=clock)`. The CLI reads the real time
(gateway.context.now); there is deliberately no setting that fakes it, so an operator cannot
back-date the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Tuesday 1 December 2026, 10:00 in Paser (WITA): a working day inside the example agreement's
# validity (config/examples/demo-agreement.toml, 2026).
START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


class OfficeClock:
    """Callable like gateway.context.now; `set` and `advance` move it and return the new time."""

    def __init__(self, start: datetime = START) -> None:
        self.now = self._aware(start)

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> datetime:
        self.now = self._aware(when)
        return self.now

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Forward by `delta` or by timedelta's keywords (`clock.advance(hours=21)`)."""
        return self.set(self.now + (delta or timedelta()) + timedelta(**parts))

    @staticmethod
    def _aware(when: datetime) -> datetime:
        if when.tzinfo is None:
            raise ValueError(f"an office clock keeps aware times only, not {when.isoformat()}")
        return when
