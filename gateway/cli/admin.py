"""Commands that set up and run the gateway: init, settings, keys, serve."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
import stat
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path

import click
from sqlalchemy import Engine

from audit import log as audit_log
from exports.publishing.publish import move_subject_indexes
from gateway import db
from gateway.cli import settings_of
from gateway.cli.common import now
from gateway.context import delivery_places
from gateway.keys import SIGNING_KEYS, KeyFile, ensure_keys, load_signing_key, public_key_line
from gateway.seals import SealStore
from gateway.services.delivery_recovery import close_abandoned
from gateway.services.trust import anchor_first_time, sealed_before
from gateway.settings import Settings
from pks_partner.checkpoint import note_verifier
from pks_partner.manifest import NAMESPACE, SIGNER_PRINCIPAL


@click.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create the data directory, migrate the metadata database, create missing keys.

    Safe to run again: it never overwrites a key and only applies migrations not yet applied.
    The data directory and everything in it are made private to the gateway's user (folders
    0700, files 0600), an existing one included.
    """
    settings = settings_of(ctx)
    tightened = prepare_data_directory(settings)
    moved = move_subject_indexes(delivery_places(settings))
    engine = db.metadata_engine(settings.metadata_url)
    try:
        revision = db.upgrade(engine)
    finally:
        engine.dispose()
    click.echo(f"data directory   {settings.home} (mode 0700)")
    if tightened:
        click.echo(
            f"modes tightened  {len(tightened)} existing path(s) were open to group or others; "
            "now owner-only"
        )
    if moved:
        click.echo(
            f"subject indexes  {len(moved)} moved out of the deliveries directory "
            f"to {settings.subjects_dir}"
        )
    click.echo(
        f"metadata db      {settings.describe()['database_url']} (schema {revision or 'empty'})"
    )
    key_files = ensure_keys(settings.keys_dir)
    private_modes(settings.keys_dir)  # ensure_keys writes its .pub files as the umask says
    record_new_keys(settings, [k for k in key_files if k.created])
    for key in key_files:
        state = "created" if key.created else "kept"
        click.echo(f"{key.name + ' key':<16} {key.path} ({state})")
    if any(key.name == "state" and key.created for key in key_files):
        first_anchor(settings)


def first_anchor(settings: Settings) -> None:
    """Once per data directory: the rows present now (a directory made before seals existed) are
    sealed, audited, and a first checkpoint kept; never again, or a database writer could wait
    for it. A state key that was lost is not replaced by a new sealing: re-anchor."""
    engine = db.metadata_engine(settings.metadata_url)
    try:
        if sealed_before(engine):
            click.echo(
                f"{'seals':<16} NOT sealed: this data directory was sealed before and its state "
                "key was lost; restore keys/ from the backup, or re-anchor after checking "
                "(`pks-gateway audit re-anchor`)",
                err=True,
            )
            return
        rows = anchor_first_time(
            engine, SealStore(settings.keys_dir), settings.keys_dir, settings.audit_origin, now()
        )
    finally:
        engine.dispose()
    click.echo(f"{'seals':<16} {rows} signer and agreement rows sealed (first sealing)")
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


def prepare_data_directory(settings: Settings) -> list[Path]:
    """Make the data directory and its folders (mode 0700), failing early and clearly if it is
    not writable, and take group and other access off whatever was already there; the paths
    whose mode that changed."""
    try:
        settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        tightened = private_modes(settings.home)
        folders = (
            settings.deliveries_dir,
            settings.subjects_dir,
            settings.documents_dir,
            settings.work_dir,
        )
        for folder in folders:
            folder.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise PermissionError(
            f"cannot create data directory {settings.home}: {exc.strerror}"
        ) from None
    if not os.access(settings.home, os.W_OK | os.X_OK):
        raise PermissionError(f"data directory {settings.home} is not writable")
    return tightened


def private_modes(root: Path) -> list[Path]:
    """Take group and other permissions off `root` and everything under it (symbolic links are
    neither changed nor followed); the paths changed."""
    changed = []
    for folder, _folders, files in os.walk(root):
        for path in (Path(folder), *(Path(folder) / name for name in files)):
            try:
                mode = path.lstat().st_mode
                if stat.S_ISLNK(mode) or not mode & 0o077:
                    continue
                path.chmod(stat.S_IMODE(mode) & ~0o077)
            except FileNotFoundError:  # removed meanwhile (a SQLite -shm file, say)
                continue
            changed.append(path)
    return changed


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
@click.option(
    "--allowed-signers",
    "allowed_signers",
    is_flag=True,
    help="manifest: the line a partner puts in an allowed_signers file for ssh-keygen -Y verify.",
)
@click.option(
    "--verifier-key",
    "verifier_key",
    is_flag=True,
    help="audit: the C2SP note verifier key auditors and partners check checkpoints with.",
)
@click.pass_context
def keys_public(ctx: click.Context, name: str, allowed_signers: bool, verifier_key: bool) -> None:
    """Print a public key as an OpenSSH line (for allowed_signers files and partners), or in the
    form an outsider's tool takes it."""
    settings = settings_of(ctx)
    line = public_key_line(settings.keys_dir, name)  # type: ignore[arg-type]
    if allowed_signers:
        if name != "manifest":
            raise click.UsageError("--allowed-signers is for the manifest key")
        key = " ".join(line.split()[:2])
        click.echo(f'{SIGNER_PRINCIPAL} namespaces="{NAMESPACE}" {key}')
    elif verifier_key:
        if name != "audit":
            raise click.UsageError("--verifier-key is for the audit key")
        public = load_signing_key(settings.keys_dir, "audit").public_key()
        click.echo(note_verifier(settings.audit_origin, public).key_string)
    else:
        click.echo(line)


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
@click.option(
    "--worker/--no-worker",
    default=True,
    help="Run the job queue's worker beside the server (default), or not (a separate "
    "`pks-gateway worker` runs it).",
)
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, worker: bool) -> None:
    """Serve the gateway over HTTP with waitress (put a TLS reverse proxy in front).

    Before serving, closes the deliveries a crashed run left behind (docs/deliveries.md), and
    starts the job queue's worker beside the server unless told not to."""
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
    with _embedded_worker(settings) if worker else nullcontext():
        click.echo(f"PKS Gateway listening on http://{host}:{port}/ (Ctrl+C stops)")
        try:
            waitress.serve(app, host=host, port=port, threads=8, _quiet=True)
        except OSError as error:  # the address is in use, not this machine's, or privileged
            reason = error.strerror or type(error).__name__
            raise click.ClickException(f"cannot listen on {host}:{port}: {reason}") from None


@contextmanager
def _embedded_worker(settings: Settings) -> Iterator[None]:
    """The job queue's worker in this process, stopped when the server stops."""
    from gateway.worker import build_queue, consumer, recover_now

    queue = build_queue(settings)
    if settings.log_level != "DEBUG":
        # Beside the server, huey's start-up banner and per-task lines would drown its own.
        logging.getLogger("huey").setLevel(logging.WARNING)
    running = consumer(queue, settings, embedded=True)
    # Not set up yet: /health says so, and nothing can be queued either.
    with suppress(db.MetadataUnavailable):
        recover_now(settings, queue.deliver)
    running.start()
    try:
        yield
    finally:
        running.stop(graceful=True)


def close_crashed_deliveries(engine: Engine, settings: Settings) -> None:
    """The gateway's start is a "next start": a delivery a crashed run left without its manifest
    is closed as abandoned, one whose manifest made it becomes published. A run still holding its
    lock (another process) is left alone. A metadata database not (yet) at the current schema
    holds nothing to close, and /health then reports it, so the server starts all the same."""
    try:
        migrated = db.is_current(engine)
    except db.MetadataUnavailable:
        migrated = False
    if not migrated:
        return
    closed = close_abandoned(engine, delivery_places(settings), now(), work_dir=settings.work_dir)
    for delivery_id in closed:
        click.echo(f"closed delivery {delivery_id} as abandoned (a crashed run left it)", err=True)


COMMANDS = (init, show_settings, keys, serve)
