"""Scheduled deliveries: each active agreement whose scope says `monthly` or `quarterly` gets one
queued delivery per period, from the first office working day at the `schedule_hour` (WITA),
attributed to the `system` actor and counted toward its quota like any delivery
(agreements/schedule.py says when).

A period's delivery is queued once (the job's `schedule_key`, unique, is the agreement and the
period), however many schedulers run. If it is refused — the quota already spent by on-demand
deliveries, the agreement suspended — the refusal is audited and a failed job with that cause is
kept under the same key, so the schedule neither fires twice nor retries all period long.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from agreements.errors import DomainError
from agreements.schedule import due_period
from agreements.workdays import WorkCalendar
from gateway.services.actions import SYSTEM
from gateway.services.agreements import load_version
from gateway.services.deliveries import DeliveryEnvironment
from gateway.services.jobs import SCHEDULED, JobView, queue_delivery
from gateway.store.tables import JOB_FAILED, agreements, jobs

log = logging.getLogger(__name__)


def fire_schedules(
    engine: Engine,
    env: DeliveryEnvironment,
    now: datetime,
    *,
    hour: int,
    calendar: WorkCalendar,
) -> list[JobView]:
    """Queue every scheduled delivery due now and not yet queued; the jobs queued."""
    local_now = now.astimezone(env.time_zone)
    queued = []
    for short_id, schedule in _scheduled_agreements(engine):
        label = due_period(schedule, local_now, hour, calendar)
        if label is None:
            continue
        key = f"{short_id}:{label}"
        with engine.connect() as connection:
            if connection.execute(select(jobs.c.id).where(jobs.c.schedule_key == key)).first():
                continue
        try:
            queued.append(
                queue_delivery(engine, env, SYSTEM, short_id, now, kind=SCHEDULED, schedule_key=key)
            )
        except DomainError as refused:  # audited by queue_delivery; kept so it is not retried
            log.warning("scheduled delivery %s refused: %s", key, refused)
            _keep_refused(engine, short_id, key, str(refused), now)
    return queued


def _scheduled_agreements(engine: Engine) -> list[tuple[str, str]]:
    """(short id, schedule) of the agreements whose current version has a schedule."""
    found = []
    with engine.connect() as connection:
        for (short_id,) in connection.execute(select(agreements.c.short_id)):
            stored = load_version(connection, short_id, None)
            schedule = (stored.scope.get("delivery") or {}).get("schedule", "on_demand")
            if stored.status.value == "active" and schedule != "on_demand":
                found.append((short_id, str(schedule)))
    return found


def _keep_refused(engine: Engine, short_id: str, key: str, cause: str, now: datetime) -> None:
    try:
        with engine.begin() as connection:
            agreement_id = connection.execute(
                select(agreements.c.id).where(agreements.c.short_id == short_id)
            ).scalar_one()
            connection.execute(
                insert(jobs).values(
                    id=secrets.token_hex(16),
                    agreement_id=agreement_id,
                    kind=SCHEDULED,
                    requested_by=SYSTEM.name,
                    actor_role=SYSTEM.role.value,
                    schedule_key=key,
                    status=JOB_FAILED,
                    attempts=0,
                    cause=cause,
                    created_at=now,
                    finished_at=now,
                )
            )
    except IntegrityError:
        pass  # another scheduler kept it first
