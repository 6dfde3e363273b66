"""Commands that set up and run the gateway: init, settings, keys, serve."""

from __future__ import annotations

import ipaddress
import json
import os
import socket

import click
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from audit import log as audit_log
from gateway import db
from gateway.cli import settings_of
from gateway.cli.common import now
from gateway.keys import SIGNING_KEYS, KeyFile, ensure_keys, public_key_line
from gateway.services.delivery_recovery import close_abandoned
from gateway.settings import Settings


@click.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the data directory, migrate the metadata database, create missing keys.

    Safe to run again: it never overwrites a key and only applies migrations not yet applied.
    """
    settings = settings_of(ctx)
    prepare_data_directory(settings)
    engine = db.metadata_engine(settings.metadata_url)
    try:
        revision = db.upgrade(engine)
    finally:
        engine.dispose()
    click.echo(f"data directory   {settings.home}")
    click.echo(
        f"metadata db      {settings.describe()['database_url']} (schema {revision or 'empty'})"
    )
    key_files = ensure_keys(settings.keys_dir)
    record_new_keys(settings, [k for k in key_files if k.created])
    for key in key_files:
        state = "created" if key.created else "kept"
        click.echo(f"{key.name + ' key':<16} {key.path} ({state})")
    click.echo(f"deliveries       {settings.deliveries_dir}")
    click.echo(f"source db        {settings.describe()['source_url']}")


def record_new_keys(settings: Settings, created: list[KeyFile]) -> None:
    """One audit entry per key `init` created: key changes are security-relevant."""
    if not created:
        return
    engine = db.metadata_engine(settings.metadata_url)
    try:
        with engine.begin() as connection:
            for key in created:
                details = {"path": str(key.path)}
                if key.name in SIGNING_KEYS:
                    details["public_key"] = public_key_line(settings.keys_dir, key.name)
                audit_log.append(
                    connection,
                    actor_role="system",
                    actor_id="pks-gateway init",
                    action="key.created",
                    object_type="key",
                    object_id=key.name,
                    outcome="ok",
                    details=details,
                )
    finally:
        engine.dispose()


def prepare_data_directory(settings: Settings) -> None:
    """Make the data directory and its folders, failing early and clearly if it is not writable."""
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        settings.deliveries_dir.mkdir(exist_ok=True)
    except OSError as exc:
        raise PermissionError(
            f"cannot create data directory {settings.home}: {exc.strerror}"
        ) from None
    if not os.access(settings.home, os.W_OK | os.X_OK):
        raise PermissionError(f"data directory {settings.home} is not writable")


@click.command(name="settings")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def show_settings(ctx: click.Context, as_json: bool) -> None:
    """Print the effective settings (passwords in URLs hidden)."""
    shown = settings_of(ctx).describe()
    if as_json:
        click.echo(json.dumps(shown, indent=2))
        return
    for key, value in shown.items():
        click.echo(f"{key:<14} {value}")


@click.group()
def keys() -> None:
    """The gateway's own keys."""


@keys.command(name="public")
@click.argument("name", type=click.Choice(SIGNING_KEYS), default="manifest")
@click.pass_context
def keys_public(ctx: click.Context, name: str) -> None:
    """Print a public key as an OpenSSH line (for allowed_signers files and partners)."""
    click.echo(public_key_line(settings_of(ctx).keys_dir, name))  # type: ignore[arg-type]


def _host_problem(host: str) -> str | None:
    """Why the server cannot listen on `host`, or None: it must be an IP address or a hostname
    that resolves. A name ending in a number (`999.1.1.1`, `10.0.0`) is a mistyped address, not
    a hostname (no top-level domain is numeric), so it is refused without a DNS lookup."""
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if not host or host.rsplit(".", 1)[-1].isdigit():
        return f"{host!r} is not a valid IP address"
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return f"{host!r} is neither an IP address nor a hostname that resolves"
    return None


def _listen_host(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and (problem := _host_problem(value)):
        raise click.BadParameter(problem, ctx=ctx, param=param)
    return value


@click.command()
@click.option(
    "--host",
    callback=_listen_host,
    help="IP address or hostname to listen on (default: the `host` setting, 127.0.0.1).",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="Port to listen on, 1-65535 (default: the `port` setting).",
)
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the gateway over HTTP with waitress (put a TLS reverse proxy in front).

    Before serving, closes the deliveries a crashed run left behind (docs/deliveries.md)."""
    import waitress

    from gateway.app import create_app

    settings = settings_of(ctx)
    if host is None:
        host = settings.host
        if problem := _host_problem(host):
            raise click.ClickException(f"setting 'host' {problem}")
    port = settings.port if port is None else port
    app = create_app(settings)
    close_crashed_deliveries(app.extensions["pks_engine"], settings)
    click.echo(f"PKS Gateway listening on http://{host}:{port}/ (Ctrl+C stops)")
    try:
        waitress.serve(app, host=host, port=port, threads=8, _quiet=True)
    except OSError as error:  # the address is in use, not this machine's, or privileged
        reason = error.strerror or type(error).__name__
        raise click.ClickException(f"cannot listen on {host}:{port}: {reason}") from None


def close_crashed_deliveries(engine: Engine, settings: Settings) -> None:
    """The gateway's start is a "next start": a delivery a crashed run left without its manifest
    is closed as abandoned, one whose manifest made it becomes published. A run still holding its
    lock (another process) is left alone. A metadata database not (yet) at the current schema
    holds nothing to close, and /health then reports it, so the server starts all the same."""
    try:
        migrated = db.is_current(engine)
    except OperationalError:
        migrated = False
    if not migrated:
        return
    for delivery_id in close_abandoned(engine, settings.deliveries_dir, now()):
        click.echo(f"closed delivery {delivery_id} as abandoned (a crashed run left it)", err=True)


COMMANDS = (init, show_settings, keys, serve)
