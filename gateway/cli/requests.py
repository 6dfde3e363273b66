"""`pks-gateway request`: the office's SOP, steps 1-7, one command per transition.

Each step is attributed with `--as NAME` (attribution, not authentication), refused when out of
order or done by the wrong role, recorded with its notes and the SHA-256 of attached documents,
and written to the audit log, refusals included.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection

from agreements.errors import Invalid
from agreements.scope_toml import read_scope_toml
from agreements.workflow import Document, Role, Status, Transition
from gateway import limits
from gateway.cli import settings_of
from gateway.cli.common import (
    ACTOR,
    FREE_TEXT,
    ID,
    NAME,
    OFFICE_TIME,
    LimitedText,
    catalog_of,
    metadata_connection,
    now,
    ready_engine,
    region_codes,
    seal_store,
    work_calendar,
)
from gateway.services import agreements as agreement_service
from gateway.services import requests as service
from gateway.services.actions import Actor, find_actor
from gateway.settings import Settings

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
REQUEST_ID = click.argument("request_id", type=ID)


@click.group()
def request() -> None:
    """Cooperation requests through the SOP (docs/agreements.md)."""


def _attach(settings: Settings, path: Path) -> Document:
    """Keep a letter or signed document (read within its limit) in the document store."""
    data = limits.read_limited(path, limits.DOCUMENT)
    return service.attach(path.name, data, settings.documents_dir)


@request.command()
@click.option("--institution", required=True, type=LimitedText(limits.INSTITUTION))
@click.option("--letter-number", required=True, type=LimitedText(limits.LETTER_NUMBER))
@click.option("--letter-date", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--purpose", required=True, type=FREE_TEXT)
@click.option(
    "--legal-basis",
    required=True,
    multiple=True,
    type=FREE_TEXT,
    help="Repeat for each instrument.",
)
@click.option(
    "--elements",
    required=True,
    type=FREE_TEXT,
    help="Requested catalog elements, comma-separated.",
)
@click.option(
    "--access-mode",
    "access_modes",
    required=True,
    multiple=True,
    type=click.Choice(service.ACCESS_MODES),
)
@click.option("--duration", "months", required=True, type=int, help="Months requested.")
@click.option(
    "--data-balikan", "data_balikan", required=True, type=FREE_TEXT, help="The data balikan plan."
)
@click.option("--letter", "letter_file", required=True, type=FILE, help="The letter (PDF/scan).")
@click.option("--received", type=OFFICE_TIME, help="When the letter arrived (office time).")
@ACTOR
@click.pass_context
def submit(
    ctx: click.Context,
    institution: str,
    letter_number: str,
    letter_date: datetime,
    purpose: str,
    legal_basis: tuple[str, ...],
    elements: str,
    access_modes: tuple[str, ...],
    months: int,
    data_balikan: str,
    letter_file: Path,
    received: datetime | None,
    actor: str,
) -> None:
    """Step 1: register the applicant's request letter (Petugas ADB)."""
    settings = settings_of(ctx)
    letter = service.Letter(
        institution=institution,
        letter_number=letter_number,
        letter_date=letter_date.date(),
        purpose=purpose,
        legal_basis=legal_basis,
        requested_elements=tuple(e.strip() for e in elements.split(",") if e.strip()),
        access_modes=access_modes,
        duration_months=months,
        data_balikan_plan=data_balikan,
    )
    arrived = received.replace(tzinfo=settings.zone) if received else None
    with ready_engine(settings) as engine:
        request_id = service.submit(
            engine,
            actor,
            letter,
            _attach(settings, letter_file),
            now=now(),
            received_at=arrived,
            catalog_keys=catalog_of(settings).keys(),
        )
    click.echo(f"request {request_id} submitted")


def _advance(
    ctx: click.Context, request_id: int, transition: Transition, actor: str, **kwargs: Any
) -> None:
    settings = settings_of(ctx)
    with ready_engine(settings) as engine:
        status = service.advance(
            engine, actor, request_id, transition, now=now(), seals=seal_store(settings), **kwargs
        )
    click.echo(f"request {request_id} is {status.value}")


@request.command()
@REQUEST_ID
@click.option("--note", required=True, type=FREE_TEXT, help="The disposition note.")
@ACTOR
@click.pass_context
def dispose(ctx: click.Context, request_id: int, note: str, actor: str) -> None:
    """Step 2: the Kepala Dinas's disposition."""
    _advance(ctx, request_id, Transition.DISPOSE, actor, notes=note, facts={"note": note})


@request.command()
@REQUEST_ID
@click.option(
    "--to", "assignee", required=True, type=NAME, help="The Pejabat Fungsional who reviews it."
)
@ACTOR
@click.pass_context
def assign(ctx: click.Context, request_id: int, assignee: str, actor: str) -> None:
    """Step 3: the Kepala Bidang hands the request to a Pejabat Fungsional."""
    _advance(
        ctx,
        request_id,
        Transition.ASSIGN,
        actor,
        notes=f"assigned to {assignee}",
        facts={"assignee": assignee},
        also=_check_assignee(assignee),
    )


def _check_assignee(name: str) -> Any:
    def check(connection: Connection, actor: Actor) -> dict[str, Any]:
        if find_actor(connection, name).role is not Role.PEJABAT_FUNGSIONAL:
            raise Invalid("assignee", "must be a pejabat_fungsional")
        return {"assignee": name}

    return check


@request.command()
@REQUEST_ID
@click.option("--reason", required=True, type=FREE_TEXT, help="Why (recorded and audited).")
@ACTOR
@click.pass_context
def cancel(ctx: click.Context, request_id: int, reason: str, actor: str) -> None:
    """Not an SOP step: take back a request entered by mistake or withdrawn by the applicant,
    from any open status (Petugas ADB; final, audited)."""
    _advance(ctx, request_id, Transition.CANCEL, actor, notes=reason, facts={"reason": reason})


@request.command()
@REQUEST_ID
@click.option("--reason", required=True, type=FREE_TEXT)
@click.option("--letter", "letter_file", required=True, type=FILE, help="The rejection letter.")
@ACTOR
@click.pass_context
def reject(ctx: click.Context, request_id: int, reason: str, letter_file: Path, actor: str) -> None:
    """Step 4: reject with a reason and the rejection letter (final)."""
    document = _attach(settings_of(ctx), letter_file)
    _advance(
        ctx,
        request_id,
        Transition.REJECT,
        actor,
        notes=reason,
        documents=(document,),
        facts={"reason": reason, "rejection_letter": document},
    )


@request.command()
@REQUEST_ID
@click.option("--scope", "scope_file", required=True, type=FILE, help="The draft scope TOML.")
@ACTOR
@click.pass_context
def draft(ctx: click.Context, request_id: int, scope_file: Path, actor: str) -> None:
    """Step 5: attach a draft scope; it becomes the agreement's draft version."""
    settings = settings_of(ctx)
    data = limits.read_limited(scope_file, limits.SCOPE_FILE)
    text = limits.decoded(data, scope_file, limits.SCOPE_FILE.what)
    document = service.attach(scope_file.name, data, settings.documents_dir)

    def register(connection: Connection, who: Actor) -> dict[str, Any]:
        identity, scope = read_scope_toml(
            text,
            catalog_of(settings),
            region_codes=region_codes(settings),
            request_duration=service.duration_months(connection, request_id),
        )
        return agreement_service.register_version(
            connection, seal_store(settings), who, identity, scope, now(), request_id=request_id
        )

    _advance(
        ctx,
        request_id,
        Transition.DRAFT,
        actor,
        documents=(document,),
        facts={"draft_scope": document},
        also=register,
    )


@request.command(name="return")
@REQUEST_ID
@click.option("--notes", required=True, type=FREE_TEXT, help="What to revise.")
@ACTOR
@click.pass_context
def return_command(ctx: click.Context, request_id: int, notes: str, actor: str) -> None:
    """Step 6: the Kepala Bidang returns the draft for revision."""
    _advance(ctx, request_id, Transition.RETURN, actor, notes=notes, facts={"notes": notes})


@request.command()
@REQUEST_ID
@click.option("--notes", default="", type=FREE_TEXT, help="Optional remarks.")
@ACTOR
@click.pass_context
def forward(ctx: click.Context, request_id: int, notes: str, actor: str) -> None:
    """Step 6: the Kepala Bidang forwards the draft to the Kepala Dinas."""
    _advance(ctx, request_id, Transition.FORWARD, actor, notes=notes, facts={})


@request.command(name="sign")
@REQUEST_ID
@click.option(
    "--acknowledged",
    is_flag=True,
    help="The applicant was told their rights and obligations and acknowledged them.",
)
@click.option(
    "--signed-pks",
    "signed_pks",
    required=True,
    type=FILE,
    help="The PKS document as signed by the applicant.",
)
@ACTOR
@click.pass_context
def sign_command(
    ctx: click.Context, request_id: int, acknowledged: bool, signed_pks: Path, actor: str
) -> None:
    """Step 7: the Kepala Dinas signs; the version this request drafted (already carrying the
    verified digital signature, see `agreement attach-signature`) becomes the active agreement
    (for an addendum, the version it amends is superseded)."""
    settings = settings_of(ctx)
    document = _attach(settings, signed_pks)
    with ready_engine(settings) as engine:
        status, short_id, version = service.sign(
            engine,
            seal_store(settings),
            actor,
            request_id,
            acknowledged=acknowledged,
            signed_pks=document,
            now=now(),
        )
    click.echo(f"request {request_id} is {status.value}")
    click.echo(f"agreement {short_id} version {version} is active")


@request.command()
@REQUEST_ID
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx: click.Context, request_id: int, as_json: bool) -> None:
    """A request's facts, history and time per step in working days (overdue marked)."""
    settings = settings_of(ctx)
    with metadata_connection(settings) as connection:
        view = service.show(connection, request_id, now(), work_calendar(settings))
    if as_json:
        click.echo(json.dumps(asdict(view), indent=2, default=_jsonable, ensure_ascii=False))
        return
    zone = settings.zone
    click.echo(
        f"request {view.id}: {view.institution}, letter {view.letter_number} of {view.letter_date}"
    )
    click.echo(
        f"status {view.status}" + (f", assigned to {view.assignee}" if view.assignee else "")
    )
    for step in view.steps:
        ended = f"{step.ended.astimezone(zone):%Y-%m-%d %H:%M}" if step.ended else "open"
        limit = f" / limit {step.limit_days}" if step.limit_days is not None else ""
        flag = "  OVERDUE" if step.overdue else ""
        click.echo(
            f"  step {step.number} {step.title:<48} {ended:<16} "
            f"{step.working_days:5.2f} working days{limit}{flag}"
        )


def _jsonable(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Document):
        return asdict(value)
    return str(value)


@request.command(name="list")
@click.option(
    "--status", type=click.Choice([s.value for s in Status]), help="Only requests in this status."
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_command(ctx: click.Context, status: str | None, as_json: bool) -> None:
    """List requests."""
    with metadata_connection(settings_of(ctx)) as connection:
        rows = service.list_requests(connection, status)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=_jsonable, ensure_ascii=False))
        return
    for row in rows:
        click.echo(
            f"{row['id']:>5} {row['status']:<10} {row['letter_number']:<32} {row['institution']}"
        )


COMMANDS = (request,)
