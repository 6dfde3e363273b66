"""Deliveries through the job queue: asked for now, run by a worker, polled until done.

A partner (on demand, within the quota), the gateway itself (an agreement's schedule) or an
officer (`delivery extract --queue`) asks; `queue_delivery` checks, under the agreement's lock,
that the agreement may run and that the period's quota has room for one more (deliveries made plus
jobs still queued), records a `queued` job and audits the request. The caller then hands the job
id to the queue (gateway/worker.py); nothing runs inside the request.

A worker `run_job`s it: claims it (queued -> running, so a message delivered twice runs once),
holds a lock file while it works, and runs step 8 as the actor who asked — the delivery's own
checks (seals, status, quota under lock) decide again. A refusal fails the job with its rule; any
other error is retried once, then fails the job with its cause. A worker killed mid-job leaves a
`running` job whose lock nobody holds: `recover_jobs`, run when a worker starts and every few
minutes, queues it again once, then fails it (the delivery's own recovery removes what the dead
run staged, so nothing partial is ever visible).
"""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from agreements.errors import Conflict, DomainError, NotFound
from agreements.quota import ensure_within_quota, quota_use
from agreements.roles import Action, Machine, require
from gateway.errors import is_safe
from gateway.seals import SealStore
from gateway.services.actions import Actor, Outcome, perform
from gateway.services.agreements import executable_version, lock_agreement
from gateway.services.deliveries import DeliveryEnvironment, extract_delivery
from gateway.services.delivery_recovery import held, locked_elsewhere
from gateway.services.delivery_views import quota_used
from gateway.store.tables import (
    DONE,
    JOB_FAILED,
    JOB_RUNNING,
    QUEUED,
    agreements,
    jobs,
)

ON_DEMAND, SCHEDULED, OFFICER = "on_demand", "scheduled", "officer"
QUEUED_AGAIN = QUEUED  # what run_job returns for a job to be retried
MAX_ATTEMPTS = 2  # the first run and one retry
PROGRESS_EVERY = 2.0  # seconds between progress writes: a poll sees rows move, the database rests


@dataclass(frozen=True)
class JobView:
    id: str
    agreement: str
    kind: str
    requested_by: str
    status: str
    attempts: int
    rows: int | None  # rows written so far, while running; the delivery's rows when done
    delivery_id: str | None
    cause: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def queue_delivery(
    engine: Engine,
    env: DeliveryEnvironment,
    by: str | Actor,
    short_id: str,
    now: datetime,
    *,
    kind: str,
    schedule_key: str | None = None,
) -> JobView:
    """Record a queued delivery job (audited as `delivery.queue`); Conflict when the agreement
    may not run now or its quota is spent, a refusal audited too."""
    job_id = secrets.token_hex(16)
    today = now.astimezone(env.time_zone).date()

    def work(connection: Connection, actor: Actor) -> Outcome:
        require(Action.DELIVERY_QUEUE, actor.role, delivery_roles=env.delivery_roles)
        lock_agreement(connection, short_id)
        stored, _ = executable_version(connection, SealStore(env.keys_dir), short_id, today)
        if schedule_key is not None:
            taken = select(jobs.c.id).where(jobs.c.schedule_key == schedule_key)
            if connection.execute(taken).first() is not None:
                raise Conflict(f"the scheduled delivery {schedule_key} was already queued")
        terms = stored.parsed_scope(env.catalog, env.region_codes).delivery
        # Jobs still queued will count once they run: room is left for them now.
        made = quota_used(connection, stored.agreement_id, terms, today, env.time_zone).used
        waiting = _queued_count(connection, stored.agreement_id)
        ensure_within_quota(short_id, quota_use(terms, today, made + waiting))
        connection.execute(
            insert(jobs).values(
                id=job_id,
                agreement_id=stored.agreement_id,
                kind=kind,
                requested_by=actor.name,
                actor_role=actor.role.value,
                schedule_key=schedule_key,
                status=QUEUED,
                attempts=0,
                created_at=now,
            )
        )
        details = {"agreement": short_id, "version": stored.version, "kind": kind}
        return Outcome(job_id, details)

    perform(
        engine,
        by,
        action=Action.DELIVERY_QUEUE.value,
        object_type="job",
        object_id=job_id,
        now=now,
        work=work,
    )
    with engine.connect() as connection:
        return show_job(connection, job_id)


def run_job(
    engine: Engine,
    env: DeliveryEnvironment,
    job_id: str,
    clock: Callable[[], datetime],
    *,
    locks_dir: Path,
) -> str:
    """Run one queued job (see the module docstring); its status afterwards: `done`, `failed`,
    `queued` (to be retried), or the status another worker left it in."""
    claimed = _claim(engine, job_id, clock())
    if claimed is None:
        with engine.connect() as connection:
            found = connection.execute(select(jobs.c.status).where(jobs.c.id == job_id))
            return str(found.scalar_one_or_none() or "missing")
    with held(locks_dir / f"{job_id}.lock"):
        by = _actor(claimed)
        try:
            published = extract_delivery(
                engine,
                env,
                claimed["short_id"],
                by,
                clock,
                progress=_progress_writer(engine, job_id),
            )
        except DomainError as refused:  # a rule said no: running it again changes nothing
            return _finish(engine, job_id, JOB_FAILED, clock(), cause=str(refused))
        except Exception as error:
            if claimed["attempts"] < MAX_ATTEMPTS:
                return _finish(engine, job_id, QUEUED, clock(), cause=_cause(error))
            return _finish(engine, job_id, JOB_FAILED, clock(), cause=_cause(error))
        return _finish(
            engine,
            job_id,
            DONE,
            clock(),
            delivery_id=published.delivery_id,
            rows=published.output.rows,
        )


def recover_jobs(engine: Engine, locks_dir: Path, now: datetime) -> list[str]:
    """Jobs to hand to the queue again: every `queued` one (a message may have been lost; a
    claim runs each once), and this machine's `running` ones whose worker died (no lock held),
    queued again while they have an attempt left, failed otherwise."""
    host = socket.gethostname()
    with engine.connect() as connection:
        rows = connection.execute(
            select(jobs.c.id, jobs.c.status, jobs.c.attempts, jobs.c.worker_host).where(
                jobs.c.status.in_((QUEUED, JOB_RUNNING))
            )
        ).all()
    again = []
    for row in rows:
        if row.status == JOB_RUNNING:
            if row.worker_host != host or locked_elsewhere(locks_dir / f"{row.id}.lock"):
                continue  # alive, or another machine's to judge
            if row.attempts >= MAX_ATTEMPTS:
                cause = "the worker stopped while running it, on every attempt"
                _finish(engine, row.id, JOB_FAILED, now, cause=cause, only_if=JOB_RUNNING)
                continue
            _finish(engine, row.id, QUEUED, now, cause="its worker stopped", only_if=JOB_RUNNING)
        again.append(row.id)
    return again


def show_job(connection: Connection, job_id: str, *, agreement_id: int | None = None) -> JobView:
    """The job; with `agreement_id`, only if it is that agreement's — one query filtered by it,
    so that another agreement's job is never read and is refused as a job that never existed is
    (the partner API's rule: the same answer, and the same work, docs/api.md)."""
    query = _LISTED.where(jobs.c.id == job_id)
    if agreement_id is not None:
        query = query.where(jobs.c.agreement_id == agreement_id)
    row = connection.execute(query).mappings().first()
    if row is None:
        raise NotFound("job", job_id)
    return _view(row)


def list_jobs(connection: Connection, agreement: str | None = None) -> list[JobView]:
    query = _LISTED.order_by(jobs.c.created_at.desc(), jobs.c.id)
    if agreement is not None:
        query = query.where(agreements.c.short_id == agreement)
    return [_view(row) for row in connection.execute(query).mappings()]


_LISTED = select(jobs, agreements.c.short_id).join(
    agreements, agreements.c.id == jobs.c.agreement_id
)


def _queued_count(connection: Connection, agreement_id: int) -> int:
    waiting = (
        select(func.count())
        .select_from(jobs)
        .where(jobs.c.agreement_id == agreement_id, jobs.c.status == QUEUED)
    )
    return int(connection.execute(waiting).scalar_one())


def _claim(engine: Engine, job_id: str, now: datetime) -> dict[str, Any] | None:
    with engine.begin() as connection:
        claimed = connection.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == QUEUED)
            .values(
                status=JOB_RUNNING,
                attempts=jobs.c.attempts + 1,
                started_at=now,
                worker_host=socket.gethostname(),
                rows=None,
            )
        )
        if claimed.rowcount != 1:
            return None
        row = connection.execute(_LISTED.where(jobs.c.id == job_id)).mappings().one()
        return dict(row)


def _actor(row: dict[str, Any]) -> str | Actor:
    role = row["actor_role"]
    if role in {m.value for m in Machine}:
        return Actor(row["requested_by"], Machine(role))
    return str(row["requested_by"])  # staff: looked up again, so a deactivation still counts


def _progress_writer(engine: Engine, job_id: str) -> Callable[[int], None]:
    last = 0.0

    def write(rows: int) -> None:
        nonlocal last
        moment = time.monotonic()
        if moment - last < PROGRESS_EVERY:
            return
        last = moment
        with engine.begin() as connection:
            connection.execute(update(jobs).where(jobs.c.id == job_id).values(rows=rows))

    return write


def _finish(
    engine: Engine,
    job_id: str,
    status: str,
    now: datetime,
    *,
    cause: str | None = None,
    delivery_id: str | None = None,
    rows: int | None = None,
    only_if: str = JOB_RUNNING,
) -> str:
    values: dict[str, Any] = {"status": status, "cause": cause}
    if status in (DONE, JOB_FAILED):
        values["finished_at"] = now
    if delivery_id is not None:
        values.update(delivery_id=delivery_id, rows=rows)
    with engine.begin() as connection:
        connection.execute(
            update(jobs).where(jobs.c.id == job_id, jobs.c.status == only_if).values(**values)
        )
    return status


def _cause(error: BaseException) -> str:
    # As a delivery's failure: our texts name rules, never values; of anything else the class.
    return str(error) if is_safe(error) else type(error).__name__


def _view(row: Any) -> JobView:
    return JobView(
        id=row["id"],
        agreement=row["short_id"],
        kind=row["kind"],
        requested_by=row["requested_by"],
        status=row["status"],
        attempts=row["attempts"],
        rows=row["rows"],
        delivery_id=row["delivery_id"],
        cause=row["cause"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )
