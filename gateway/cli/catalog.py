"""`pks-gateway catalog`: list the data elements and check their mapping against the source."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from agreements.catalog import load_catalog
from exports.reading.source import open_source
from exports.reading.source_mapping import check_source, load_source_mapping
from gateway.cli import settings_of
from gateway.settings import redact_url


@click.group()
def catalog() -> None:
    """The data-element catalog (config/catalog.toml or the `catalog_path` setting)."""


@catalog.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def list_elements(ctx: click.Context, as_json: bool) -> None:
    """List the data elements with their sensitivity and identifier class."""
    elements = list(load_catalog(settings_of(ctx).catalog_file).elements)
    if as_json:
        click.echo(json.dumps([asdict(e) for e in elements], indent=2, default=str))
        return
    for e in elements:
        letter = e.letter or "-"
        deliverable = "" if e.deliverable else "  never delivered"
        click.echo(
            f"{e.key:<24} {letter:<3} {e.type:<7} {e.sensitivity:<9} {e.identifier:<7} "
            f"{e.label_id}{deliverable}"
        )


@catalog.command(name="check")
@click.option("--url", help="Source database URL (default: the `source_url` setting).")
@click.pass_context
def check(ctx: click.Context, url: str | None) -> None:
    """Check every table, column, join and code table the mapping names against the source."""
    settings = settings_of(ctx)
    mapping = load_source_mapping(settings.catalog_file)
    target = url or settings.source_database_url
    engine = open_source(target)
    try:
        mismatches = check_source(engine, mapping)
    finally:
        engine.dispose()
    if mismatches:
        for mismatch in mismatches:
            click.echo(f"mismatch: {mismatch}", err=True)
        raise click.ClickException(
            f"{len(mismatches)} mismatch(es) between {settings.catalog_file} and "
            f"{redact_url(target)}"
        )
    click.echo(f"catalog matches the source {redact_url(target)}")


COMMANDS = (catalog,)
