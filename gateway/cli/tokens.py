"""`pks-gateway token`: the partner API's credentials, issued, listed, rotated and revoked by
officers (who may do which: agreements/roles.py; docs/api.md).

A new token is printed once, alone on standard output (so that `TOKEN=$(pks-gateway token create
…)` holds only it); what it is for goes to standard error. Only its prefix is ever shown again.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from gateway.cli import settings_of
from gateway.cli.common import (
    ACTOR,
    AGREEMENT,
    FREE_TEXT,
    LimitedText,
    now,
    ready_engine,
    seal_store,
)
from gateway.services import tokens as service
from gateway.settings import Settings

JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON instead.")
PREFIX = LimitedText(100)
DAYS = click.option(
    "--days",
    type=click.IntRange(1, service.MAX_DAYS),
    default=service.DEFAULT_DAYS,
    show_default=True,
    help=f"Days until the token expires (at most {service.MAX_DAYS}).",
)


@click.group()
def token() -> None:
    """Partner API tokens: create, list, rotate, revoke (docs/api.md)."""


@token.command(name="create")
@click.argument("agreement", type=AGREEMENT)
@click.option(
    "--recipient",
    type=LimitedText(200),
    help="The recipient of the signed scope the token is for: its name, age key or fingerprint "
    "(needed when the scope has more than one).",
)
@DAYS
@ACTOR
@JSON
@click.pass_context
def create(
    ctx: click.Context,
    agreement: str,
    recipient: str | None,
    days: int,
    actor: str,
    as_json: bool,
) -> None:
    """Issue a token for a recipient of AGREEMENT (Petugas ADB). It is shown once: hand it to
    the partner now; the gateway keeps only a keyed hash of it."""
    settings = settings_of(ctx)
    with ready_engine(settings) as engine:
        issued = service.create(
            engine,
            seal_store(settings),
            settings.keys_dir,
            actor,
            agreement,
            recipient=recipient,
            now=now(),
            time_zone=settings.zone,
            days=days,
        )
    _print_issued(issued, settings, as_json)


@token.command(name="rotate")
@click.argument("prefix", type=PREFIX)
@click.option(
    "--overlap",
    "overlap_hours",
    type=click.IntRange(0, service.MAX_OVERLAP_HOURS),
    default=service.DEFAULT_OVERLAP_HOURS,
    show_default=True,
    help="Hours the old token keeps working beside the new one.",
)
@DAYS
@ACTOR
@JSON
@click.pass_context
def rotate(
    ctx: click.Context, prefix: str, overlap_hours: int, days: int, actor: str, as_json: bool
) -> None:
    """Replace the token PREFIX (pks_…) by a new one for the same agreement and recipient
    (Petugas ADB); the old one keeps working for the overlap, then stops."""
    settings = settings_of(ctx)
    with ready_engine(settings) as engine:
        issued = service.rotate(
            engine,
            seal_store(settings),
            settings.keys_dir,
            actor,
            prefix,
            now=now(),
            time_zone=settings.zone,
            overlap_hours=overlap_hours,
            days=days,
        )
    _print_issued(issued, settings, as_json)


@token.command(name="revoke")
@click.argument("prefix", type=PREFIX)
@click.option("--reason", required=True, type=FREE_TEXT, help="Why (recorded in the audit log).")
@ACTOR
@click.pass_context
def revoke(ctx: click.Context, prefix: str, reason: str, actor: str) -> None:
    """Stop the token PREFIX (pks_…) now (Petugas ADB, Kepala Bidang, Kepala Dinas or
    compliance)."""
    settings = settings_of(ctx)
    with ready_engine(settings) as engine:
        service.revoke(engine, seal_store(settings), actor, prefix, now=now(), reason=reason)
    click.echo(f"token {prefix} revoked")


@token.command(name="list")
@click.option("--agreement", type=AGREEMENT, help="Only this agreement's tokens.")
@ACTOR
@JSON
@click.pass_context
def list_command(ctx: click.Context, agreement: str | None, actor: str, as_json: bool) -> None:
    """Tokens, newest first, with their state; prefixes only, never a secret (audited)."""
    settings = settings_of(ctx)
    with ready_engine(settings) as engine:
        rows = service.list_tokens(engine, actor, short_id=agreement, now=now())
    if as_json:
        for row in rows:  # times in the office's zone, as `audit list` shows them
            for key in ("created_at", "expires_at", "revoked_at"):
                if row[key] is not None:
                    row[key] = (
                        datetime.fromisoformat(row[key]).astimezone(settings.zone).isoformat()
                    )
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        until = _shown(row["expires_at"], settings)
        click.echo(
            f"{row['prefix']}  {row['agreement']:<40} {row['recipient']}  "
            f"{row['state']:<11} until {until}"
        )
    click.echo(f"({len(rows)} token{'' if len(rows) == 1 else 's'})", err=True)


def _print_issued(issued: service.Issued, settings: Settings, as_json: bool) -> None:
    if as_json:
        document: dict[str, Any] = {
            "token": issued.token,
            "prefix": issued.prefix,
            "agreement": issued.short_id,
            "recipient": issued.recipient,
            "recipient_fingerprint": issued.fingerprint,
            "expires_at": issued.expires_at.astimezone(settings.zone).isoformat(),
        }
        if issued.replaces and issued.old_expires_at is not None:
            document["replaces"] = issued.replaces
            document["old_expires_at"] = issued.old_expires_at.astimezone(settings.zone).isoformat()
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(issued.token)
    click.echo(
        f"token {issued.prefix} for agreement {issued.short_id}, recipient {issued.recipient} "
        f"({issued.fingerprint}), expires {_shown(issued.expires_at, settings)}",
        err=True,
    )
    if issued.replaces and issued.old_expires_at is not None:
        click.echo(
            f"token {issued.replaces} keeps working until "
            f"{_shown(issued.old_expires_at, settings)}",
            err=True,
        )
    click.echo(
        "shown once: hand it to the partner now; the gateway keeps only a keyed hash", err=True
    )


def _shown(moment: datetime | str, settings: Settings) -> str:
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return when.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M %Z")


COMMANDS = (token,)
