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

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click

from gateway import errors
from gateway.log_config import configure_logging
from gateway.settings import Settings, load_settings

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
    settings = load_settings()
    configure_logging(settings.log_level)
    ctx.obj = settings


def settings_of(ctx: click.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


def _register() -> None:
    # Imported here, not at the top, so that each module can import `main`'s helpers above.
    from gateway.cli import (
        admin,
        agreements,
        audit,
        catalog,
        deliveries,
        demo,
        demo_agreement,
        requests,
        staff,
    )

    modules = (admin, demo, demo_agreement, catalog, staff, requests, agreements, deliveries, audit)
    for module in modules:
        for command in module.COMMANDS:
            main.add_command(command)


_register()
