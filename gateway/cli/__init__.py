"""The `pks-gateway` command: one group, one error wrapper, one module per subject.

Every command loads the layered settings once (`pks-gateway --help` lists the subjects). Known
failures (bad settings, unusable keys, an unreachable source, a bad catalog, a source value of
the wrong type, an input over its limit, a refusal) print one line naming the problem and exit
with the error table's code (gateway/errors.py: 1 verification failed, 2 usage, 3 invalid input,
4 not permitted, 5 not found, 6 conflict, 7 source or database unavailable); nothing prints a
traceback at an officer. SIGTERM and SIGHUP unwind a command as Ctrl+C does, so that
what it leaves behind on an interruption (temporary and partial files) is removed.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from gateway.settings import Settings

UNWINDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the command is, so that it unwinds as on Ctrl+C."""


class Failed(click.ClickException):
    """One line on stderr and the error table's exit code (gateway/errors.py, docs/cli.md)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        # click declares exit_code on the class; an instance of ours carries its own.
        self.exit_code = exit_code  # type: ignore[misc]


class GatewayGroup(click.Group):
    """The command group: commands load on first use, and one error wrapper."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(f"gateway.cli.{COMMANDS[cmd_name][0]}")
        found: dict[str | None, click.Command] = {c.name: c for c in module.COMMANDS}
        return found[cmd_name]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with signals_unwind():
                return super().invoke(ctx)
        except click.ClickException:
            raise
        except BrokenPipeError:
            # The reader stopped reading (`… | head`): not an error of ours. Quiet, and the exit
            # status a command killed by SIGPIPE has, as `yes | head` reports it.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise SystemExit(128 + signal.SIGPIPE) from None
        except Exception as exc:
            from gateway import errors  # the error table pulls in what the errors live beside

            kind = errors.kind_of(exc)
            if kind is None:
                raise  # a bug, not a user's error: its traceback is what a developer needs
            raise Failed(errors.shown(exc), kind.exit_code) from None


@contextmanager
def signals_unwind() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into `Terminated` while a command runs (the previous handlers are
    restored after it). A signal the caller set to be ignored (`nohup`) stays ignored, and so
    does one with a handler of its own."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in UNWINDING_SIGNALS}
    for number, handler in previous.items():
        if handler == signal.SIG_DFL:
            signal.signal(number, _terminate)
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler == signal.SIG_DFL:
                signal.signal(number, handler)


def _terminate(number: int, _frame: FrameType | None) -> None:
    raise Terminated(signal.Signals(number).name)


@click.group(cls=GatewayGroup)
@click.version_option(package_name="pks-gateway")
@click.pass_context
def main(ctx: click.Context) -> None:
    """PKS Gateway: population data delivered under signed cooperation agreements (PKS).

    Settings come from PKS_GATEWAY_CONFIG (a TOML file) and PKS_GATEWAY_* variables; see
    docs/configuration.md.
    """
    from gateway.log_config import configure_logging
    from gateway.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_level)
    ctx.obj = settings


def settings_of(ctx: click.Context) -> Settings:
    from gateway.settings import Settings

    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


# Each command, the module that holds it and its one-line help: `pks-gateway --help` prints this
# list without importing a single command module (pandas, pyarrow, ADBC, SQLAlchemy and Alembic
# stay unloaded until a command needs them). tests/gateway/test_startup.py holds the help lines
# to the commands' own docstrings.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": (
        "admin",
        "Create the data directory, migrate the metadata database, create missing keys.",
    ),
    "settings": ("admin", "Print the effective settings (passwords in URLs hidden)."),
    "keys": ("admin", "The gateway's own keys."),
    "serve": (
        "admin",
        "Serve the gateway over HTTP with waitress (put a TLS reverse proxy in front).",
    ),
    "demo-source": (
        "demo",
        "Build a demo Dukcapil database of synthetic people of Kabupaten Paser.",
    ),
    "demo-agreement": (
        "demo_agreement",
        "Staff, keys and the signed demo agreement, ready for `delivery extract` (idempotent).",
    ),
    "catalog": (
        "catalog",
        "The data-element catalog (config/catalog.toml or the `catalog_path` setting).",
    ),
    "staff": ("staff", "The staff registry (attribution for every SOP step)."),
    "signer": ("staff", "Kepala Dinas keys allowed to sign agreements (OpenSSH allowed_signers)."),
    "request": ("requests", "Cooperation requests through the SOP (docs/agreements.md)."),
    "agreement": (
        "agreements",
        "Agreements (PKS): scopes, signatures, versions, status (docs/agreements.md).",
    ),
    "delivery": (
        "deliveries",
        "Deliveries (SOP step 8): preview, extract, list, show, verify, decrypt.",
    ),
    "subject": (
        "deliveries",
        "A person's rights under UU PDP: which deliveries held their record.",
    ),
    "audit": ("audit", "The tamper-evident audit log (docs/audit.md)."),
    "worker": (
        "jobs",
        "Run queued and scheduled deliveries and retention until stopped (Ctrl+C, SIGTERM).",
    ),
    "job": ("jobs", "Delivery jobs on the queue: on demand, scheduled, or queued by an officer."),
    "report": ("reports", "Partners' semester reports and data balikan (received, listed)."),
    "token": ("tokens", "Partner API tokens: create, list, rotate, revoke (docs/api.md)."),
    "letter": (
        "letters",
        "The office's letters as PDF: disposition, rejection, PKS draft, cover, handover, reply.",
    ),
}
