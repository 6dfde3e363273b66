"""The job queue (huey): one place that knows it, built from the settings by every process that
queues a job (the API, the CLI) or runs them (`pks-gateway worker`, or the worker `serve` runs
beside the embedded server).

Huey carries job ids and runs the periodic work; what a job is, and whether it may run, lives in
the metadata database and gateway/services (jobs, schedules, retention, reporting duties). Huey
removes a message when a worker takes it, so a worker killed mid-job would lose it: the `recover`
task (at start and every five minutes) hands such jobs back, and a claim in the database makes a
job run once however often its id is delivered. See docs/decisions/0005-job-queue.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer

from gateway import context
from gateway.services import jobs as job_service
from gateway.services.reports import enforce_reporting
from gateway.services.retention import expire_deliveries
from gateway.services.schedules import fire_schedules
from gateway.settings import Settings

log = logging.getLogger(__name__)
RETRY_DELAY = 30  # seconds before a failed job's one retry
QUEUE_NAME = "pks-gateway"


@dataclass(frozen=True)
class JobQueue:
    """The huey instance, and `deliver(job_id)` to hand a queued job to a worker."""

    huey: Huey
    deliver: Callable[[str], Any]


def build_queue(settings: Settings) -> JobQueue:
    if settings.jobs_redis_url:
        huey: Huey = RedisHuey(QUEUE_NAME, url=settings.jobs_redis_url, results=False)
    else:
        settings.work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        filename = str(settings.work_dir / "jobs.sqlite3")
        huey = SqliteHuey(QUEUE_NAME, filename=filename, results=False)

    def clock() -> datetime:
        return datetime.now(UTC)

    def run(job_id: str) -> None:
        with context.ready_engine(settings) as engine:
            status = job_service.run_job(
                engine,
                context.delivery_environment(settings),
                job_id,
                clock,
                locks_dir=settings.work_dir / "jobs",
            )
        log.info("job %s: %s", job_id, status)
        if status == job_service.QUEUED_AGAIN:
            deliver.schedule((job_id,), delay=RETRY_DELAY)

    def recover() -> None:
        recover_now(settings, deliver)

    def schedules() -> None:
        with context.ready_engine(settings) as engine:
            fired = fire_schedules(
                engine,
                context.delivery_environment(settings),
                clock(),
                hour=settings.schedule_hour,
                calendar=context.work_calendar(settings),
            )
        for job in fired:
            deliver(job.id)

    def retention() -> None:
        with context.ready_engine(settings) as engine:
            expired = expire_deliveries(
                engine,
                context.delivery_places(settings),
                clock(),
                retention_days=settings.retention_days,
            )
        for delivery_id in expired:
            log.info("delivery %s: its file expired (retention)", delivery_id)

    def reporting() -> None:
        with context.ready_engine(settings) as engine:
            suspended = enforce_reporting(
                engine,
                context.seal_store(settings),
                clock(),
                grace_days=settings.report_grace_days,
                zone=settings.zone,
            )
        for short_id in suspended:
            log.warning("agreement %s suspended: its semester report is overdue", short_id)

    def notify() -> None:
        if not settings.smtp_host:
            return
        from gateway.web.notices import send_new_notices  # the e-mail is written in the UI's words

        with context.ready_engine(settings) as engine:
            sent = send_new_notices(engine, settings, clock())
        if sent:
            log.info("notifications e-mailed to %d member(s)", sent)

    # Huey's decorators, applied as calls: huey has no type hints, and the names keep the tasks
    # the same in every process that builds this queue.
    deliver = huey.task(name="deliver")(run)
    every_five_minutes = crontab(minute="*/5")
    huey.periodic_task(every_five_minutes, name="recover")(recover)
    huey.periodic_task(every_five_minutes, name="schedules")(schedules)
    huey.periodic_task(crontab(minute="17"), name="retention")(retention)
    huey.periodic_task(crontab(minute="23"), name="reporting")(reporting)
    huey.periodic_task(every_five_minutes, name="notify")(notify)
    return JobQueue(huey, deliver)


def recover_now(settings: Settings, deliver: Callable[[str], Any]) -> list[str]:
    """Hand back to the queue every job that should be waiting in it (see the module docstring)."""
    with context.ready_engine(settings) as engine:
        again = job_service.recover_jobs(engine, settings.work_dir / "jobs", datetime.now(UTC))
    for job_id in again:
        deliver(job_id)
    return again


class EmbeddedConsumer(Consumer):  # type: ignore[misc]  # huey has no type hints
    """A consumer that runs beside the embedded server: the server's process owns its signals,
    and stops this consumer itself."""

    def _set_signal_handlers(self) -> None:
        pass


def consumer(queue: JobQueue, settings: Settings, *, embedded: bool = False) -> Consumer:
    kind = EmbeddedConsumer if embedded else Consumer
    return kind(queue.huey, workers=settings.worker_threads, worker_type="thread", periodic=True)
