"""`pks-gateway worker` and `job`: the job queue's worker, and the jobs officers look at.

The worker runs deliveries asked for through the queue (a partner's on-demand request, an
agreement's schedule, `delivery extract --queue`), fires the schedules and applies retention. One
runs beside `serve` on the embedded default; a production server runs `pks-gateway worker` as its
own service (docs/operations.md).
"""

from __future__ import annotations

import click

from gateway.cli import settings_of
from gateway.cli.common import AGREEMENT, NAME, echo_json, echo_table, metadata_connection
from gateway.readmodel import office_time
from gateway.services import jobs as service


@click.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run queued and scheduled deliveries and retention until stopped (Ctrl+C, SIGTERM)."""
    from gateway.cli.admin import close_crashed_deliveries
    from gateway.context import ready_engine
    from gateway.worker import build_queue, consumer, recover_now

    settings = settings_of(ctx)
    queue = build_queue(settings)
    with ready_engine(settings) as engine:
        close_crashed_deliveries(engine, settings)
    again = recover_now(settings, queue.deliver)
    where = "Redis" if settings.jobs_redis_url else str(settings.work_dir / "jobs.sqlite3")
    click.echo(
        f"worker: {settings.worker_threads} thread(s), queue in {where}; "
        f"{len(again)} job(s) waiting (Ctrl+C stops after the running job)",
        err=True,
    )
    consumer(queue, settings).run()


@click.group()
def job() -> None:
    """Delivery jobs on the queue: on demand, scheduled, or queued by an officer."""


@job.command(name="list")
@click.option("--agreement", type=AGREEMENT, help="Only this agreement's jobs.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead.")
@click.pass_context
def list_command(ctx: click.Context, agreement: str | None, as_json: bool) -> None:
    """Jobs, newest first: kind, who asked, status, rows so far, the delivery when done."""
    settings = settings_of(ctx)
    with metadata_connection(settings) as connection:
        rows = service.list_jobs(connection, agreement)
    if as_json:
        echo_json(rows, settings.zone)
        return
    echo_table(
        ("JOB", "AGREEMENT", "KIND", "STATUS", "ROWS", "ASKED", "BY", "DELIVERY / CAUSE"),
        [
            (
                j.id,
                j.agreement,
                j.kind,
                j.status,
                "-" if j.rows is None else f"{j.rows:,}",
                office_time(j.created_at, settings.zone),
                j.requested_by,
                j.delivery_id or j.cause or "",
            )
            for j in rows
        ],
    )


@job.command()
@click.argument("job_id", type=NAME)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
@click.pass_context
def show(ctx: click.Context, job_id: str, as_json: bool) -> None:
    """One job: status, attempts, rows so far, its delivery or the cause of its failure."""
    settings = settings_of(ctx)
    zone = settings.zone
    with metadata_connection(settings) as connection:
        view = service.show_job(connection, job_id)
    if as_json:
        echo_json(view, zone)
        return
    for label, value in (
        ("job", view.id),
        ("agreement", view.agreement),
        ("kind", view.kind),
        ("asked by", view.requested_by),
        ("status", view.status),
        ("attempts", view.attempts),
        ("rows", "-" if view.rows is None else f"{view.rows:,}"),
        ("asked", office_time(view.created_at, zone)),
        ("started", office_time(view.started_at, zone)),
        ("finished", office_time(view.finished_at, zone)),
        ("delivery", view.delivery_id or "-"),
        ("cause", view.cause or "-"),
    ):
        click.echo(f"{label:<11}{value}")


COMMANDS = (worker, job)
