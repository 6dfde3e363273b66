"""A delivery's times are read when each step happens, not once at its start.

A delivery of a whole regency runs for minutes while other actions append to the audit log; an
entry stamped with the run's start would sit after later-stamped entries, and `finished_at` would
say the delivery ended when it began.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine

from gateway.context import delivery_environment as environment
from gateway.services import deliveries as service
from gateway.settings import load_settings
from tests.gateway.delivery_homes import Home, copy_home
from tests.harness import SHORT

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Paser (WITA)


def test_each_step_of_a_delivery_carries_the_time_it_happened(
    delivery_template: Path, tmp_path: Path
) -> None:
    home: Home = copy_home(delivery_template, tmp_path)
    home.agree()
    ticks: list[datetime] = []

    def clock() -> datetime:
        ticks.append(START + timedelta(minutes=len(ticks)))
        return ticks[-1]

    env = environment(load_settings({"home": home.home}, environ={}))
    engine = create_engine(f"sqlite:///{home.home / 'gateway.db'}")
    try:
        published = service.extract_delivery(engine, env, SHORT, "adb", clock)
    finally:
        engine.dispose()

    assert len(ticks) >= 3, ticks  # at least the start, the extract entry and the finish
    [row] = home.deliveries()
    assert row["id"] == published.delivery_id
    assert datetime.fromisoformat(row["started_at"]) == START
    assert datetime.fromisoformat(row["finished_at"]) == ticks[-1] > START
    times = {
        entry["action"]: datetime.fromisoformat(entry["time"])
        for entry in home.audit()
        if entry["object_id"] == published.delivery_id
    }
    assert times["delivery.start"] == START
    assert START < times["delivery.extract"] < ticks[-1]
    # The delivery date (in its id and the plan) is the start's, in the office's time zone.
    assert f"-{START.astimezone(env.time_zone):%Y%m%d}-" in published.delivery_id
