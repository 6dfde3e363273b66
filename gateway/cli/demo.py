"""`pks-gateway demo-source`: build the synthetic SIAK-shaped Dukcapil database."""

from __future__ import annotations

import sys
import time

import click

from demo_dukcapil.database import build_demo_source
from gateway.cli import settings_of
from gateway.limits import MAX_DEMO_ROWS
from gateway.settings import redact_url

PASER_POPULATION_2024 = 309_667


@click.command(name="demo-source")
@click.option(
    "--rows",
    type=click.IntRange(1, MAX_DEMO_ROWS),
    default=PASER_POPULATION_2024,
    show_default=True,
    help=f"Number of people (at most {MAX_DEMO_ROWS:,}).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same data.")
@click.option("--url", help="Target database URL (default: the `source_url` setting).")
@click.option("--replace", is_flag=True, help="Replace an existing demo database.")
@click.option("--if-missing", is_flag=True, help="Do nothing if the demo database exists.")
@click.pass_context
def demo_source(
    ctx: click.Context, rows: int, seed: int, url: str | None, replace: bool, if_missing: bool
) -> None:
    """Build a demo Dukcapil database of synthetic people of Kabupaten Paser.

    Nobody in it is real. Built into a temporary file and renamed at the end (SQLite), so an
    interrupted run leaves nothing that looks complete.
    """
    settings = settings_of(ctx)
    target = url or settings.source_database_url
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    click.echo(f"building {rows:,} people into {redact_url(target)}", err=True)
    try:
        summary = build_demo_source(
            target,
            rows=rows,
            seed=seed,
            regions_csv=settings.regions_file,
            progress=ProgressLine(),
            replace=replace,
        )
    except FileExistsError:
        if not if_missing:
            raise
        click.echo(f"kept the existing demo database {redact_url(target)}", err=True)
        return
    click.echo(
        f"built {summary.people:,} people in {summary.families:,} families "
        f"in {summary.seconds:.1f} s: {summary.url_redacted}"
    )


class ProgressLine:
    """Rows done and rate on one rewritten line on a terminal; a line per ~10 % in logs."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        text = f"  {done:>11,} / {total:,} people ({done / total:4.0%}), {done / elapsed:,.0f}/s"
        if sys.stderr.isatty():
            click.echo("\r" + text, nl=done >= total, err=True)
            return
        decile = done * 10 // total
        if decile != self.last_decile:
            self.last_decile = decile
            click.echo(text, err=True)


COMMANDS = (demo_source,)
