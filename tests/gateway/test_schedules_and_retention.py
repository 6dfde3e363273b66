"""Scheduled deliveries fire once per period from the first working day at the office's hour,
as the `system` actor and within the quota; retention deletes a delivery's encrypted file after
its period and keeps what proves it (manifest, signature, subject index, audit)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agreements.workdays import WorkCalendar
from gateway.context import delivery_environment, delivery_places
from gateway.services import jobs
from gateway.services.retention import expire_deliveries
from gateway.services.schedules import fire_schedules
from gateway.settings import Settings, load_settings
from tests.office import Office

WITA = ZoneInfo("Asia/Makassar")
CALENDAR = WorkCalendar(time_zone=WITA)


@pytest.fixture
def settings(office: Office) -> Settings:
    return load_settings({}, environ=office.gateway.env)


def first_working_day_at(hour: int) -> datetime:
    """This month's first working day at `hour`, office time (the demo agreement is monthly)."""
    day = datetime.now(WITA).replace(day=1, hour=hour, minute=0, second=0, microsecond=0)
    while not CALENDAR.is_working_day(day.date()):
        day += timedelta(days=1)
    return day


def test_a_monthly_schedule_queues_one_system_delivery_per_period(
    office: Office, settings: Settings
) -> None:
    office.agree()
    env = delivery_environment(settings)
    early = first_working_day_at(6)
    assert fire_schedules(office.engine, env, early, hour=7, calendar=CALENDAR) == []
    due = first_working_day_at(7)
    [job] = fire_schedules(office.engine, env, due, hour=7, calendar=CALENDAR)
    assert (job.kind, job.requested_by, job.status) == ("scheduled", "system", "queued")
    assert (
        fire_schedules(office.engine, env, due + timedelta(hours=1), hour=7, calendar=CALENDAR)
        == []
    )
    status = jobs.run_job(office.engine, env, job.id, lambda: datetime.now(UTC),
                          locks_dir=settings.work_dir / "jobs")  # fmt: skip
    assert status == "done" and len(office.published()) == 1
    [started] = [e for e in office.audit() if e["action"] == "delivery.start"]
    assert (started["actor_id"], started["actor_role"]) == ("system", "system")


def test_a_refused_schedule_is_kept_failed_and_not_retried(
    office: Office, settings: Settings
) -> None:
    office.agree()
    assert office.extract().exit_code == 0  # the month's one delivery, made by hand
    env = delivery_environment(settings)
    due = first_working_day_at(8)
    assert fire_schedules(office.engine, env, due, hour=7, calendar=CALENDAR) == []
    assert fire_schedules(office.engine, env, due, hour=7, calendar=CALENDAR) == []
    with office.engine.connect() as connection:
        [kept] = jobs.list_jobs(connection)
    assert kept.status == "failed" and kept.cause and "allows 1 delivery per month" in kept.cause
    refusals = [e for e in office.audit() if e["action"] == "delivery.queue"]
    assert [e["outcome"] for e in refusals] == ["refused"]  # once, not at every check


def test_retention_deletes_the_file_and_keeps_the_proof(office: Office, settings: Settings) -> None:
    office.agree()
    assert office.extract().exit_code == 0
    before = set(office.visible())
    assert any(name.endswith(".age") for name in before)
    soon = datetime.now(UTC) + timedelta(days=29)
    assert (
        expire_deliveries(office.engine, delivery_places(settings), soon, retention_days=30) == []
    )
    later = datetime.now(UTC) + timedelta(days=31)
    [expired] = expire_deliveries(
        office.engine, delivery_places(settings), later, retention_days=30
    )
    after = set(office.visible())
    assert before - after == {n for n in before if n.endswith(".age")}
    assert any(n.endswith(".manifest.json") for n in after) and any(
        n.endswith(".sig") for n in after
    )
    assert (
        expire_deliveries(office.engine, delivery_places(settings), later, retention_days=30) == []
    )
    [entry] = [e for e in office.audit() if e["action"] == "delivery.expire"]
    assert (entry["actor_id"], entry["object_id"], entry["details"]["deleted"]) == (
        "system",
        expired,
        True,
    )
