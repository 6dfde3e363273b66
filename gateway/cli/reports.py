"""`pks-gateway report`: the partner's semester reports and data balikan, as the office receives
them (a partner uploads them through the API; a Petugas ADB enters one that came on paper or by
mail). docs/agreements.md, "Reporting"."""

from __future__ import annotations

from pathlib import Path

import click

from gateway import limits
from gateway.cli import settings_of
from gateway.cli.common import (
    ACTOR,
    AGREEMENT,
    echo_json,
    echo_table,
    metadata_connection,
    now,
    ready_engine,
    seal_store,
)
from gateway.readmodel import office_time
from gateway.services import reports as service

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group()
def report() -> None:
    """Partners' semester reports and data balikan (received, listed)."""


@report.command()
@click.argument("agreement", type=AGREEMENT)
@click.option("--semester", "semester", type=FILE, help="The semester report (PDF).")
@click.option(
    "--data-balikan", "data_balikan", type=FILE, help="The data balikan: a CSV of the NIKs used."
)
@ACTOR
@click.option("--json", "as_json", is_flag=True, help="Print the receipt as JSON.")
@click.pass_context
def submit(
    ctx: click.Context,
    agreement: str,
    semester: Path | None,
    data_balikan: Path | None,
    actor: str,
    as_json: bool,
) -> None:
    """Enter a report the partner sent (Petugas ADB): exactly one of --semester, --data-balikan."""
    if (semester is None) == (data_balikan is None):
        raise click.UsageError("give exactly one of --semester FILE or --data-balikan FILE")
    settings = settings_of(ctx)
    with ready_engine(settings) as engine:
        if semester is not None:
            receipt = service.receive_semester_report(
                engine,
                seal_store(settings),
                actor,
                agreement,
                limits.read_limited(semester, limits.DOCUMENT),
                documents_dir=settings.documents_dir,
                now=now(),
                grace_days=settings.report_grace_days,
                zone=settings.zone,
            )
        else:
            assert data_balikan is not None
            lines = limits.read_limited_text(data_balikan, limits.DATA_BALIKAN).splitlines()
            receipt = service.receive_data_balikan(
                engine, actor, agreement, lines, keys_dir=settings.keys_dir, now=now()
            )
    if as_json:
        echo_json(receipt, settings.zone)
    elif receipt.kind == "semester":
        click.echo(f"report {receipt.id}: semester report due {receipt.due} received")
    else:
        click.echo(
            f"report {receipt.id}: data balikan of {receipt.rows:,} NIKs received "
            f"({receipt.invalid_rows:,} not valid NIKs); the file itself is not kept"
        )


@report.command(name="list")
@click.option("--agreement", type=AGREEMENT, help="Only this agreement's reports.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead.")
@click.pass_context
def list_command(ctx: click.Context, agreement: str | None, as_json: bool) -> None:
    """Reports received, newest first."""
    settings = settings_of(ctx)
    with metadata_connection(settings) as connection:
        rows = service.list_reports(connection, agreement)
    if as_json:
        echo_json(rows, settings.zone)
        return
    echo_table(
        ("REPORT", "AGREEMENT", "KIND", "DUE", "RECEIVED", "BY", "ROWS"),
        [
            (
                r.id,
                r.agreement,
                r.kind,
                r.due or "-",
                office_time(r.received_at, settings.zone),
                r.received_by,
                r.rows if r.kind == "data_balikan" else "-",
            )
            for r in rows
        ],
    )


COMMANDS = (report,)
